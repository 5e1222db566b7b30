//! Seeding (docs/design.md#seeding): candidates derived from `.env`, the environment, config.yaml, `providers.*`
//! and the Claude Code file. This is the I/O half of seeding: it reads variables and files and
//! returns [`Candidate`]s; the pool view (pure) decides what to show and a mutation decides what
//! to store.

use crate::config::dotenv::DotEnv;
use crate::config::Config;
use crate::context::Context;
use crate::model::entry::{self, AuthType};
use crate::model::jwt;
use crate::model::AuthDoc;
use crate::pool::candidate::{
    is_placeholder, key_shape_problem, Candidate, CLAUDE_CODE, CODEX_BASE_URL, DEVICE_CODE, MODEL_CONFIG,
};
use crate::providers::{self, AuthKind, Resolved};
use crate::secret::Secret;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Claude Code's login, read from `~/.claude/.credentials.json` (never written).
#[derive(Debug, Clone)]
pub struct ClaudeCreds {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at_ms: Option<i64>,
}

/// Everything seeding reads: variables (`.env` over the process), config.yaml, the Claude file.
#[derive(Debug)]
pub struct Sources {
    pub ctx: Context,
    pub dotenv: DotEnv,
    pub config: Config,
    claude_path: Option<PathBuf>,
    claude: OnceLock<Option<ClaudeCreds>>,
}

impl Sources {
    pub fn new(ctx: Context, dotenv: DotEnv, config: Config) -> Sources {
        let claude_path = ctx.user_home().map(|h| h.join(".claude").join(".credentials.json"));
        Sources { ctx, dotenv, config, claude_path, claude: OnceLock::new() }
    }

    /// Variable lookup: the `.env` value if not empty, else the process value if not empty.
    pub fn var(&self, name: &str) -> Option<String> {
        self.dotenv.lookup(&self.ctx, name)
    }

    /// A variable holding a usable value, trimmed: not a placeholder, and shaped like a key
    /// ([`key_shape_problem`]; [`Sources::key_var_warnings`] says which were skipped).
    pub fn usable_var(&self, name: &str) -> Option<String> {
        self.var(name).map(|v| v.trim().to_string()).filter(|v| !is_placeholder(v) && key_shape_problem(v).is_none())
    }

