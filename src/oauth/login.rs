//! The entry point of a login or an import: the provider's flow, then one store transaction.

use super::session::{LoginOptions, LoginUi};
use super::{anthropic, codex, import, nous, save};
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::ops;

/// Log in to `pool`'s provider (or import another tool's login) and store the result in one
/// transaction. A login for an account already in the pool replaces that entry's tokens
/// (docs/design.md#account-matching); the returned [`ops::Added::replaced`] says so.
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
