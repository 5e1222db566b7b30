//! The terminal [`Prompter`]: dialoguer's `ColorfulTheme` drawn on stderr with console, with
//! key handling of our own.
//!
//! Why not dialoguer's prompt widgets themselves (0.11): Ctrl-C makes console raise SIGINT,
//! which kills the process with the cursor hidden (dialoguer#77, #294); no widget treats Ctrl-D
//! as leaving; `Input` ignores Esc; and `Password` reads a cooked line, so Ctrl-C there either
//! kills the process with echo still off or, with a SIGINT handler, is ignored until Enter. The
//! wizard needs Esc, Ctrl-C and Ctrl-D to leave cleanly at every prompt (docs/design.md#command-line), so each
//! widget here reads keys with [`Term::read_key_raw`] (Ctrl-C arrives as a key, no signal),
//! inside a raw-mode guard that also keeps echo off for the whole of a hidden key entry, not
//! just between keystrokes. The look is dialoguer's: every line is formatted by its theme.
//!
//! Every widget restores the cursor and the terminal mode on the way out, whatever happens
//! (drop guards), and leaves one summary line (`✔ Prompt · answer`) or, when interrupted,
//! nothing.

use super::Prompter;
use crate::cli::printer::safe_line;
use crate::error::{Error, Result};
use console::{measure_text_width, truncate_str, Key, Term};
use dialoguer::theme::{ColorfulTheme, Theme};
use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use nix::sys::termios::{self, SetArg, Termios};
use std::io::IsTerminal;
use std::os::fd::AsFd;

/// How many rows of a fuzzy list are shown at once.
const FUZZY_PAGE: usize = 10;

/// dialoguer-styled prompts on the real terminal (stderr).
pub struct TermPrompter {
    theme: ColorfulTheme,
    term: Term,
}

impl Default for TermPrompter {
    fn default() -> TermPrompter {
        TermPrompter { theme: ColorfulTheme::default(), term: Term::buffered_stderr() }
    }
}

impl TermPrompter {
    /// A prompter that uses colour only when `colour` is true (NO_COLOR, TERM=dumb and a
    /// non-terminal stderr turn it off; console itself ignores NO_COLOR).
    pub fn new(colour: bool) -> TermPrompter {
        console::set_colors_enabled_stderr(colour);
        TermPrompter::default()
    }
}

/// What a key means to a widget.
enum Step {
    Key(Key),
    /// Esc (back out of the question: [`Error::Cancelled`]), or Ctrl-C, Ctrl-D or the end of
    /// input (quit: [`Error::Interrupted`]).
    Leave(Error),
}

fn read(term: &Term) -> Result<Step> {
    match term.read_key_raw() {
        Ok(Key::Escape) => Ok(Step::Leave(Error::Cancelled)),
        Ok(Key::CtrlC | Key::Char('\u{3}') | Key::Char('\u{4}')) => Ok(Step::Leave(Error::Interrupted)),
        Ok(k) => Ok(Step::Key(k)),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::Interrupted) => {
            Ok(Step::Leave(Error::Interrupted))
        }
        Err(e) => Err(Error::Failed(format!("terminal: {e}"))),
    }
}

fn term_err(e: std::io::Error) -> Error {
    Error::Failed(format!("terminal: {e}"))
}

fn fmt_err(_: std::fmt::Error) -> Error {
    Error::Failed("terminal: formatting failed".into())
}

/// Raw mode on stdin for the life of a widget; the saved mode comes back on drop. Output
/// processing is kept, so `\n` still starts a new line.
struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else { return RawMode { saved: None } };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        raw.output_flags = saved.output_flags;
        // TCSADRAIN, not TCSAFLUSH: keys typed ahead of the prompt are kept.
        match termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw) {
            Ok(()) => RawMode { saved: Some(saved) },
            Err(_) => RawMode { saved: None },
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSADRAIN, saved);
        }
    }
}

/// Hides the cursor; shows it again on drop.
struct HiddenCursor<'a>(&'a Term);

impl<'a> HiddenCursor<'a> {
    fn new(term: &'a Term) -> HiddenCursor<'a> {
        let _ = term.hide_cursor();
        HiddenCursor(term)
    }
}

impl Drop for HiddenCursor<'_> {
    fn drop(&mut self) {
        let _ = self.0.show_cursor();
        let _ = self.0.flush();
    }
}

/// The rows a widget has drawn, so the next frame (or the summary) replaces them exactly.
struct Screen<'a> {
    term: &'a Term,
    /// Rows above the cursor's row that belong to the current frame.
    above: usize,
}

