//! The library's error type: what went wrong, and which exit code class it belongs to.
//! Each variant's text is one line; the CLI prefixes `error: `.

use crate::config::ConfigError;
use crate::providers::UnknownProvider;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Unknown provider: exit 1 with suggestions (ruling 1).
    #[error("{}", unknown_text(.0))]
    UnknownProvider(#[from] UnknownProvider),
    /// Bad flags, unsupported type, a prompt needed without a terminal: exit 2.
    #[error("{0}")]
    Usage(String),
    /// No entry anywhere is selectable: exit 4. The text may span several lines.
    #[error("{0}")]
    NothingUsable(String),
    /// Any other failure the user can act on: exit 1. May span several lines (details indented).
    #[error("{0}")]
    Failed(String),
    /// Interrupted by the user inside an unfinished action: exit 130.
    #[error("interrupted")]
    Interrupted,
}

fn unknown_text(u: &UnknownProvider) -> String {
    match u.suggestions.first() {
        None => format!("unknown provider \"{}\"; run hermes auth add --help for the provider list", u.input),
        Some(best) => format!("unknown provider \"{}\"; did you mean {best}?", u.input),
    }
}

impl Error {
    /// The process exit code for this error (§12.1).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::NothingUsable(_) => 4,
            Error::Interrupted => 130,
            _ => 1,
        }
    }

    /// The `kind` of the `--json` error document.
    pub fn json_kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::NothingUsable(_) => "no_usable_credential",
            _ => "error",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
