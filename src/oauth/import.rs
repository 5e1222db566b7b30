//! Explicit imports (docs/design.md#owned-and-borrowed, docs/design.md#seeding): `hermes auth add PROVIDER --import claude-code|hermes-agent`
//! copies another tool's login into an owned entry that hermes refreshes from then on.
//!
//! Without an import, those tokens are used read-only and never refreshed, because refreshing a
//! single-use refresh token behind the other tool's back logs that tool out. An import is the
//! user saying that hermes may do so; it warns that the other tool will need to log in again.
//! No import does network I/O.
//!
//! * `claude-code` (anthropic): `~/.claude/.credentials.json` → `manual:claude_code_import`
//!   with the file's tokens and `expiresAt`; `claude_code` is suppressed.
//! * `hermes-agent`: `providers.nous` → nous `manual:device_code`; `providers.openai-codex` →
//!   openai-codex `manual:device_code`; an anthropic `hermes_pkce` row → `manual:hermes_pkce`.
//!   The `device_code` / `hermes_pkce` source is suppressed; `providers.*` is left as it is.

use super::{save, ImportFrom, Login, LoginUi, OAuthError};
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::model::entry;
use crate::model::jwt;
use crate::ops::Added;
use crate::pool::candidate::{CLAUDE_CODE, CODEX_BASE_URL, DEVICE_CODE};
use crate::secret::Secret;
use serde_json::{Map, Value};

/// The warning an import of Claude Code's login prints (docs/design.md#seeding).
pub const CLAUDE_CODE_WARNING: &str =
    "hermes now owns this refresh token; Claude Code will need /login after hermes refreshes it";
/// The warning an import of hermes-agent's login prints.
pub const HERMES_AGENT_WARNING: &str =
    "hermes now owns this refresh token; hermes-agent will need to log in again after hermes refreshes it";

/// Source of an imported Claude Code login.
pub const CLAUDE_IMPORT_SOURCE: &str = "manual:claude_code_import";

/// Import `tool`'s login into `pool` in one transaction.
pub fn run(home: &Home, pool: &PoolRef, tool: ImportFrom, label: Option<&str>, ui: &mut dyn LoginUi) -> Result<Added> {
    let (login, takeover, warning) = match (tool, pool.key.as_str()) {
        (ImportFrom::ClaudeCode, "anthropic") => (claude_code(home)?, CLAUDE_CODE, CLAUDE_CODE_WARNING),
        (ImportFrom::ClaudeCode, other) => {
            return Err(Error::Usage(format!("--import claude-code is for anthropic, not {other}")));
        }
        (ImportFrom::HermesAgent, "anthropic") => (hermes_pkce(home)?, "hermes_pkce", HERMES_AGENT_WARNING),
        (ImportFrom::HermesAgent, "nous" | "openai-codex") => {
            (singleton(home, pool)?, DEVICE_CODE, HERMES_AGENT_WARNING)
        }
        (ImportFrom::HermesAgent, other) => {
            return Err(Error::Usage(format!(
                "--import hermes-agent is for anthropic, nous and openai-codex, not {other}"
            )));
        }
    };
    let added = save::save_login(home, pool, &login, label, Some(takeover))?;
    ui.say(&format!("warning: {warning}"));
    Ok(added)
}

fn claude_code(home: &Home) -> Result<Login> {
    let creds = home.sources.claude().ok_or_else(|| {
        OAuthError::NothingToImport(
            "no Claude Code login found in ~/.claude/.credentials.json; log in with Claude Code first, or use: \
             hermes auth add anthropic --type oauth"
                .into(),
        )
    })?;
    let refresh = creds.refresh_token.clone().filter(|r| !r.is_empty()).ok_or_else(|| {
        OAuthError::NothingToImport("the Claude Code login has no refresh token; nothing hermes could own".into())
    })?;
    let mut fields = Vec::new();
    if let Some(ms) = creds.expires_at_ms {
        fields.push((entry::EXPIRES_AT_MS, Value::from(ms)));
    }
    Ok(Login {
        source: CLAUDE_IMPORT_SOURCE,
        access_token: creds.access_token.clone(),
        refresh_token: refresh,
        base_url: anthropic_base(home),
        fields,
        label_hint: None,
        identity: None,
    })
}

fn anthropic_base(home: &Home) -> Option<String> {
    crate::providers::get("anthropic").and_then(|p| home.sources.base_url(p, None))
}

