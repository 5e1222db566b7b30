//! OAuth for the pools (§10): one file per provider flow, the single-flight refresh, and the
//! transactions that store a login or an explicit import.
//!
//! What this module promises:
//! * **No store lock across HTTP.** Every network call happens with no lock on auth.json; results
//!   are written in one [`crate::store::Store::update`] transaction afterwards.
//! * **A refresh token is spent at most once across processes** ([`refresh`]): one file lock per
//!   grant, a fresh read inside it, and adoption instead of a POST when another process has
//!   already rotated the tokens.
//! * **Only hermes's own logins are refreshed** (ruling 14): `manual:hermes_pkce`,
//!   `manual:claude_code_import` and `manual:device_code`. Tokens another tool wrote are used
//!   read-only until the user imports them ([`import`]).
//! * **No token in any error, log or panic message**: tokens travel as [`Secret`]; provider
//!   messages are masked with [`crate::secret::redact_in`] before they are shown or stored.
//! * **Every endpoint is overridable** by the variables of §10.2 (see [`crate::vars`]).
//!
//! Public entry points:
//! * [`login`]: `hermes auth add PROVIDER --type oauth [--import TOOL]` and the wizard;
//! * [`pick_ready`]: a pick (§8) that refreshes the chosen entry first when it is due (`auth
//!   token`, the runtime);
//! * [`refresh_entry`]: the single-flight refresh of one entry (`auth refresh`, the runtime's 401
//!   handler), returning a [`RefreshResult`];
//! * [`block_on`]: run one of these futures from blocking code (the CLI).

pub mod anthropic;
mod callback;
pub mod codex;
mod http;
pub mod import;
pub mod jwt;
pub mod nous;
pub mod refresh;
pub mod save;

pub use refresh::{pick_ready, refresh_entry, Fresh, RefreshResult};

use crate::context::Epoch;
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::ops;
use crate::pool::entry::Entry;
use crate::pool::view::REFRESH_SKEW;
use crate::secret::Secret;
use serde_json::Value;
use std::future::Future;

/// Why an OAuth step failed. Each text is one line and never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The `state` that came back is not the one this login sent (§10.3 step 3).
    #[error("state mismatch: the authorization code does not belong to this login; nothing was saved")]
    StateMismatch,
    /// The user (or the server on the user's behalf) refused the login.
    #[error("{provider} login was denied{}", suffix(.detail))]
    Denied { provider: String, detail: Option<String> },
    /// The device code or the wait for the browser ran out before the login was approved.
    #[error("{provider} login expired: {detail}; run the command again")]
    Expired { provider: String, detail: String },
    /// An endpoint answered with an error status.
    #[error("{what}: HTTP {status}{}", reason_suffix(.reason, .message))]
    Rejected { what: String, status: u16, reason: Option<String>, message: Option<String> },
    /// The endpoint could not be reached or did not answer in time.
    #[error("{what}: cannot reach {url}: {detail}")]
    Unreachable { what: String, url: String, detail: String },
    /// The endpoint answered, but not with what the flow needs.
    #[error("{what}: unexpected answer: {detail}")]
    BadAnswer { what: String, detail: String },
    /// Something to import is not there.
    #[error("{0}")]
    NothingToImport(String),
}

