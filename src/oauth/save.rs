//! Storing a login or an import: one store transaction (docs/design.md#command-line).
//!
//! * The pool's suppressions are cleared, as every `auth add` does (docs/design.md#suppression), and re-set for the
//!   source an import takes over.
//! * A login for an account already in the pool (same e-mail in the token's identity claims,
//!   case-insensitive, or the same refresh token) replaces that owned entry's tokens and clears
//!   its status, which also revives a dead entry (docs/design.md#account-matching). Otherwise a new owned entry is
//!   appended, labelled `--label`, else from the claims, else `<provider>-oauth-N`, always unique
//!   in the pool (docs/design.md#ids-labels-priorities).
//! * `active_provider` is set only when it is null.
//! * `providers.*` is never written (docs/design.md#owned-and-borrowed).

use super::Login;
use crate::error::Result;
use crate::home::{Home, PoolRef};
use crate::model::entry::{self, AuthType, NewEntry};
use crate::model::jwt;
use crate::ops::{self, Added};
use crate::pool::view::{is_refreshable_source, PoolView, ViewEntry};
use serde_json::{Map, Value};

/// The identity of a stored entry: the e-mail in its access token's claims, else in its
/// `id_token`'s.
fn entry_identity(v: &ViewEntry) -> Option<String> {
    if let Some(e) = v.map.get(ACCOUNT_EMAIL).and_then(Value::as_str).filter(|e| !e.is_empty()) {
        return Some(e.to_lowercase());
    }
    let of = |k: &str| v.map.get(k).and_then(Value::as_str).and_then(|t| jwt::account_email(&jwt::claims(t)));
    of(entry::ACCESS_TOKEN).or_else(|| of("id_token"))
}

/// The login's account e-mail, stored on the entry: Anthropic's tokens are opaque, so without it
/// a relabelled entry could never be matched by a later login of the same account (docs/design.md#account-matching).
const ACCOUNT_EMAIL: &str = "account_email";

/// Whether stored entry `v` holds the same account as `login` (docs/design.md#account-matching).
fn same_account(v: &ViewEntry, login: &Login) -> bool {
    if v.entry.auth_type != AuthType::OAuth || !v.owned || !is_refreshable_source(&v.entry.source) {
        return false;
    }
    if v.entry.refresh_token.as_ref() == Some(&login.refresh_token) {
        return true;
    }
    let Some(want) = login.identity.as_deref() else { return false };
    match entry_identity(v) {
        Some(have) => have.eq_ignore_ascii_case(want),
        // Opaque tokens (Anthropic) carry no claims: the default label is the account's e-mail.
        None => v.entry.label.eq_ignore_ascii_case(want),
    }
}

/// Refuse `label` if another entry than `except` uses it (docs/design.md#ids-labels-priorities).
fn check_label(view: &PoolView, label: &str, except: Option<usize>) -> Result<()> {
    match except {
        None => ops::check_label_free(view, label),
        Some(i) => {
            let mut others = view.clone();
            others.entries.remove(i);
            ops::check_label_free(&others, label)
        }
    }
}

/// Put a login's tokens and fields into an entry object.
fn put_tokens(m: &mut Map<String, Value>, login: &Login) {
    entry::set(m, entry::ACCESS_TOKEN, login.access_token.expose().into());
    entry::set(m, entry::REFRESH_TOKEN, login.refresh_token.expose().into());
    if let Some(u) = &login.base_url {
        entry::set(m, entry::BASE_URL, u.clone().into());
    }
    for (k, v) in &login.fields {
        entry::set(m, k, v.clone());
    }
    if let Some(id) = &login.identity {
        entry::set(m, ACCOUNT_EMAIL, id.clone().into());
    }
}

/// Store `login` in `pool` (see the module docs). `takeover`: the read-only source an import
/// copied (`claude_code`, `device_code`, `hermes_pkce`); its rows leave the pool and it is
/// suppressed, so the pool holds one entry for that grant.
pub fn save_login(
    home: &Home,
    pool: &PoolRef,
    login: &Login,
    label: Option<&str>,
    takeover: Option<&str>,
) -> Result<Added> {
    let now = home.now();
    let key = pool.key.as_str();
    let added = home.state().update(now, |doc| -> Result<Added> {
        let mut reenabled = doc.suppressed(key);
        doc.set_suppressed(key, Vec::new());
        let mut view = home.view(doc, key, now);
        if let Some(src) = takeover {
            // Only another tool's rows carry these sources; hermes's own are `manual:*`.
            view.entries.retain(|v| v.entry.source != src);
            reenabled.retain(|s| s != src);
        }
        let (id, label, replaced) = match view.entries.iter().position(|v| same_account(v, login)) {
            Some(i) => {
                if let Some(l) = label {
                    check_label(&view, l, Some(i))?;
                }
                let v = &mut view.entries[i];
                put_tokens(&mut v.map, login);
                entry::set(&mut v.map, entry::SOURCE, login.source.into());
                if let Some(l) = label {
                    entry::set(&mut v.map, entry::LABEL, l.into());
                }
                entry::clear_status(&mut v.map);
                v.secret = Some(login.access_token.clone());
                v.reparse(key, now);
                let out = (v.entry.id.clone(), v.entry.label.clone(), true);
                view.write(doc);
                out
            }
            None => {
                let label = match label {
                    Some(l) => {
                        check_label(&view, l, None)?;
                        l.to_string()
                    }
                    None => login
                        .label_hint
                        .clone()
                        .filter(|h| check_label(&view, h, None).is_ok())
                        .unwrap_or_else(|| ops::default_label(&view, &format!("{key}-oauth"))),
                };
                let id = entry::random_id(&|id| view.entries.iter().any(|v| v.entry.id == id));
                let priority = view.entries.iter().map(|v| v.entry.priority).max().map_or(0, |p| p.saturating_add(1));
                let mut map = NewEntry {
                    id: &id,
                    label: &label,
                    auth_type: AuthType::OAuth,
                    priority,
                    source: login.source,
                    access_token: Some(&login.access_token),
                    refresh_token: Some(&login.refresh_token),
                    base_url: login.base_url.as_deref(),
                }
                .into_map();
                // docs/design.md#entries order: the provider fields go before request_count, which closes the entry.
                let count = map.shift_remove(entry::REQUEST_COUNT).unwrap_or_else(|| 0.into());
                for (k, v) in &login.fields {
                    entry::set(&mut map, k, v.clone());
                }
                if let Some(id) = &login.identity {
                    entry::set(&mut map, ACCOUNT_EMAIL, id.clone().into());
                }
                map.insert(entry::REQUEST_COUNT.into(), count);
                view.write(doc);
                doc.pool_mut(key).push(Value::Object(map));
                (id, label, false)
            }
        };
        if let Some(src) = takeover {
            let mut list = doc.suppressed(key);
            if !list.iter().any(|s| s == src) {
                list.push(src.to_string());
            }
            doc.set_suppressed(key, list);
        }
        if doc.active_provider().is_none() {
            doc.set_active_provider(key);
        }
        let after = home.view(doc, key, now);
        let index = after.position_of(&id).map_or(after.entries.len(), |i| i + 1);
        Ok(Added { key: key.to_string(), id, label, index, reenabled: reenabled.clone(), replaced, restored: false })
    })?;
    home.record(vec![crate::ops::added_event(&added, "oauth", now)]);
    Ok(added)
}
