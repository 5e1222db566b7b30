//! hermes: pools of LLM provider credentials.
//!
//! The library holds every rule; the `hermes` binary is a thin shell over [`cli`].
//! Where things live: auth.json is read and written only by [`store`]; pool rules (status,
//! cooldowns, strategies) are pure functions in [`pool`]; provider facts are in [`providers`];
//! config.yaml and `.env` in [`config`]; OAuth flows in [`oauth`]; request recovery in [`runtime`].

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod context;
pub mod error;
pub mod files;
pub mod home;
pub mod model;
pub mod oauth;
pub mod ops;
pub mod pool;
pub mod providers;
pub mod runtime;
pub mod secret;
#[cfg(feature = "serve")]
pub mod serve;
pub mod store;
pub mod text;
pub mod time;
pub mod vars;
