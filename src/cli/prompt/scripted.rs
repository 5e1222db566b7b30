//! A [`Prompter`] that answers from a queue, for in-process tests of the wizard and `setup`.
//!
//! Every question is recorded (kind, prompt, items, default) so a test can assert what was shown
//! as well as what ended up on disk. A question the script did not foresee is an error, never a
//! hang or a silent default.

use super::Prompter;
use crate::error::{Error, Result};
use std::collections::VecDeque;

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A select or fuzzy select: this index.
    Index(usize),
    /// A select or fuzzy select: the item equal to this text, else the first that starts with it.
    Item(String),
    /// An input or password: this text (empty takes the input's default).
    Text(String),
    /// A confirm: yes or no.
    Yes(bool),
    /// Whatever the default is (select, input or confirm).
    Default,
    /// The user pressed Ctrl-C or Ctrl-D.
    Interrupt,
    /// The user pressed Esc.
    Escape,
}

impl Answer {
    /// [`Answer::Item`] from any string.
    pub fn item(s: impl Into<String>) -> Answer {
        Answer::Item(s.into())
    }

    /// [`Answer::Text`] from any string.
    pub fn text(s: impl Into<String>) -> Answer {
        Answer::Text(s.into())
    }
}

/// A question that was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// `select`, `fuzzy_select`, `password`, `input` or `confirm`.
    pub kind: &'static str,
    pub prompt: String,
    /// The choices of a select (empty otherwise).
    pub items: Vec<String>,
    /// The default shown, as text.
    pub default: Option<String>,
}

/// Answers questions from a queue and records them.
#[derive(Debug, Clone)]
pub struct ScriptedPrompter {
    answers: VecDeque<Answer>,
    /// What [`Prompter::interactive`] reports (true unless a test says otherwise).
    pub terminal: bool,
    /// Every question asked, in order.
    pub asked: Vec<Asked>,
}

impl ScriptedPrompter {
    /// A prompter on a pretend terminal that gives these answers in order.
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> ScriptedPrompter {
        ScriptedPrompter { answers: answers.into_iter().collect(), terminal: true, asked: Vec::new() }
    }

    /// A prompter without a terminal: [`Prompter::interactive`] is false, and any question is an
    /// error (callers must check first).
    pub fn no_terminal() -> ScriptedPrompter {
        ScriptedPrompter { terminal: false, ..ScriptedPrompter::new([]) }
    }

    /// Answers not used yet.
    pub fn remaining(&self) -> usize {
        self.answers.len()
    }

    /// The recorded questions of one kind.
    pub fn asked_of(&self, kind: &str) -> Vec<&Asked> {
        self.asked.iter().filter(|a| a.kind == kind).collect()
    }

    fn next(&mut self, asked: Asked) -> Result<Answer> {
        if !self.terminal {
            return Err(Error::Failed(format!("scripted prompter: asked \"{}\" without a terminal", asked.prompt)));
        }
        let prompt = asked.prompt.clone();
        self.asked.push(asked);
        match self.answers.pop_front() {
            Some(Answer::Interrupt) => Err(Error::Interrupted),
            Some(Answer::Escape) => Err(Error::Cancelled),
            Some(a) => Ok(a),
            None => Err(Error::Failed(format!("scripted prompter: no answer left for \"{prompt}\""))),
        }
    }

    fn pick(&mut self, kind: &'static str, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        let asked =
            Asked { kind, prompt: prompt.to_string(), items: items.to_vec(), default: items.get(default).cloned() };
        let i = match self.next(asked)? {
            Answer::Index(i) => i,
            Answer::Default => default,
            Answer::Item(text) => items
                .iter()
                .position(|it| *it == text)
                .or_else(|| items.iter().position(|it| it.starts_with(&text)))
                .ok_or_else(|| Error::Failed(format!("scripted prompter: no item \"{text}\" in \"{prompt}\"")))?,
            other => return Err(mismatch(prompt, kind, &other)),
        };
        if i >= items.len() {
            return Err(Error::Failed(format!("scripted prompter: index {i} out of range in \"{prompt}\"")));
        }
        Ok(i)
    }
}

fn mismatch(prompt: &str, kind: &str, answer: &Answer) -> Error {
    Error::Failed(format!("scripted prompter: {answer:?} does not answer the {kind} \"{prompt}\""))
}

impl Prompter for ScriptedPrompter {
    fn interactive(&self) -> bool {
        self.terminal
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        self.pick("select", prompt, items, default)
    }

    fn fuzzy_select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        self.pick("fuzzy_select", prompt, items, default)
    }

    fn password(&mut self, prompt: &str) -> Result<String> {
        let asked = Asked { kind: "password", prompt: prompt.to_string(), items: Vec::new(), default: None };
        match self.next(asked)? {
            Answer::Text(t) => Ok(t),
            other => Err(mismatch(prompt, "password", &other)),
        }
    }

    fn input(&mut self, prompt: &str, default: Option<&str>) -> Result<String> {
        let asked = Asked {
            kind: "input",
            prompt: prompt.to_string(),
            items: Vec::new(),
            default: default.map(str::to_string),
        };
        match self.next(asked)? {
            Answer::Text(t) if t.is_empty() => Ok(default.unwrap_or_default().to_string()),
            Answer::Text(t) => Ok(t),
            Answer::Default => Ok(default.unwrap_or_default().to_string()),
            other => Err(mismatch(prompt, "input", &other)),
        }
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        let asked = Asked {
            kind: "confirm",
            prompt: prompt.to_string(),
            items: Vec::new(),
            default: Some(if default { "yes" } else { "no" }.to_string()),
        };
        match self.next(asked)? {
            Answer::Yes(b) => Ok(b),
            Answer::Default => Ok(default),
            other => Err(mismatch(prompt, "confirm", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn answers_in_order_and_records_questions() {
        let mut p = ScriptedPrompter::new([
            Answer::item("round"),
            Answer::Index(0),
            Answer::text(""),
            Answer::text("k"),
            Answer::Yes(true),
            Answer::Default,
        ]);
        let list = items(&["fill_first", "round_robin"]);
        assert_eq!(p.select("s", &list, 0).unwrap(), 1);
        assert_eq!(p.fuzzy_select("f", &list, 1).unwrap(), 0);
        assert_eq!(p.input("label", Some("api-key-1")).unwrap(), "api-key-1");
        assert_eq!(p.password("key").unwrap(), "k");
        assert!(p.confirm("sure?", false).unwrap());
        assert!(!p.confirm("again?", false).unwrap());
        assert_eq!(p.asked.len(), 6);
        assert_eq!(p.asked[0].items, list);
        assert_eq!(p.asked[2].default.as_deref(), Some("api-key-1"));
        assert_eq!(p.asked_of("confirm").len(), 2);
        assert_eq!(p.remaining(), 0);
    }

    #[test]
    fn interrupt_mismatch_and_exhaustion_are_errors() {
        let mut p = ScriptedPrompter::new([Answer::Interrupt, Answer::Yes(true), Answer::item("nope")]);
        let list = items(&["a"]);
        assert!(matches!(p.select("s", &list, 0), Err(Error::Interrupted)));
        assert!(matches!(p.password("k"), Err(Error::Failed(_))));
        assert!(matches!(p.select("s", &list, 0), Err(Error::Failed(_))));
        assert!(matches!(p.confirm("c", true), Err(Error::Failed(m)) if m.contains("no answer left")));
        let mut p = ScriptedPrompter::no_terminal();
        assert!(!p.interactive());
        assert!(p.confirm("c", true).is_err());
    }
}
