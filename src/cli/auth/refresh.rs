//! `hermes auth refresh`: refresh OAuth logins now (docs/design.md#command-line), through the same single-flight
//! refresh as a pick (docs/design.md#oauth-refresh).

use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::model::entry::AuthType;
use crate::oauth::{self, RefreshResult};
use crate::ops;
use crate::providers;
use crate::time;

/// Refresh OAuth tokens now, without waiting for them to come close to expiry.
///
/// Without TARGET, every login hermes owns in the pool is refreshed. Tokens another tool wrote
/// (Claude Code, hermes-agent) are never refreshed behind its back; import them first with
/// `hermes auth add PROVIDER --type oauth --import claude-code|hermes-agent`.
///
/// Exit 1 when any refresh fails; a transient failure leaves the entry usable until it expires.
/// Nothing to refresh (an API key, a pool without OAuth logins) is not a failure: exit 0.
///
/// Examples:
///   hermes auth refresh anthropic
///   hermes auth refresh openai-codex work@example.com
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id or alias.
    pub provider: String,
    /// One entry: id, label or 1-based index (default: every login hermes refreshes).
    pub target: Option<String>,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let doc = home.state().read()?;
    let view = home.view(&doc, &pool.key, home.now());
    let targets: Vec<(usize, String, String)> = match &args.target {
        Some(t) => {
            let i = view.find(t).map_err(|e| ops::target_error(&view, t, e))?;
            let v = &view.entries[i];
            if v.entry.auth_type != AuthType::OAuth {
                // Asking to refresh a key is not a failure: there is just nothing to do.
                out.err(&format!(
                    "Nothing to refresh: {} credential #{} (id {}) \"{}\" is an API key, and API keys do not expire",
                    pool.key,
                    i + 1,
                    v.entry.id,
                    v.entry.label
                ));
                return Ok(());
            }
            vec![(i + 1, v.entry.id.clone(), v.entry.label.clone())]
        }
        None => view
            .entries
            .iter()
            .enumerate()
            .filter(|(_, v)| v.refreshable)
            .map(|(i, v)| (i + 1, v.entry.id.clone(), v.entry.label.clone()))
            .collect(),
    };
    if targets.is_empty() {
        if view.entries.iter().any(|v| v.read_only) {
            return Err(Error::Failed(format!(
                "the OAuth logins in {key} belong to other tools (read-only), so hermes does not refresh them; \
                 import one with hermes auth add {key} --type oauth --import claude-code|hermes-agent",
                key = pool.key
            )));
        }
        let oauth_capable = pool.provider.is_some_and(providers::supports_oauth);
        let why = if oauth_capable {
            format!("no OAuth login in {key} (log in with: hermes auth add {key} --type oauth)", key = pool.key)
        } else {
            format!("{} takes API keys only, and API keys do not expire", pool.key)
        };
        out.err(&format!("Nothing to refresh: {why}"));
        return Ok(());
    }
    let results = oauth::block_on(async {
        let mut results = Vec::new();
        for (_, id, _) in &targets {
            results.push(oauth::refresh_entry(home, &pool, id, true).await);
        }
        results
    })?;
    let now = home.now();
    let mut failed = 0;
    for ((index, id, label), result) in targets.iter().zip(results) {
        let what = format!("{} credential #{index} (id {id}) \"{label}\"", pool.key);
        let expiry = |f: &oauth::Fresh| match f.expires_at {
            Some(t) => format!("; expires {} (in {})", time::iso_z(t), time::format_wait(t - now)),
            None => String::new(),
        };
        match result? {
            RefreshResult::Refreshed(f) => out.err(&format!("Refreshed {what}{}", expiry(&f))),
            RefreshResult::Adopted(f) => {
                out.err(&format!("{what} was just refreshed by another process; using its tokens{}", expiry(&f)))
            }
            RefreshResult::Terminal { reason, message } => {
                failed += 1;
                let m = message.map(|m| format!(": {m}")).unwrap_or_default();
                out.err(&format!(
                    "{what} is dead ({reason}{m}); log in again: hermes auth add {} --type oauth",
                    pool.key
                ));
            }
            RefreshResult::Transient { reason } => {
                failed += 1;
                out.err(&format!(
                    "could not refresh {what}: {reason}; it stays usable until it expires and hermes will try again"
                ));
            }
            RefreshResult::NotRefreshable { reason } => {
                failed += 1;
                out.err(&format!("{what} is not refreshed by hermes: {reason}"));
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Error::Failed(format!("{n} of {} refreshes failed", targets.len()))),
    }
}
