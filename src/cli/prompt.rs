//! Every prompt goes through [`Prompter`], so the wizard and `setup` are tested in-process with
//! a scripted prompter ([`ScriptedPrompter`]) and run on a terminal with [`TermPrompter`]. Esc
//! (and `q` in a list) at any prompt comes back as [`Error::Cancelled`], Ctrl-C and Ctrl-D as
//! [`Error::Interrupted`]; callers decide what each means (the wizard: Esc goes back to the
//! menu, Ctrl-C quits with exit 130).
//!
//! [`Error::Interrupted`]: crate::error::Error::Interrupted
//! [`Error::Cancelled`]: crate::error::Error::Cancelled

mod scripted;
mod term;

pub use scripted::{Answer, Asked, ScriptedPrompter};
pub use term::TermPrompter;

use crate::error::Result;

/// The questions a command can ask. Implementations never write anything but the prompt itself.
pub trait Prompter {
    /// Whether prompts can be shown at all (stdin and stderr are terminals).
    fn interactive(&self) -> bool;
    /// Pick one of `items` with the arrow keys; returns its index.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    /// Pick one of `items`, narrowing the list by typing; returns its index in `items`.
    fn fuzzy_select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    /// Hidden input (API keys).
    fn password(&mut self, prompt: &str) -> Result<String>;
    /// A line of text; an empty answer takes `default`.
    fn input(&mut self, prompt: &str, default: Option<&str>) -> Result<String>;
    /// Yes or no; Enter takes `default`.
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
}
