//! The single-flight refresh (docs/design.md#oauth-refresh) and refresh-on-pick (docs/design.md#strategies).
//!
//! A refresh spends the refresh token R the entry holds, and refresh tokens are single-use: a
//! second POST with R logs the user out. So, across processes:
//!
//! 1. take the grant lock `locks/refresh-<pool>-<hh>.lock` (hh = first 2 hex digits of
//!    SHA-256(R)), polled every 50 ms for at most 30 s; a timeout is a transient failure;
//! 2. read the store afresh (a lock-free snapshot: writes are atomic renames, so it is exactly
//!    what a read under the store lock would see, without making `list` or a pick wait);
//! 3. **adopt** without a POST when the stored refresh token is no longer R (another process
//!    rotated it) or, unless forced, when the stored access token is valid beyond the skew;
//! 4. otherwise POST once, holding the grant lock but never the store lock;
//! 5. write the new tokens back in one store transaction, then release the grant lock.
//!
//! Terminal answers (`invalid_grant`, `refresh_token_reused`, revoked …) mark the entry dead
//! through [`ops::mark`]; every other failure is transient and marks nothing (docs/design.md#oauth-refresh): the
//! entry keeps serving its access token until it expires and the next pick tries again.

use super::tokens::{Failure, NewTokens};
use super::{anthropic, blocking, codex, nous};
use crate::context::Epoch;
use crate::error::{Error, OAuthKind, Result};
use crate::home::{Home, PoolRef};
use crate::model::entry::{self, AuthType, LastStatus};
use crate::ops::{self, Pick};
use crate::pool::cooldown::Outcome;
use crate::pool::expiry::access_expiry;
use crate::pool::status::Status;
use crate::pool::view::ViewEntry;
use crate::secret::Secret;
use crate::store::lock::{POLL_INTERVAL, REFRESH_LOCK_TIMEOUT};
use crate::store::state::GrantGuard;
use crate::text::one_line;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The tokens an entry holds after a successful refresh or adoption.
#[derive(Debug, Clone)]
pub struct Fresh {
    /// The access token to use now.
    pub secret: Secret,
    /// When it expires, if known.
    pub expires_at: Option<Epoch>,
    /// The entry's inference base URL after the refresh (Nous may move it).
    pub base_url: Option<String>,
}

/// What [`refresh_entry`] did.
#[derive(Debug, Clone)]
pub enum RefreshResult {
    /// This process POSTed the refresh and stored the new tokens.
    Refreshed(Fresh),
    /// No POST: another process had already rotated the tokens, or (unforced) the stored access
    /// token was still valid beyond the skew. These are the tokens in the store.
    Adopted(Fresh),
    /// The grant is gone for good; the entry is now marked dead with this reason.
    Terminal { reason: String, message: Option<String> },
    /// The refresh failed for now (network, 5xx, 429, grant-lock timeout); nothing was marked.
    Transient { reason: String },
    /// hermes does not refresh this entry: an API key, another tool's tokens (docs/design.md#owned-and-borrowed), a dead
    /// entry, or no refresh token. The reason says which, with the fix.
    NotRefreshable { reason: String },
}

/// The 2-hex-digit grant hash of a refresh token (docs/design.md#oauth-refresh).
pub fn grant_hash(refresh_token: &Secret) -> String {
    hex::encode(Sha256::digest(refresh_token.expose().as_bytes()))[..2].to_string()
}

/// Why hermes will not refresh this entry, or `None` when it will.
fn not_refreshable(pool: &PoolRef, v: &ViewEntry) -> Option<String> {
    let key = &pool.key;
    if v.entry.auth_type != AuthType::OAuth {
        return Some("it is an API key; there is nothing to refresh".into());
    }
    if v.read_only {
        let fix = if v.entry.source == crate::pool::candidate::CLAUDE_CODE {
            format!("run Claude Code, or import it: hermes auth add {key} --type oauth --import claude-code")
        } else {
            format!("import it: hermes auth add {key} --type oauth --import hermes-agent")
        };
        return Some(format!("its tokens belong to another tool (source {}); {fix}", v.entry.source));
    }
    if !v.refreshable {
        return Some(format!(
            "hermes does not refresh source {}; log in again: hermes auth add {key} --type oauth",
            v.entry.source
        ));
    }
    if let Status::Dead { reason, .. } = &v.status {
        return Some(format!(
            "it is dead ({}); log in again: hermes auth add {key} --type oauth",
            reason.as_deref().unwrap_or("dead")
        ));
    }
    if v.entry.refresh_token.as_ref().is_none_or(Secret::is_empty) {
        return Some(format!("it has no refresh token; log in again: hermes auth add {key} --type oauth"));
    }
    None
}

