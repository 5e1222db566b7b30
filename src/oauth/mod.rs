//! OAuth for the pools (docs/design.md#oauth): one file per provider flow, the single-flight refresh, and the
//! transactions that store a login or an explicit import.
//!
//! What this module promises:
//! * **No store lock across HTTP.** Every network call happens with no lock on auth.json; results
//!   are written in one [`crate::store::Store::update`] transaction afterwards.
//! * **A refresh token is spent at most once across processes** ([`refresh`]): one file lock per
//!   grant, a fresh read inside it, and adoption instead of a POST when another process has
//!   already rotated the tokens.
//! * **Only hermes's own logins are refreshed** (docs/design.md#owned-and-borrowed): `manual:hermes_pkce`,
//!   `manual:claude_code_import` and `manual:device_code`. Tokens another tool wrote are used
//!   read-only until the user imports them ([`import`]).
//! * **No token in any error, log or panic message**: tokens travel as [`Secret`]; provider
//!   messages are masked with [`crate::secret::redact_in`] before they are shown or stored.
//! * **Every endpoint is overridable** by the variables of docs/design.md#endpoint-overrides (see [`crate::vars`]).
//!
//! Public entry points:
//! * [`login`]: `hermes auth add PROVIDER --type oauth [--import TOOL]` and the wizard;
//! * [`pick_ready`]: a pick (docs/design.md#strategies) that refreshes the chosen entry first when it is due (`auth
//!   token`, the runtime);
//! * [`refresh_entry`]: the single-flight refresh of one entry (`auth refresh`, the runtime's 401
//!   handler), returning a [`RefreshResult`];
//! * [`block_on`]: run one of these futures from blocking code (the CLI).

pub mod anthropic;
mod blocking;
mod callback;
pub mod codex;
mod error;
mod http;
pub mod import;
mod login;
pub mod nous;
pub mod refresh;
pub mod save;
mod session;
mod tokens;

pub use blocking::block_on;
pub(crate) use blocking::blocking;
pub use error::OAuthError;
pub(crate) use error::{clean_message, clean_reason};
pub use login::login;
pub use refresh::{pick_ready, refresh_entry, Fresh, RefreshResult};
pub use session::{ImportFrom, Login, LoginOptions, LoginUi};
