//! Every prompt goes through [`Prompter`], so the wizard and `setup` are tested in-process with
//! a scripted prompter and run on a terminal with dialoguer. Esc, Ctrl-C and Ctrl-D at any
//! prompt come back as [`Error::Interrupted`]; callers decide whether that means "leave the
//! menu" (exit 0) or "abandon the action" (exit 130).

use crate::error::{Error, Result};
use dialoguer::theme::ColorfulTheme;
use std::io::IsTerminal;

pub trait Prompter {
    /// Whether prompts can be shown at all (stdin is a terminal).
    fn interactive(&self) -> bool;
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    fn fuzzy_select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    /// Hidden input (API keys).
    fn password(&mut self, prompt: &str) -> Result<String>;
    /// A line of text; an empty answer takes `default`.
    fn input(&mut self, prompt: &str, default: Option<&str>) -> Result<String>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
}

/// dialoguer on the real terminal (prompts on stderr).
#[derive(Default)]
pub struct TermPrompter {
    theme: ColorfulTheme,
}

fn interrupted(e: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = e;
    // Leave the terminal usable whatever happened inside the prompt.
    let _ = console::Term::stderr().show_cursor();
    if io.kind() == std::io::ErrorKind::Interrupted || io.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::Interrupted
    } else {
        Error::Failed(format!("terminal: {io}"))
    }
}

impl Prompter for TermPrompter {
    fn interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        dialoguer::Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_opt()
            .map_err(interrupted)?
            .ok_or(Error::Interrupted)
    }

    fn fuzzy_select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        dialoguer::FuzzySelect::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_opt()
            .map_err(interrupted)?
            .ok_or(Error::Interrupted)
    }

    fn password(&mut self, prompt: &str) -> Result<String> {
        dialoguer::Password::with_theme(&self.theme)
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact()
            .map_err(interrupted)
    }

    fn input(&mut self, prompt: &str, default: Option<&str>) -> Result<String> {
        let mut i = dialoguer::Input::<String>::with_theme(&self.theme).with_prompt(prompt).allow_empty(true);
        if let Some(d) = default {
            i = i.default(d.to_string());
        }
        i.interact_text().map_err(interrupted)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        dialoguer::Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_opt()
            .map_err(interrupted)?
            .ok_or(Error::Interrupted)
    }
}
