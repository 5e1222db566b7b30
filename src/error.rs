//! The library's error type: a variant per kind of failure a caller may want to branch on, each
//! carrying its facts as data. `Display` gives the facts in one plain sentence (several lines
//! for the summaries); hints for people (which command to run next) are the front end's to add:
//! the CLI's are in `cli/errors.rs`. The exit code class comes from the variant.

use crate::config::ConfigError;
use crate::context::Epoch;
use crate::pool::status::Status;
use crate::providers::UnknownProvider;
use crate::store::StoreError;
use crate::text::one_line;
use crate::time;
use std::fmt;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// auth.json (or another pool state) unreadable, invalid, or its lock timed out; each names
    /// its path.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// config.yaml or `.env` unreadable or invalid (names the file).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A provider name that is not in the registry or config.yaml.
    #[error("unknown provider \"{}\"", one_line(&.0.input))]
    UnknownProvider(#[from] UnknownProvider),
    /// Bad or missing input for the operation (a flag, an unsupported type, a prompt needed
    /// without a terminal): exit 2.
    #[error("{0}")]
    Usage(String),
    /// No entry anywhere can serve now: exit 4. The summary is data (every pool, every entry's
    /// state, the earliest time one becomes usable).
    #[error("{0}")]
    NothingUsable(Box<NothingUsable>),
    /// A provider refused a request or a credential.
    #[error("{0}")]
    Refused(Box<Refused>),
    /// A TARGET named no credential, or several.
    #[error("{0}")]
    Target(Box<TargetMiss>),
    /// An addition clashes with what is already in the pool.
    #[error("{0}")]
    Conflict(Conflict),
    /// An OAuth flow or refresh failed.
    #[error("{message}")]
    OAuth { kind: OAuthKind, provider: Option<String>, message: String },
    /// A provider could not be reached, or a request could not be built.
    #[error("cannot send to {provider}: {detail}")]
    Network { provider: String, detail: String },
    /// The request cannot be routed as configured (not a chat target, no base URL, …).
    #[error("{0}")]
    Route(Route),
    /// Every step of a fallback chain failed, not all of them for lack of credentials.
    #[error("{0}")]
    ChainFailed(ChainFailed),
    /// An entry vanished while it was being worked on (removed by another process).
    #[error("no credential with id {id} in {pool}")]
    Gone { pool: String, id: String },
    /// No home directory can be found (neither HERMES_HOME nor HOME).
    #[error("cannot find the home directory")]
    NoHome,
    /// The machine refused something hermes needs to run (a runtime, a socket, a thread).
    #[error("{what}: {detail}")]
    System { what: &'static str, detail: String },
    /// A front end's own failure, in its own words (the CLI's: a terminal, stdin, a file it
    /// writes). The library never returns this variant.
    #[error("{0}")]
    Failed(String),
    /// Interrupted by the user inside an unfinished action (Ctrl-C, Ctrl-D): exit 130.
    #[error("interrupted")]
    Interrupted,
    /// The user backed out of a question (Esc): the action ends with nothing changed. A menu
    /// goes back to itself; a command that has no menu exits 130.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// The process exit code for this error: 2 usage, 4 nothing usable, 130 interrupted, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::NothingUsable(_) => 4,
            Error::Interrupted | Error::Cancelled => 130,
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

    /// When something may be usable again, if a deadline is known (a gateway's `Retry-After`).
    pub fn retry_at(&self) -> Option<Epoch> {
        match self {
            Error::NothingUsable(n) => n.next.as_ref().map(|(_, t)| *t),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One entry in a [`NothingUsable`] summary.
#[derive(Debug, Clone)]
pub struct EntrySummary {
    /// 1-based position in the pool.
    pub index: usize,
    pub id: String,
    pub label: String,
    pub status: Status,
}

/// One pool in a [`NothingUsable`] summary.
#[derive(Debug, Clone)]
pub struct PoolSummary {
    pub key: String,
    pub entries: Vec<EntrySummary>,
}

/// Why nothing could serve: every pool tried, each entry's state, the earliest deadline.
#[derive(Debug, Clone)]
pub struct NothingUsable {
    pub pools: Vec<PoolSummary>,
    /// The pool and instant at which the first entry becomes usable again, if any will without
    /// the user's help.
    pub next: Option<(String, Epoch)>,
    /// Fallback steps with their own key that were refused: `(provider, origin, why)`.
    pub refused_fixed: Vec<(String, String, String)>,
    /// The instant the summary describes.
    pub now: Epoch,
}

impl fmt::Display for NothingUsable {
    /// `no usable credential`, then per pool a line of counts by state (with reasons and the
    /// earliest deadline) and a line per entry, then `next usable: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = vec!["no usable credential".to_string()];
        for p in &self.pools {
            if p.entries.is_empty() {
                lines.push(format!("{}: no credentials", p.key));
                continue;
            }
            lines.push(format!("{}: {}", p.key, group_summary(&p.entries)));
            for e in &p.entries {
                lines.push(format!(
                    "  #{} {} \"{}\": {}",
                    e.index,
                    one_line(&e.id),
                    one_line(&e.label),
                    one_line(&e.status.describe(self.now))
                ));
            }
        }
        for (provider, origin, why) in &self.refused_fixed {
            lines.push(format!("{provider}: the key from {origin} was refused ({why})"));
        }
        match &self.next {
            Some((key, t)) => lines.push(format!(
                "next usable: {key} at {} (in {})",
                time::iso_z(*t),
                time::format_wait(t - self.now)
            )),
            None => lines.push("next usable: none without user action".into()),
        }
        f.write_str(&lines.join("\n"))
    }
}

/// `2 cooling (rate-limited) until <time>, 1 dead (token_invalidated)`.
fn group_summary(entries: &[EntrySummary]) -> String {
    struct Group {
        name: String,
        count: usize,
        why: Vec<String>,
        until: Option<Epoch>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for e in entries {
        let name = e.status.json_name().replace('_', " ");
        let why = match &e.status {
            Status::Cooling { class, .. } => Some(class.to_string()),
            Status::Dead { .. } => e.status.reason().map(str::to_string).or(e.status.class().map(str::to_string)),
            _ => None,
        };
        let g = match groups.iter().position(|g| g.name == name) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Group { name, count: 0, why: Vec::new(), until: None });
                groups.last_mut().expect("just pushed")
            }
        };
        g.count += 1;
        if let Some(w) = why.filter(|w| !g.why.contains(w)) {
            g.why.push(w);
        }
        if let Some(u) = e.status.until() {
            g.until = Some(g.until.map_or(u, |x: Epoch| x.min(u)));
        }
    }
    groups
        .iter()
        .map(|g| {
            let mut part = format!("{} {}", g.count, g.name);
            if !g.why.is_empty() {
                part.push_str(&format!(" ({})", one_line(&g.why.join(", "))));
            }
            if let Some(u) = g.until {
                part.push_str(&format!(" until {}", time::iso_z(u)));
            }
            part
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a provider's refusal was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedWhat {
    /// The credential (401/403): the same request with another key could work.
    Credential,
    /// The request itself (400, 404, 422, …): nothing about the key.
    Request,
}

/// Which credential a refusal is about.
#[derive(Debug, Clone)]
pub enum Holder {
    /// A pool entry.
    Entry { id: String, label: String, oauth: bool },
    /// A fallback step's own key, and where it was configured.
    Fixed { origin: String },
}

/// A provider refused a request or a credential.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The pool key of the step.
    pub provider: String,
    /// `<provider>/<model>` as the chain names the step.
    pub step: String,
    pub what: RefusedWhat,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// The recovery class (`auth`, `forbidden`, `client_error`, …).
    pub class: &'static str,
    pub holder: Holder,
    /// The masked credential.
    pub masked: String,
    /// The provider's code or type and message, sanitised.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The provider gave a permanent reason (`token_invalidated`, `invalid_grant`, …).
    pub permanent: bool,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.status.map_or_else(|| self.class.to_string(), |n| n.to_string());
        match self.what {
            RefusedWhat::Request => {
                write!(f, "{} rejected the request with {code}", self.step)?;
                if let Some(r) = &self.reason {
                    write!(f, " ({})", one_line(r))?;
                }
            }
            RefusedWhat::Credential => {
                let problem = match (&self.holder, self.class) {
                    (_, "forbidden") => "the key is not allowed to make this request (forbidden)",
                    (Holder::Entry { oauth: true, .. }, _) => "the login is no longer valid",
                    _ => "the key is invalid or revoked",
                };
                let reason = match (&self.reason, self.permanent) {
                    (Some(r), true) => format!(" ({})", one_line(r)),
                    _ => String::new(),
                };
                match &self.holder {
                    Holder::Entry { label, .. } => write!(
                        f,
                        "{} rejected credential \"{}\" ({}) with {code}: {problem}{reason}",
                        self.provider,
                        one_line(label),
                        self.masked
                    )?,
                    Holder::Fixed { origin } => write!(
                        f,
                        "{} rejected the key from {origin} ({}) with {code}: {problem}{reason}",
                        self.provider, self.masked
                    )?,
                }
            }
        }
        if let Some(m) = &self.message {
            write!(f, "\n  provider message: {}", one_line(m))?;
        }
        Ok(())
    }
}

/// A TARGET that named no credential, or several.
#[derive(Debug, Clone)]
pub struct TargetMiss {
    pub pool: String,
    pub target: String,
    /// Empty for "no match"; the matching entries for "ambiguous".
    pub matches: Vec<(usize, String, String)>,
    /// Every entry of the pool `(index, id, label)`, for "valid choices".
    pub choices: Vec<(usize, String, String)>,
}

impl TargetMiss {
    pub fn is_ambiguous(&self) -> bool {
        !self.matches.is_empty()
    }

    fn lines(list: &[(usize, String, String)]) -> String {
        list.iter()
            .map(|(i, id, label)| format!("  #{i} {} {}", one_line(id), one_line(label)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for TargetMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = one_line(&self.target);
        if self.is_ambiguous() {
            return write!(
                f,
                "\"{target}\" matches several credentials in {}; use the id:\n{}",
                self.pool,
                Self::lines(&self.matches)
            );
        }
        if self.choices.is_empty() {
            return write!(f, "no credential matching \"{target}\" in {} (the pool is empty)", self.pool);
        }
        write!(
            f,
            "no credential matching \"{target}\" in {}; valid choices:\n{}",
            self.pool,
            Self::lines(&self.choices)
        )
    }
}

/// An addition that clashes with the pool.
#[derive(Debug, Clone)]
pub enum Conflict {
    /// The key is already in the pool.
    DuplicateKey { pool: String, index: usize, id: String, label: String },
    /// The label is already used in the pool.
    LabelTaken { pool: String, label: String, index: usize, id: String },
    /// The label is all digits: a TARGET would read it as an index.
    LabelIsIndex { label: String },
    /// The label is another entry's id: a TARGET would name that entry.
    LabelIsId { pool: String, label: String, index: usize },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::DuplicateKey { pool, index, id, label } => {
                write!(f, "this key is already in {pool} as #{index} ({}, \"{}\")", one_line(id), one_line(label))
            }
            Conflict::LabelTaken { pool, label, index, id } => {
                write!(f, "label \"{}\" is already used in {pool} (#{index} {})", one_line(label), one_line(id))
            }
            Conflict::LabelIsIndex { label } => write!(
                f,
                "label \"{}\" is all digits, so it would be read as an index; use a label with a letter in it",
                one_line(label)
            ),
            Conflict::LabelIsId { pool, label, index } => write!(
                f,
                "label \"{}\" is the id of {pool} #{index}, so it would name that entry; use another label",
                one_line(label)
            ),
        }
    }
}

/// The kind of an OAuth failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthKind {
    /// The answer did not carry this login's state.
    StateMismatch,
    /// The user or the server refused the login.
    Denied,
    /// The login or device code ran out of time.
    Expired,
    /// An endpoint answered with an error status.
    Rejected,
    /// An endpoint could not be reached.
    Unreachable,
    /// An endpoint answered, but not with what the flow needs.
    BadAnswer,
    /// Nothing to import.
    NothingToImport,
    /// A refresh spent the refresh token but its result could not be saved: log in again.
    LoginLost,
    /// The user gave no code, or the local callback could not be served.
    Other,
}

