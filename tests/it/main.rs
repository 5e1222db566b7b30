//! The one integration-test binary (one link instead of one per file): the real `hermes`
//! binary and the library, driven in a sealed home. `common` holds the sealed environment that
//! process, in-process and pty tests share; each other module covers one area.

// The harness builds the sealed environment from the real PATH and reads UPDATE_DOCS: the rule
// that only src/context.rs reads the environment is the library's, not the tests'.
#![allow(clippy::disallowed_methods)]

mod common;
mod oauth_support;

mod agent_home;
mod auth_cli;
mod check;
mod compat;
mod concurrency;
mod config_docs;
mod crash;
mod docs_drift;
mod fleet;
mod front_end;
mod generate;
mod headroom;
mod history;
mod house;
mod model_bench;
mod oauth_concurrency;
mod oauth_login;
mod oauth_refresh;
mod oauth_save;
mod oauth_seeding;
mod robustness;
mod runtime_chat;
mod runtime_explain;
mod runtime_lib;
mod runtime_oauth;
mod secret_audit;
mod seeding;
mod selection;
pub mod serve;
mod snapshots;
mod state_suite;
mod untrusted;
mod usage;
mod wizard;
mod wizard_cli;
mod wizard_pty;