impl<'a> Screen<'a> {
    fn new(term: &'a Term) -> Screen<'a> {
        Screen { term, above: 0 }
    }

    fn width(&self) -> usize {
        match self.term.size().1 as usize {
            0 => 80,
            w => w,
        }
    }

    fn height(&self) -> usize {
        match self.term.size().0 as usize {
            0 => 24,
            h => h,
        }
    }

    fn rows(&self, text: &str) -> usize {
        measure_text_width(text).div_ceil(self.width()).max(1)
    }

    fn clear(&mut self) -> Result<()> {
        self.term.clear_line().map_err(term_err)?;
        self.term.clear_last_lines(self.above).map_err(term_err)?;
        self.above = 0;
        Ok(())
    }

    /// Replace the frame with `lines`; the last one is left open (the cursor stays after it)
    /// when `open_end`, as for a text prompt.
    fn draw(&mut self, lines: &[String], open_end: bool) -> Result<()> {
        self.clear()?;
        for (i, line) in lines.iter().enumerate() {
            if open_end && i + 1 == lines.len() {
                self.term.write_str(line).map_err(term_err)?;
                self.above += self.rows(line) - 1;
            } else {
                self.term.write_line(line).map_err(term_err)?;
                self.above += self.rows(line);
            }
        }
        self.term.flush().map_err(term_err)
    }

    /// Replace the frame with the one-line summary of the answer.
    fn finish(&mut self, summary: &str) -> Result<()> {
        self.clear()?;
        self.term.write_line(summary).map_err(term_err)?;
        self.term.flush().map_err(term_err)
    }

    /// Remove the frame and leave nothing (the user left).
    fn abandon(&mut self) -> Result<()> {
        self.clear()?;
        self.term.flush().map_err(term_err)
    }
}

impl TermPrompter {
    fn fmt(&self, f: impl FnOnce(&ColorfulTheme, &mut String) -> std::fmt::Result) -> Result<String> {
        let mut s = String::new();
        f(&self.theme, &mut s).map_err(fmt_err)?;
        Ok(s)
    }

    fn choose(&mut self, prompt: &str, items: &[String], default: usize, fuzzy: bool) -> Result<usize> {
        if items.is_empty() {
            return Err(Error::Failed(format!("nothing to choose from for \"{prompt}\"")));
        }
        let _raw = RawMode::enter();
        let term = self.term.clone();
        let _cursor = HiddenCursor::new(&term);
        let mut screen = Screen::new(&term);
        let matcher = SkimMatcherV2::default();
        let mut search = String::new();
        let mut active = default.min(items.len() - 1);
        let mut top = 0usize;
        loop {
            let shown: Vec<usize> = if fuzzy && !search.is_empty() {
                let mut scored: Vec<(i64, usize)> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, it)| matcher.fuzzy_match(it, &search).map(|s| (s, i)))
                    .collect();
                // Best score first; equal scores keep the list's order.
                scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                scored.into_iter().map(|(_, i)| i).collect()
            } else {
                (0..items.len()).collect()
            };
            active = active.min(shown.len().saturating_sub(1));
            let page = if fuzzy { FUZZY_PAGE } else { screen.height().saturating_sub(3).max(3) };
            if active < top {
                top = active;
            } else if active >= top + page {
                top = active + 1 - page;
            }
            top = top.min(shown.len().saturating_sub(page));

            let width = screen.width().saturating_sub(1).max(10);
            let mut lines = vec![self.fmt(|t, s| {
                if fuzzy {
                    t.format_fuzzy_select_prompt(s, prompt, &search, search.len())
                } else {
                    t.format_select_prompt(s, prompt)
                }
            })?];
            for (row, &i) in shown.iter().enumerate().skip(top).take(page) {
                // Items are cut to the width (before styling) so that no row wraps.
                let text = truncate_str(&items[i], width - 2, "…");
                lines.push(self.fmt(|t, s| {
                    if fuzzy {
                        t.format_fuzzy_select_prompt_item(s, &text, row == active, true, &matcher, &search)
                    } else {
                        t.format_select_prompt_item(s, &text, row == active)
                    }
                })?);
            }
            if shown.is_empty() {
                lines.push("  (no match)".to_string());
            }
            screen.draw(&lines, false)?;