fn str_of(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The first anthropic `hermes_pkce` row (by priority) that holds both tokens.
fn hermes_pkce(home: &Home) -> Result<Login> {
    let doc = home.state().read()?;
    let view = home.view(&doc, "anthropic", home.now());
    let row = view
        .entries
        .iter()
        .find(|v| v.entry.source == "hermes_pkce" && v.entry.refresh_token.as_ref().is_some_and(|r| !r.is_empty()))
        .ok_or_else(|| {
            OAuthError::NothingToImport(
                "hermes-agent has no anthropic login (hermes_pkce) with a refresh token in auth.json".into(),
            )
        })?;
    let access = row.entry.access_token.clone().unwrap_or_else(|| Secret::new(""));
    let mut fields = Vec::new();
    if let Some(ms) = row.entry.expires_at_ms {
        fields.push((entry::EXPIRES_AT_MS, Value::from(ms)));
    }
    let claims = jwt::claims(access.expose());
    Ok(Login {
        source: super::anthropic::SOURCE,
        refresh_token: row.entry.refresh_token.clone().unwrap_or_else(|| Secret::new("")),
        access_token: access,
        base_url: row.entry.base_url.clone().filter(|u| !u.is_empty()).or_else(|| anthropic_base(home)),
        fields,
        label_hint: Some(row.entry.label.clone()).filter(|l| l != "hermes_pkce").or_else(|| jwt::label(&claims)),
        identity: jwt::account_email(&claims),
    })
}

/// `providers.nous` or `providers.openai-codex` (docs/design.md#singleton-provider-state) as an owned `manual:device_code` login.
fn singleton(home: &Home, pool: &PoolRef) -> Result<Login> {
    let doc = home.state().read()?;
    let key = pool.key.as_str();
    let missing =
        || OAuthError::NothingToImport(format!("hermes-agent has no {key} login in auth.json (providers.{key})"));
    let st = doc.provider_state(key).ok_or_else(missing)?;
    let (access, refresh, mut fields, base_url) = if key == "nous" {
        let access = str_of(st, "access_token").ok_or_else(missing)?;
        let refresh = str_of(st, "refresh_token").ok_or_else(missing)?;
        let mut fields: Vec<(&'static str, Value)> = Vec::new();
        for k in [
            entry::EXPIRES_AT,
            entry::INFERENCE_BASE_URL,
            entry::AGENT_KEY,
            entry::AGENT_KEY_EXPIRES_AT,
            "portal_base_url",
            "client_id",
            entry::SCOPE,
            "token_type",
            "obtained_at",
            "expires_in",
            "tls",
        ] {
            if let Some(v) = st.get(k).filter(|v| !v.is_null()) {
                fields.push((k, v.clone()));
            }
        }
        let base = str_of(st, "inference_base_url")
            .filter(|u| home.sources.inference_url_ok(u))
            .map(|u| u.trim_end_matches('/').to_string())
            .or_else(|| home.default_base_url(pool, None));
        (access, refresh, fields, base)
    } else {
        let tokens = st.get("tokens").and_then(Value::as_object).ok_or_else(missing)?;
        let access = str_of(tokens, "access_token").ok_or_else(missing)?;
        let refresh = str_of(tokens, "refresh_token").ok_or_else(missing)?;
        let mut fields: Vec<(&'static str, Value)> = Vec::new();
        if let Some(v) = st.get(entry::LAST_REFRESH).filter(|v| v.is_string()) {
            fields.push((entry::LAST_REFRESH, v.clone()));
        }
        if let Some(v) = tokens.get("id_token").filter(|v| v.is_string()) {
            fields.push(("id_token", v.clone()));
        }
        let base = home.default_base_url(pool, None).unwrap_or_else(|| CODEX_BASE_URL.to_string());
        (access, refresh, fields, Some(base))
    };
    fields.retain(|(k, _)| *k != entry::ACCESS_TOKEN && *k != entry::REFRESH_TOKEN);
    let access_claims = jwt::claims(&access);
    let id_claims = fields
        .iter()
        .find(|(k, _)| *k == "id_token")
        .and_then(|(_, v)| v.as_str())
        .map(jwt::claims)
        .unwrap_or_default();
    Ok(Login {
        source: if key == "nous" { super::nous::SOURCE } else { super::codex::SOURCE },
        label_hint: str_of(st, "label").or_else(|| jwt::label(&id_claims)).or_else(|| jwt::label(&access_claims)),
        identity: jwt::account_email(&id_claims).or_else(|| jwt::account_email(&access_claims)),
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        base_url,
        fields,
    })
}