/// A request that cannot be routed as configured.
#[derive(Debug, Clone)]
pub enum Route {
    /// The provider speaks a wire `chat` does not (Codex Responses).
    NotAChatTarget { pool: String },
    /// No base URL for the pool; `url_var` is the variable that would set one.
    NoBaseUrl { pool: String, url_var: Option<&'static str> },
    /// `model.provider: custom` without a usable `model.base_url`.
    CustomWithoutBaseUrl { base_url: Option<String> },
    /// A gateway request routed to a provider that speaks another wire than its endpoint.
    WrongWire { pool: String, endpoint: String },
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::NotAChatTarget { pool } => {
                write!(f, "{pool} is not a chat target: it speaks the Codex Responses API")
            }
            Route::NoBaseUrl { pool, .. } => write!(f, "{pool} has no base URL"),
            Route::WrongWire { pool, endpoint } => write!(f, "{pool} does not serve {endpoint}: it speaks another API"),
            Route::CustomWithoutBaseUrl { base_url: None } => {
                write!(f, "model.provider is custom but model.base_url is not set")
            }
            Route::CustomWithoutBaseUrl { base_url: Some(url) } => write!(
                f,
                "model.provider is custom but model.base_url {} matches no custom_providers entry in config.yaml",
                one_line(url)
            ),
        }
    }
}

/// One step of a chain that failed.
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// `<provider>/<model>`.
    pub step: String,
    /// No credential could serve (as opposed to transient failures).
    pub exhausted: bool,
    /// The code or reason: `429`, `503`, `timeout`, `dead`.
    pub why: String,
    pub until: Option<Epoch>,
}

/// Every step of a chain failed.
#[derive(Debug, Clone)]
pub struct ChainFailed {
    pub steps: Vec<StepFailure>,
}

impl fmt::Display for ChainFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = vec!["no provider could answer".to_string()];
        for s in &self.steps {
            let what = if s.exhausted { "no usable credential" } else { "failed" };
            let until = s.until.map(|t| format!(" until {}", time::iso_z(t))).unwrap_or_default();
            lines.push(format!("  {}: {what} ({}){until}", s.step, one_line(&s.why)));
        }
        f.write_str(&lines.join("\n"))
    }
}
