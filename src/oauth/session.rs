//! What a login is: its options, how it talks to the user, and its result before it is stored.

use crate::error::Result;
use crate::secret::Secret;
use serde_json::Value;

/// What a login or import tool the user names with `--import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFrom {
    /// `~/.claude/.credentials.json` (anthropic only).
    ClaudeCode,
    /// hermes-agent's tokens in auth.json: `providers.nous`, `providers.openai-codex`, or an
    /// anthropic `hermes_pkce` row.
    HermesAgent,
}

impl ImportFrom {
    /// `claude-code` / `hermes-agent`, as the flag spells them.
    pub fn parse(s: &str) -> Option<ImportFrom> {
        match s {
            "claude-code" => Some(ImportFrom::ClaudeCode),
            "hermes-agent" => Some(ImportFrom::HermesAgent),
            _ => None,
        }
    }
}

/// Options of a login, from the flags of `auth add` or the wizard's answers.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// `--label`: wins over the label from the token's claims.
    pub label: Option<String>,
    /// `--no-browser`: print URLs only; Anthropic then uses the pasted-code flow.
    pub no_browser: bool,
    /// `--import`: copy another tool's login instead of logging in.
    pub import: Option<ImportFrom>,
    /// `--code-stdin`: Anthropic reads the pasted `code#state` as one line of stdin.
    pub code_stdin: bool,
}

/// How a login talks to the user. The CLI implements it over stderr, a prompter and a spinner;
/// tests implement it with a script. Nothing here may print a token.
pub trait LoginUi {
    /// A message for the user (stderr): URLs to open, codes to enter, warnings.
    fn say(&mut self, text: &str);
    /// A diagnostic line, shown only with `-v`.
    fn debug(&mut self, text: &str);
    /// Try to open `url` in a browser; failure is silent (the URL was already printed).
    fn open_browser(&mut self, url: &str);
    /// Whether [`LoginUi::read_code`] can get an answer (a terminal, or `--code-stdin`).
    fn can_read_code(&self) -> bool;
    /// The pasted `code#state` (Anthropic, docs/design.md#oauth-flows).
    fn read_code(&mut self) -> Result<String>;
    /// Show that hermes is waiting for the user (a spinner on a terminal).
    fn wait_start(&mut self, message: &str);
    /// The wait is over.
    fn wait_end(&mut self);
}

/// A login's result before it is stored: the tokens and the fields of the entry it becomes.
pub struct Login {
    /// `manual:hermes_pkce`, `manual:device_code` or `manual:claude_code_import`.
    pub source: &'static str,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// The entry's inference base URL.
    pub base_url: Option<String>,
    /// Further entry fields (expiry, last refresh, Nous metadata), in docs/design.md#entries order.
    pub fields: Vec<(&'static str, Value)>,
    /// The label the token's identity claims suggest (docs/design.md#account-matching).
    pub label_hint: Option<String>,
    /// The account's e-mail, lowercased, for matching a second login to the same account.
    pub identity: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field values may hold tokens (Nous `agent_key`): names only.
        let names: Vec<&str> = self.fields.iter().map(|(k, _)| *k).collect();
        f.debug_struct("Login").field("source", &self.source).field("fields", &names).finish()
    }
}