            let key = match read(&term)? {
                Step::Leave(e) => {
                    screen.abandon()?;
                    return Err(e);
                }
                Step::Key(k) => k,
            };
            let n = shown.len();
            match key {
                Key::Enter if n > 0 => {
                    let i = shown[active];
                    let summary = self.fmt(|t, s| t.format_select_prompt_selection(s, prompt, &items[i]))?;
                    screen.finish(&summary)?;
                    return Ok(i);
                }
                Key::Char('q') if !fuzzy => {
                    screen.abandon()?;
                    return Err(Error::Cancelled);
                }
                Key::ArrowUp | Key::BackTab if n > 0 => active = (active + n - 1) % n,
                Key::Char('k') if !fuzzy && n > 0 => active = (active + n - 1) % n,
                Key::ArrowDown | Key::Tab if n > 0 => active = (active + 1) % n,
                Key::Char('j') if !fuzzy && n > 0 => active = (active + 1) % n,
                Key::PageUp => active = active.saturating_sub(page),
                Key::PageDown if n > 0 => active = (active + page).min(n - 1),
                Key::Home => active = 0,
                Key::End if n > 0 => active = n - 1,
                Key::Backspace if fuzzy => {
                    search.pop();
                    active = 0;
                }
                Key::Char(c) if fuzzy && !c.is_control() => {
                    search.push(c);
                    active = 0;
                }
                _ => {}
            }
        }
    }

    fn line(&mut self, prompt: &str, default: Option<&str>, hidden: bool) -> Result<String> {
        let _raw = RawMode::enter();
        let term = self.term.clone();
        let mut screen = Screen::new(&term);
        let head = self.fmt(|t, s| {
            if hidden {
                t.format_password_prompt(s, prompt)
            } else {
                t.format_input_prompt(s, prompt, default)
            }
        })?;
        let mut text = String::new();
        let mut drawn: Option<String> = None;
        loop {
            let shown = if hidden { head.clone() } else { format!("{head}{text}") };
            // A hidden entry never changes on screen: draw it once.
            if drawn.as_ref() != Some(&shown) {
                screen.draw(std::slice::from_ref(&shown), true)?;
                drawn = Some(shown);
            }
            let key = match read(&term)? {
                Step::Leave(e) => {
                    screen.abandon()?;
                    return Err(e);
                }
                Step::Key(k) => k,
            };
            match key {
                Key::Enter => {
                    let value = if text.is_empty() && !hidden { default.unwrap_or_default().to_string() } else { text };
                    let summary = self.fmt(|t, s| {
                        if hidden {
                            t.format_password_prompt_selection(s, prompt)
                        } else {
                            t.format_input_prompt_selection(s, prompt, &value)
                        }
                    })?;
                    screen.finish(&summary)?;
                    return Ok(value);
                }
                Key::Backspace => {
                    text.pop();
                }
                // Ctrl-U clears the line, as in a shell.
                Key::Char('\u{15}') => text.clear(),
                Key::Char(c) if !c.is_control() => text.push(c),
                _ => {}
            }
        }
    }
}

impl Prompter for TermPrompter {
    fn interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    // Prompts and items may quote labels and names from files: they reach the terminal only
    // through `safe_line`.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        self.choose(&safe_line(prompt), &safe_items(items), default, false)
    }

    fn fuzzy_select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        self.choose(&safe_line(prompt), &safe_items(items), default, true)
    }

    fn password(&mut self, prompt: &str) -> Result<String> {
        self.line(&safe_line(prompt), None, true)
    }

    fn input(&mut self, prompt: &str, default: Option<&str>) -> Result<String> {
        // The default is shown escaped; accepting it gives back the default itself.
        let shown = default.map(|d| safe_line(d).into_owned());
        let answer = self.line(&safe_line(prompt), shown.as_deref(), false)?;
        Ok(match (default, shown) {
            (Some(d), Some(s)) if answer == s => d.to_string(),
            _ => answer,
        })
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        let prompt = &*safe_line(prompt);
        let _raw = RawMode::enter();
        let term = self.term.clone();
        let _cursor = HiddenCursor::new(&term);
        let mut screen = Screen::new(&term);
        let question = self.fmt(|t, s| t.format_confirm_prompt(s, prompt, Some(default)))?;
        loop {
            screen.draw(std::slice::from_ref(&question), true)?;
            let answer = match read(&term)? {
                Step::Leave(e) => {
                    screen.abandon()?;
                    return Err(e);
                }
                Step::Key(Key::Char('q')) => {
                    screen.abandon()?;
                    return Err(Error::Cancelled);
                }
                Step::Key(Key::Char('y' | 'Y')) => true,
                Step::Key(Key::Char('n' | 'N')) => false,
                Step::Key(Key::Enter) => default,
                Step::Key(_) => continue,
            };
            let summary = self.fmt(|t, s| t.format_confirm_prompt_selection(s, prompt, Some(answer)))?;
            screen.finish(&summary)?;
            return Ok(answer);
        }
    }
}

fn safe_items(items: &[String]) -> Vec<String> {
    items.iter().map(|i| safe_line(i).into_owned()).collect()
}