fn fresh_of(pool: &PoolRef, v: &ViewEntry) -> Option<Fresh> {
    let secret = v.secret.clone()?;
    Some(Fresh {
        expires_at: access_expiry(&pool.key, &v.entry, Some(&secret)).at(),
        base_url: v.entry.base_url.clone().filter(|u| !u.is_empty()),
        secret,
    })
}

fn gone(pool: &PoolRef, id: &str) -> Error {
    Error::Gone { pool: pool.key.clone(), id: id.to_string() }
}

/// The grant lock, released through [`blocking`] however it is dropped: on a fleet's state with
/// shared logins the release is a round trip to the server, which must not hold up the other
/// tasks of the async worker (the gateway runs one by default).
struct HeldGrant(Option<GrantGuard>);

impl Drop for HeldGrant {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            blocking(move || drop(g));
        }
    }
}

/// Wait for the grant lock, polling every 50 ms for at most 30 s. `None` on timeout.
///
/// The wait is for another process, so it runs on the real clock (like the store lock), not
/// through the injected sleeper: under `HERMES_TEST_NO_SLEEP` that would spin.
async fn grant_lock(home: &Home, pool: &PoolRef, refresh_token: &Secret) -> Result<Option<HeldGrant>> {
    let grant = grant_hash(refresh_token);
    let start = Instant::now();
    loop {
        // On a fleet's state with shared logins this is a round trip to its server.
        if let Some(g) = blocking(|| home.state().try_lock_grant(&pool.key, &grant))? {
            return Ok(Some(HeldGrant(Some(g))));
        }
        if start.elapsed() >= REFRESH_LOCK_TIMEOUT {
            return Ok(None);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Refresh entry `id` of `pool` once across processes (docs/design.md#oauth-refresh).
///
/// With `force` (the user's `auth refresh`, the runtime's 401 handler) a POST is made even when
/// the stored access token looks valid, unless another process has already rotated the grant
/// since this call read it. Errors are store or lock I/O problems and a vanished entry; every
/// refresh outcome, failures included, is a [`RefreshResult`].
pub async fn refresh_entry(home: &Home, pool: &PoolRef, id: &str, force: bool) -> Result<RefreshResult> {
    let find = |id: &str| -> Result<ViewEntry> {
        let doc = blocking(|| home.state().read())?;
        let view = home.view(&doc, &pool.key, home.now());
        view.entries.into_iter().find(|v| v.entry.id == id).ok_or_else(|| gone(pool, id))
    };
    let held = find(id)?;
    if let Some(reason) = not_refreshable(pool, &held) {
        return Ok(RefreshResult::NotRefreshable { reason });
    }
    let Some(r) = held.entry.refresh_token.clone() else {
        return Ok(RefreshResult::NotRefreshable { reason: "it has no refresh token".into() });
    };
    let Some(guard) = grant_lock(home, pool, &r).await? else {
        return Ok(RefreshResult::Transient {
            reason: format!("timed out after {}s waiting for the refresh lock", REFRESH_LOCK_TIMEOUT.as_secs()),
        });
    };
    let cur = find(id)?;
    if let Status::Dead { reason, .. } = &cur.status {
        // Another process found the grant dead while this one waited for the lock.
        return Ok(RefreshResult::Terminal {
            reason: reason.clone().unwrap_or_else(|| "dead".into()),
            message: cur.entry.last_error_message.clone(),
        });
    }
    let now = home.now();
    let rotated = cur.entry.refresh_token.as_ref() != Some(&r);
    // The status also covers a Nous token that is not a usable inference key (docs/design.md#oauth-flows).
    let still_valid = !access_expiry(&pool.key, &cur.entry, cur.secret.as_ref()).due(now)
        && !matches!(cur.status, Status::NeedsRefresh { .. });
    if rotated || (!force && still_valid) {
        drop(guard);
        return Ok(fresh_of(pool, &cur).map_or_else(
            || RefreshResult::Transient { reason: "the stored entry has no access token".into() },
            RefreshResult::Adopted,
        ));
    }
    let bound_fp = cur.fingerprint();
    let outcome = match pool.key.as_str() {
        "anthropic" => anthropic::refresh(home, &r).await,
        "openai-codex" => codex::refresh(home, &r).await,
        "nous" => {
            let stored_portal = cur.map.get("portal_base_url").and_then(Value::as_str);
            nous::refresh(home, stored_portal, &r).await
        }
        other => {
            return Ok(RefreshResult::NotRefreshable { reason: format!("hermes has no OAuth refresh for {other}") })
        }
    };
    let result = match outcome {
        Ok(new) => match save_rotated(home, pool, id, &r, &new).await? {
            Some(v) => fresh_of(pool, &v).map_or_else(
                || RefreshResult::Transient { reason: "the refreshed entry has no access token".into() },
                RefreshResult::Refreshed,
            ),
            // Removed while the POST was in flight: nothing to write the tokens into.
            None => return Err(gone(pool, id)),
        },
        Err(Failure::Terminal { reason, message }) => {
            let outcome = Outcome::RefreshTerminal { reason: reason.clone(), message: message.clone() };
            blocking(|| ops::mark(home, pool, id, bound_fp.as_deref(), &outcome))?;
            RefreshResult::Terminal { reason, message }
        }
        Err(Failure::Transient(reason)) => RefreshResult::Transient { reason },
    };
    drop(guard);
    match &result {
        RefreshResult::Refreshed(_) => {
            home.record(vec![ops::event("refreshed", &pool.key, id, &cur.entry.label, home.now())]);
        }
        RefreshResult::Terminal { reason, .. } => {
            let mut e = ops::event("refresh_failed", &pool.key, id, &cur.entry.label, home.now());
            e["reason"] = reason.clone().into();
            home.record(vec![e]);
        }
        _ => {}
    }
    Ok(result)
}

/// How many more times a failed write-back is tried while the grant lock is still held.
const SAVE_RETRIES: u32 = 3;

/// Write the new tokens back, trying again on a busy or failing store: the provider has already
/// rotated the grant, so giving up here would leave the entry holding a spent refresh token
/// whose next use revokes the login. If it still fails, the error says the login is lost.
async fn save_rotated(
    home: &Home,
    pool: &PoolRef,
    id: &str,
    spent: &Secret,
    new: &NewTokens,
) -> Result<Option<ViewEntry>> {
    let mut tries = 0;
    loop {
        match blocking(|| write_back(home, pool, id, spent, new)) {
            Ok(written) => return Ok(written),
            Err(Error::Store(crate::store::StoreError::LockTimeout { .. } | crate::store::StoreError::Io { .. }))
                if tries < SAVE_RETRIES =>
            {
                tries += 1;
                home.ctx().sleeper.sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(Error::OAuth {
                    kind: OAuthKind::LoginLost,
                    provider: Some(pool.key.clone()),
                    message: format!(
                        "{}: the refresh succeeded but the new tokens could not be saved ({e}); the login is lost",
                        pool.key
                    ),
                })
            }
        }
    }
}

/// Step 5: write the new tokens into the entry in one transaction on a fresh read. Returns the
/// entry as written, or `None` when it was removed meanwhile.
///
/// The tokens are written even if the stored refresh token changed during the POST (only a
/// process outside the grant lock, such as hermes-agent, can do that): the server accepted R
/// from us, so ours are the grant's newest tokens.
fn write_back(home: &Home, pool: &PoolRef, id: &str, spent: &Secret, new: &NewTokens) -> Result<Option<ViewEntry>> {
    let now = home.now();
    home.state().update(now, |doc| {
        let mut view = home.view(doc, &pool.key, now);
        let Some(i) = view.position_of(id) else { return Ok(None) };
        let v = &mut view.entries[i];
        entry::set(&mut v.map, entry::ACCESS_TOKEN, new.access.expose().into());
        let refresh = new.refresh.as_ref().unwrap_or(spent);
        entry::set(&mut v.map, entry::REFRESH_TOKEN, refresh.expose().into());
        for (k, val) in &new.fields {
            entry::set(&mut v.map, k, val.clone());
        }
        if let Some(u) = &new.base_url {
            entry::set(&mut v.map, entry::BASE_URL, u.clone().into());
        }
        if came_from_auth_error(&v.entry) {
            entry::clear_status(&mut v.map);
        }
        v.secret = Some(new.access.clone());
        v.reparse(&pool.key, now);
        let written = v.clone();
        view.write(doc);
        Ok(Some(written))
    })
}

/// A bench that a successful refresh lifts: a 401, or hermes-agent's `refresh_failed`.
fn came_from_auth_error(e: &entry::Entry) -> bool {
    e.last_status == Some(LastStatus::Exhausted)
        && (e.last_error_code == Some(401)
            || e.last_error_reason.as_deref().is_some_and(|r| r.eq_ignore_ascii_case("refresh_failed")))
}

/// One pick (docs/design.md#strategies) whose entry is ready to use: when the chosen entry needs a refresh, run the
/// single-flight refresh outside any store lock. A terminal failure marks it dead and picks
/// again without it; a transient one keeps its current token while that has not expired, else
/// picks again without it (unmarked). Each entry is tried at most once per call.
///
/// What happened to a refresh is recorded with [`Home::warn`] for the front end to print.
pub async fn pick_ready(home: &Home, pool: &PoolRef) -> Result<Pick> {
    let mut exclude: Vec<String> = Vec::new();
    loop {
        let p = blocking(|| ops::pick(home, pool, &exclude))?;
        if !p.needs_refresh {
            return Ok(p);
        }
        let what = format!("{} credential {} \"{}\"", p.key, one_line(&p.id), one_line(&p.label));
        match refresh_entry(home, pool, &p.id, false).await? {
            RefreshResult::Refreshed(f) | RefreshResult::Adopted(f) => {
                return Ok(Pick {
                    fingerprint: f.secret.fingerprint(),
                    secret: f.secret,
                    base_url: f.base_url.or(p.base_url),
                    needs_refresh: false,
                    expired: false,
                    ..p
                });
            }
            RefreshResult::Terminal { reason, .. } => {
                home.warn(format!(
                    "warning: {what} is dead ({reason}); log in again: hermes auth add {} --type oauth",
                    p.key
                ));
            }
            RefreshResult::Transient { reason } | RefreshResult::NotRefreshable { reason } => {
                if !p.expired {
                    home.warn(format!(
                        "warning: could not refresh {what} ({reason}); using its current token until it expires"
                    ));
                    return Ok(p);
                }
                home.warn(format!("warning: could not refresh {what} ({reason}); its token has expired, skipping it"));
            }
        }
        exclude.push(p.id);
    }
}

/// Whether an entry's token is due for refresh at `now` (for `auth status`).
pub fn due(pool_key: &str, v: &ViewEntry, now: Epoch) -> bool {
    matches!(v.status, Status::NeedsRefresh { .. }) || access_expiry(pool_key, &v.entry, v.secret.as_ref()).due(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_hash_is_two_hex_digits() {
        let h = grant_hash(&Secret::new("rt-1"));
        assert_eq!(h.len(), 2);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(h, grant_hash(&Secret::new("rt-1")));
    }

    #[test]
    fn auth_errors_are_lifted() {
        let e = |v: serde_json::Value| entry::Entry::parse(v.as_object().unwrap()).unwrap();
        assert!(came_from_auth_error(&e(
            serde_json::json!({"id": "a", "last_status": "exhausted", "last_error_code": 401})
        )));
        assert!(came_from_auth_error(&e(
            serde_json::json!({"id": "a", "last_status": "exhausted", "last_error_reason": "refresh_failed"})
        )));
        assert!(!came_from_auth_error(&e(
            serde_json::json!({"id": "a", "last_status": "exhausted", "last_error_code": 429})
        )));
        assert!(!came_from_auth_error(&e(
            serde_json::json!({"id": "a", "last_status": "dead", "last_error_code": 401})
        )));
    }
}