    /// One warning per provider key variable whose value cannot be a key, naming where it was
    /// set (never the value).
    pub fn key_var_warnings(&self, dotenv_path: &std::path::Path) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for var in providers::all().iter().flat_map(|p| p.env.iter().copied()) {
            if !seen.insert(var) {
                continue;
            }
            let Some(value) = self.var(var) else { continue };
            let Some(problem) = key_shape_problem(&value) else { continue };
            let from_file = self.dotenv.vars.get(var).is_some_and(|v| !v.is_empty());
            let place = if from_file { dotenv_path.display().to_string() } else { "the environment".to_string() };
            out.push(format!(
                "warning: {var} in {place} is not used: its value {problem}; a key is one word without quotes"
            ));
        }
        out
    }

    /// The Claude Code login, read at most once per process.
    pub fn claude(&self) -> Option<&ClaudeCreds> {
        self.claude.get_or_init(|| self.claude_path.as_deref().and_then(read_claude_file)).as_ref()
    }

    pub fn customs(&self) -> Vec<providers::CustomRef> {
        self.config.custom_refs()
    }

    /// The provider's inference base URL for a given key.
    pub fn base_url(&self, p: &providers::Provider, key: Option<&str>) -> Option<String> {
        providers::base_url(p, &|v| self.var(v), key)
    }

    /// Whether anthropic is "in use" (docs/design.md#seeding).
    fn anthropic_in_use(&self, doc: &AuthDoc) -> bool {
        let customs = self.customs();
        let names_anthropic =
            |p: &str| matches!(providers::resolve(p, &customs), Ok(Resolved::Registry(pr)) if pr.id == "anthropic");
        self.config.model.provider.as_deref().is_some_and(names_anthropic)
            || self
                .config
                .fallback_providers
                .iter()
                .flatten()
                .any(|f| f.provider.as_deref().is_some_and(names_anthropic))
            || doc.active_provider() == Some("anthropic")
            || doc.entries("anthropic").iter().any(|e| e.source != CLAUDE_CODE)
    }

    /// Every candidate for a pool, suppressed or not, in seeding order.
    pub fn candidates(&self, doc: &AuthDoc, pool_key: &str) -> Vec<Candidate> {
        let mut out = Vec::new();
        if let Some(slug) = pool_key.strip_prefix("custom:") {
            self.custom_candidates(slug, &mut out);
            return out;
        }
        let Some(p) = providers::get(pool_key) else { return out };
        match p.id {
            "nous" => out.extend(self.nous_candidate(doc)),
            "openai-codex" => out.extend(self.codex_candidate(doc)),
            _ => {}
        }
        if p.auth == AuthKind::OAuth {
            return out;
        }
        for var in p.env {
            if p.id == "anthropic" && *var == "ANTHROPIC_API_KEY" {
                out.extend(self.claude_candidate(doc));
            }
            let Some(value) = self.usable_var(var) else { continue };
            let auth_type =
                if p.id == "anthropic" && value.starts_with("sk-ant-oat") { AuthType::OAuth } else { AuthType::ApiKey };
            out.push(Candidate {
                source: format!("env:{var}"),
                label: var.to_string(),
                auth_type,
                base_url: self.base_url(p, Some(&value)),
                secret: Secret::new(value),
                extra: Map::new(),
            });
        }
        out
    }

    fn custom_candidates(&self, slug: &str, out: &mut Vec<Candidate>) {
        let mut first_for_slug = true;
        for c in &self.config.custom_providers {
            if providers::slug(&c.name) != slug {
                continue;
            }
            // With two names on one slug the first wins (docs/design.md#custom-endpoints).
            if !first_for_slug {
                break;
            }
            first_for_slug = false;
            if let Some(key) = c.api_key.as_ref().filter(|k| !is_placeholder(k.expose())) {
                out.push(Candidate {
                    source: format!("config:{}", c.name),
                    label: c.name.clone(),
                    auth_type: AuthType::ApiKey,
                    base_url: Some(c.base_url.clone()),
                    secret: Secret::new(key.expose().trim()),
                    extra: Map::new(),
                });
            }
        }
        let m = &self.config.model;
        if m.provider.as_deref().map(str::trim) == Some("custom") {
            if let (Some(url), Some(key)) = (m.base_url.as_deref(), m.api_key.as_ref()) {
                if providers::pool_for_base_url(url, &self.customs()).as_deref() == Some(&format!("custom:{slug}"))
                    && !is_placeholder(key.expose())
                {
                    out.push(Candidate {
                        source: MODEL_CONFIG.into(),
                        label: MODEL_CONFIG.into(),
                        auth_type: AuthType::ApiKey,
                        base_url: Some(url.to_string()),
                        secret: Secret::new(key.expose().trim()),
                        extra: Map::new(),
                    });
                }
            }
        }
    }

    fn claude_candidate(&self, doc: &AuthDoc) -> Option<Candidate> {
        // Only ANTHROPIC_API_KEY set: the user chose the API-key path; don't even open the file.
        let api_key_only = self.usable_var("ANTHROPIC_API_KEY").is_some()
            && self.usable_var("ANTHROPIC_TOKEN").is_none()
            && self.usable_var("CLAUDE_CODE_OAUTH_TOKEN").is_none();
        let stored = doc.entries("anthropic").iter().any(|e| e.source == CLAUDE_CODE);
        if api_key_only && !stored {
            return None;
        }
        if !stored && !self.anthropic_in_use(doc) {
            return None;
        }
        let creds = self.claude()?;
        let mut extra = Map::new();
        if let Some(ms) = creds.expires_at_ms {
            extra.insert(entry::EXPIRES_AT_MS.into(), ms.into());
        }
        let p = providers::get("anthropic")?;
        Some(Candidate {
            source: CLAUDE_CODE.into(),
            label: CLAUDE_CODE.into(),
            auth_type: AuthType::OAuth,
            base_url: self.base_url(p, None),
            secret: creds.access_token.clone(),
            extra,
        })
    }

    fn nous_candidate(&self, doc: &AuthDoc) -> Option<Candidate> {
        let st = doc.provider_state("nous")?;
        let access = st.get("access_token").and_then(Value::as_str).filter(|s| !s.is_empty())?;
        let claims = jwt::claims(access);
        let label = st
            .get("label")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| jwt::label(&claims))
            .unwrap_or_else(|| DEVICE_CODE.to_string());
        let mut extra = Map::new();
        for k in [
            "refresh_token",
            "expires_at",
            "inference_base_url",
            "portal_base_url",
            "tls",
            "agent_key",
            "agent_key_expires_at",
            "token_type",
            "scope",
            "client_id",
            "obtained_at",
            "expires_in",
        ] {
            if let Some(v) = st.get(k).filter(|v| !v.is_null()) {
                extra.insert(k.into(), v.clone());
            }
        }
        let p = providers::get("nous")?;
        let base_url = st
            .get("inference_base_url")
            .and_then(Value::as_str)
            .filter(|u| self.inference_url_ok(u))
            .map(|u| u.trim_end_matches('/').to_string())
            .or_else(|| self.base_url(p, None));
        Some(Candidate {
            source: DEVICE_CODE.into(),
            label,
            auth_type: AuthType::OAuth,
            base_url,
            secret: Secret::new(access),
            extra,
        })
    }

    fn codex_candidate(&self, doc: &AuthDoc) -> Option<Candidate> {
        let st = doc.provider_state("openai-codex")?;
        let tokens = st.get("tokens").and_then(Value::as_object)?;
        let access = tokens.get("access_token").and_then(Value::as_str).filter(|s| !s.is_empty())?;
        let label = st
            .get("label")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| jwt::label(&jwt::claims(access)))
            .unwrap_or_else(|| DEVICE_CODE.to_string());
        let mut extra = Map::new();
        if let Some(r) = tokens.get("refresh_token").filter(|v| v.is_string()) {
            extra.insert(entry::REFRESH_TOKEN.into(), r.clone());
        }
        if let Some(r) = st.get("last_refresh").filter(|v| v.is_string()) {
            extra.insert(entry::LAST_REFRESH.into(), r.clone());
        }
        let base = providers::get("openai-codex")
            .and_then(|p| self.base_url(p, None))
            .unwrap_or_else(|| CODEX_BASE_URL.to_string());
        Some(Candidate {
            source: DEVICE_CODE.into(),
            label,
            auth_type: AuthType::OAuth,
            base_url: Some(base),
            secret: Secret::new(access),
            extra,
        })
    }

    /// The Nous inference URL check (docs/design.md#oauth-flows).
    pub fn inference_url_ok(&self, url: &str) -> bool {
        let Ok(u) = url::Url::parse(url.trim()) else { return false };
        let host = u.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        match u.scheme() {
            "https" => {
                let configured = self
                    .var(crate::vars::NOUS_INFERENCE_BASE_URL)
                    .and_then(|v| url::Url::parse(v.trim()).ok())
                    .and_then(|v| v.host_str().map(str::to_ascii_lowercase));
                host == "inference-api.nousresearch.com"
                    || host == "welcome-api.nousresearch.com"
                    || configured.as_deref() == Some(host.as_str())
            }
            "http" => matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost"),
            _ => false,
        }
    }

    /// Pool keys that have at least one candidate (for `list` without a provider).
    pub fn seeded_pool_keys(&self, doc: &AuthDoc) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for p in providers::all() {
            if !self.candidates(doc, p.id).is_empty() {
                keys.push(p.id.to_string());
            }
        }
        for c in &self.config.custom_providers {
            let key = format!("custom:{}", providers::slug(&c.name));
            if !keys.contains(&key) && !self.candidates(doc, &key).is_empty() {
                keys.push(key);
            }
        }
        if let Some(url) = self.config.model.base_url.as_deref() {
            if let Some(key) = providers::pool_for_base_url(url, &self.customs()) {
                if !keys.contains(&key) && !self.candidates(doc, &key).is_empty() {
                    keys.push(key);
                }
            }
        }
        keys
    }
}

/// Read Claude Code's credentials file; any problem means "no login". Only a regular file of
/// a sane size is read (a FIFO there would block every command).
fn read_claude_file(path: &std::path::Path) -> Option<ClaudeCreds> {
    let bytes = crate::files::read_regular(path, crate::config::MAX_TEXT_BYTES).ok()??;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let o = v.get("claudeAiOauth")?.as_object()?;
    let access = o.get("accessToken")?.as_str().filter(|s| !s.is_empty())?;
    Some(ClaudeCreds {
        access_token: Secret::new(access),
        refresh_token: o.get("refreshToken").and_then(Value::as_str).map(Secret::new),
        expires_at_ms: o.get("expiresAt").and_then(Value::as_f64).map(|x| x as i64),
    })
}