fn suffix(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

fn reason_suffix(reason: &Option<String>, message: &Option<String>) -> String {
    match (reason.as_deref(), message.as_deref()) {
        (Some(r), Some(m)) => format!(" {r}: {m}"),
        (Some(r), None) => format!(" {r}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Error {
        Error::Failed(e.to_string())
    }
}

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
    /// The pasted `code#state` (Anthropic, §10.3 step 3).
    fn read_code(&mut self) -> Result<String>;
    /// Show that hermes is waiting for the user (a spinner on a terminal).
    fn wait_start(&mut self, message: &str);
    /// The wait is over.
    fn wait_end(&mut self);
}

/// Log in to `pool`'s provider (or import another tool's login) and store the result in one
/// transaction. A login for an account already in the pool replaces that entry's tokens
/// (ruling 15); the returned [`ops::Added::replaced`] says so.
pub async fn login(home: &Home, pool: &PoolRef, opts: &LoginOptions, ui: &mut dyn LoginUi) -> Result<ops::Added> {
    if let Some(tool) = opts.import {
        return import::run(home, pool, tool, opts.label.as_deref(), ui);
    }
    let login = match pool.key.as_str() {
        "anthropic" => anthropic::login(home, opts, ui).await?,
        "openai-codex" => codex::login(home, opts, ui).await?,
        "nous" => nous::login(home, pool, opts, ui).await?,
        other => return Err(Error::Usage(format!("{other} does not support OAuth login; use --type api-key"))),
    };
    save::save_login(home, pool, &login, opts.label.as_deref(), None)
}

/// Run `f` to completion on a fresh single-threaded tokio runtime: the blocking CLI's way into
/// the async OAuth code.
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// Run blocking store I/O from async code. On a multi-threaded runtime (the request runtime) the
/// worker hands its other tasks off first; elsewhere the call simply runs inline. Never used
/// around HTTP: the store lock is only held inside `f`.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A login's result before it is stored: the tokens and the fields of the entry it becomes.
pub struct Login {
    /// `manual:hermes_pkce`, `manual:device_code` or `manual:claude_code_import`.
    pub source: &'static str,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// The entry's inference base URL.
    pub base_url: Option<String>,
    /// Further entry fields (expiry, last refresh, Nous metadata), in §4.1 order.
    pub fields: Vec<(&'static str, Value)>,
    /// The label the token's identity claims suggest (§10.6).
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

/// When an OAuth entry's access token expires, as far as hermes can tell (§10.3–10.5):
/// anthropic `expires_at_ms`; openai-codex the access token's `exp` claim; nous `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expiry {
    /// No expiry is known: no proactive refresh.
    Unknown,
    /// The token expires at this instant.
    At(Epoch),
    /// A stored expiry that cannot be read (Nous): treated as expiring.
    Unreadable,
}

impl Expiry {
    /// The instant, when known.
    pub fn at(self) -> Option<Epoch> {
        match self {
            Expiry::At(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the token is within the refresh skew of its expiry (or already past it).
    pub fn due(self, now: Epoch) -> bool {
        match self {
            Expiry::Unknown => false,
            Expiry::At(t) => t - REFRESH_SKEW <= now,
            Expiry::Unreadable => true,
        }
    }

    /// Whether the token can no longer be used at all.
    pub fn expired(self, now: Epoch) -> bool {
        match self {
            Expiry::Unknown => false,
            Expiry::At(t) => t <= now,
            Expiry::Unreadable => true,
        }
    }
}

/// The access-token expiry of an entry of `pool_key` whose live secret is `secret`.
pub fn access_expiry(pool_key: &str, entry: &Entry, secret: Option<&Secret>) -> Expiry {
    let from_ms = || entry.expires_at_ms.map(|ms| Expiry::At(ms as f64 / 1000.0));
    let from_iso =
        || entry.expires_at.as_deref().map(|s| crate::time::parse_iso(s).map_or(Expiry::Unreadable, Expiry::At));
    let from_jwt = || secret.and_then(|s| jwt::exp(&jwt::claims(s.expose()))).map(Expiry::At);
    let found = match pool_key {
        "anthropic" => from_ms(),
        "openai-codex" => from_jwt(),
        "nous" => from_iso(),
        _ => from_ms().or_else(from_iso),
    };
    found.unwrap_or(Expiry::Unknown)
}

/// The refresh skew, for messages.
pub const SKEW: f64 = REFRESH_SKEW;

/// Provider text from a token endpoint, sanitised: every secret in `secrets` (and anything
/// shaped like a key) masked, control characters gone, at most 300 characters.
pub(crate) fn clean_message(text: &str, secrets: &[&Secret]) -> String {
    redactor(secrets).message(Some(text)).unwrap_or_default()
}

/// A provider's error code or type from a token endpoint, sanitised like [`clean_message`].
pub(crate) fn clean_reason(text: Option<String>, secrets: &[&Secret]) -> Option<String> {
    redactor(secrets).reason(text.as_deref())
}

fn redactor(secrets: &[&Secret]) -> crate::secret::Redactor {
    let mut r = crate::secret::Redactor::new();
    for s in secrets {
        r.add_secret(s);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> Entry {
        Entry::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn expiry_by_provider() {
        let e = entry(json!({"id": "a", "expires_at_ms": 1_000_000_000_000i64, "expires_at": "2001-09-09T01:46:40Z"}));
        assert_eq!(access_expiry("anthropic", &e, None), Expiry::At(1_000_000_000.0));
        assert_eq!(access_expiry("nous", &e, None), Expiry::At(1_000_000_000.0));
        let tok = Secret::new(jwt::unsigned(&json!({"exp": 1234})));
        assert_eq!(access_expiry("openai-codex", &e, Some(&tok)), Expiry::At(1234.0));
        assert_eq!(access_expiry("openai-codex", &e, Some(&Secret::new("opaque"))), Expiry::Unknown);
        let bad = entry(json!({"id": "a", "expires_at": "soon"}));
        assert_eq!(access_expiry("nous", &bad, None), Expiry::Unreadable);
        assert!(Expiry::Unreadable.due(0.0) && Expiry::Unreadable.expired(0.0));
        assert!(Expiry::At(1000.0).due(1000.0 - REFRESH_SKEW));
        assert!(!Expiry::At(1000.0).due(1000.0 - REFRESH_SKEW - 1.0));
        assert!(!Expiry::At(1000.0).expired(999.0));
        assert!(!Expiry::Unknown.due(1e12));
    }

    #[test]
    fn messages_are_masked_and_cut() {
        let s = Secret::new("rt-very-secret-refresh");
        let m = clean_message("  bad token rt-very-secret-refresh  ", &[&s]);
        assert_eq!(m, "bad token rt-v…resh");
        assert_eq!(clean_message(&"x".repeat(400), &[]).chars().count(), 300);
    }

    #[test]
    fn error_texts() {
        let e = OAuthError::Rejected {
            what: "anthropic refresh".into(),
            status: 400,
            reason: Some("invalid_grant".into()),
            message: Some("Refresh token revoked".into()),
        };
        assert_eq!(e.to_string(), "anthropic refresh: HTTP 400 invalid_grant: Refresh token revoked");
        assert_eq!(OAuthError::Denied { provider: "nous".into(), detail: None }.to_string(), "nous login was denied");
    }
}
