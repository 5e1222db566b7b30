//! The fallback chain (docs/design.md#config, docs/design.md#fallback): the primary provider and model, then `fallback_providers`
//! (or the legacy `fallback_model` when that list is absent or empty), each resolved to a pool,
//! a wire format and optionally a base URL or a key of its own.
//!
//! Also the `PROVIDER:MODEL` parser (docs/design.md#fallback) that `--fallback` flags use.

use crate::config::FallbackEntry;
use crate::error::{Error, Result, Route};
use crate::home::{Home, PoolRef};
use crate::model::entry::AuthType;
use crate::providers::{self, Wire, CUSTOM_PREFIX};
use crate::secret::Secret;

/// A `PROVIDER:MODEL` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackSpec {
    pub provider: String,
    pub model: String,
}

/// Why a value is not `PROVIDER:MODEL` ([`split_provider_model`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecProblem {
    /// No `:` after the provider.
    NoColon,
    /// Nothing (or only `custom:`) before the model.
    NoProvider,
    /// Nothing after the provider.
    NoModel,
}

/// Split `PROVIDER:MODEL` (docs/design.md#fallback), trimmed: PROVIDER ends at the first `:`, or
/// at the second when the value starts with `custom:` (`custom:mock2:mock-model`). The model may
/// itself hold colons (`ollama:llama3:8b` → `ollama` + `llama3:8b`). Callers word the problem.
pub fn split_provider_model(value: &str) -> std::result::Result<(&str, &str), SpecProblem> {
    let v = value.trim();
    let skip = if v.get(..CUSTOM_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(CUSTOM_PREFIX)) {
        CUSTOM_PREFIX.len()
    } else {
        0
    };
    let at = v[skip..].find(':').map(|i| i + skip).ok_or(SpecProblem::NoColon)?;
    let (provider, model) = (v[..at].trim(), v[at + 1..].trim());
    if provider.is_empty() || provider.len() == skip {
        return Err(SpecProblem::NoProvider);
    }
    if model.is_empty() {
        return Err(SpecProblem::NoModel);
    }
    Ok((provider, model))
}

/// Parse `PROVIDER:MODEL` ([`split_provider_model`]). Errors are one line, for the caller to
/// prefix.
pub fn parse_fallback_spec(value: &str) -> std::result::Result<FallbackSpec, String> {
    let v = value.trim();
    match split_provider_model(v) {
        Ok((provider, model)) => Ok(FallbackSpec { provider: provider.to_string(), model: model.to_string() }),
        Err(SpecProblem::NoColon) => {
            Err(format!("{v:?} is not PROVIDER:MODEL (e.g. openrouter:anthropic/claude-sonnet-4)"))
        }
        Err(SpecProblem::NoProvider) => Err(format!("{v:?} has no provider before the model")),
        Err(SpecProblem::NoModel) => Err(format!("{v:?} has no model after the provider")),
    }
}

/// A fallback step's own key (docs/design.md#fallback): used for that step instead of the pool, never written or
/// marked.
#[derive(Debug, Clone)]
pub struct FixedKey {
    pub secret: Secret,
    pub auth_type: AuthType,
    /// Where it came from, for messages: `config.yaml fallback_providers[0].api_key`.
    pub origin: String,
}

/// One provider of the chain.
#[derive(Debug, Clone)]
pub struct Step {
    /// The pool the step draws from (also when a fixed key serves it, for its base URL).
    pub pool: PoolRef,
    pub model: String,
    pub wire: Wire,
    /// A base URL that overrides the entry's and the provider's (a fallback's `base_url`).
    pub base_url: Option<String>,
    pub fixed: Option<FixedKey>,
    /// Where the step was configured: `--provider`, `model.provider`, `fallback_providers[1]`.
    pub origin: String,
}

impl Step {
    /// The pool key (`openrouter`, `custom:my-llm`).
    pub fn provider(&self) -> &str {
        &self.pool.key
    }

    /// `<provider>/<model>`, as the fallback status line names a step.
    pub fn name(&self) -> String {
        format!("{}/{}", self.pool.key, self.model)
    }
}

/// The primary step followed by the fallbacks, plus the warnings met on the way.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub steps: Vec<Step>,
    /// `warning: …` lines for stderr (skipped fallback entries).
    pub warnings: Vec<String>,
}

/// The chain of a request: the primary (`provider` else `model.provider`; `model` else
/// `model.default`), then the configured fallbacks.
pub fn build(home: &Home, provider: Option<&str>, model: Option<&str>) -> Result<Chain> {
    let primary = primary(home, provider, model)?;
    let (fallbacks, warnings) = fallbacks(home);
    let mut steps = vec![primary];
    steps.extend(fallbacks);
    Ok(Chain { steps, warnings })
}

/// The primary step. Without a provider or a model anywhere, a usage error naming the flag.
pub fn primary(home: &Home, provider: Option<&str>, model: Option<&str>) -> Result<Step> {
    let cfg = &home.config().model;
    let (input, origin) = match provider.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => (p.to_string(), "--provider"),
        None => match cfg.provider.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => (p.to_string(), "model.provider"),
            None => {
                return Err(Error::Usage("no provider: pass --provider or set model.provider in config.yaml".into()))
            }
        },
    };
    let model = match model.map(str::trim).filter(|m| !m.is_empty()).or(cfg.default.as_deref().map(str::trim)) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => return Err(Error::Usage("no model: pass --model or set model.default in config.yaml".into())),
    };
    let step = primary_any_wire(home, input, model, origin)?;
    if step.wire == Wire::CodexResponses {
        return Err(Error::Route(Route::NotAChatTarget { pool: step.pool.key.clone() }));
    }
    Ok(step)
}

fn primary_any_wire(home: &Home, input: String, model: String, origin: &str) -> Result<Step> {
    let pool = resolve_pool(home, &input)?;
    let wire = wire_of(&pool);
    Ok(Step { pool, model, wire, base_url: None, fixed: None, origin: origin.to_string() })
}

/// The chain of a gateway request: `provider` and `model` as routed, then the configured
/// fallbacks that speak one of `wires` (the others are skipped with a warning). A primary of
/// another wire is a [`Route::WrongWire`] error.
pub fn build_for_wires(home: &Home, provider: &str, model: &str, wires: &[Wire], endpoint: &str) -> Result<Chain> {
    let primary = primary_any_wire(home, provider.trim().to_string(), model.trim().to_string(), "the request")?;
    if !wires.contains(&primary.wire) {
        return Err(Error::Route(Route::WrongWire { pool: primary.pool.key.clone(), endpoint: endpoint.to_string() }));
    }
    let (all, mut warnings) = fallback_steps(home);
    let mut steps = vec![primary];
    for step in all {
        if wires.contains(&step.wire) {
            steps.push(step);
        } else {
            warnings.push(format!("{} ({}) does not serve {endpoint}; skipped", step.origin, step.pool.key));
        }
    }
    Ok(Chain { steps, warnings })
}

/// The configured fallbacks: `fallback_providers`, or `fallback_model` when that list is absent
/// or empty. Entries that cannot serve (no provider or model, an unknown or unmanaged provider,
/// a provider `chat` cannot talk to) are skipped with a warning.
pub fn fallbacks(home: &Home) -> (Vec<Step>, Vec<String>) {
    let (all, mut warnings) = fallback_steps(home);
    let mut steps = Vec::new();
    for step in all {
        if step.wire == Wire::CodexResponses {
            warnings.push(format!(
                "warning: config.yaml {} ({}) is not a chat target (Codex Responses API); skipped",
                step.origin, step.pool.key
            ));
        } else {
            steps.push(step);
        }
    }
    (steps, warnings)
}

/// Every readable fallback step, whatever its wire.
fn fallback_steps(home: &Home) -> (Vec<Step>, Vec<String>) {
    let cfg = home.config();
    let entries: Vec<(String, &FallbackEntry)> = match cfg.fallback_providers.as_deref() {
        Some(list) if !list.is_empty() => {
            list.iter().enumerate().map(|(i, e)| (format!("fallback_providers[{i}]"), e)).collect()
        }
        _ => cfg.fallback_model.iter().map(|e| ("fallback_model".to_string(), e)).collect(),
    };
    let mut steps = Vec::new();
    let mut warnings = Vec::new();
    for (origin, e) in entries {
        match fallback_step(home, &origin, e) {
            Ok((step, warning)) => {
                steps.push(step);
                warnings.extend(warning);
            }
            Err(why) => warnings.push(format!("warning: config.yaml {origin} {why}; skipped")),
        }
    }
    (steps, warnings)
}

fn fallback_step(home: &Home, origin: &str, e: &FallbackEntry) -> std::result::Result<(Step, Option<String>), String> {
    let provider = e.provider.as_deref().map(str::trim).filter(|p| !p.is_empty()).ok_or("has no provider")?;
    let model = e.model.as_deref().map(str::trim).filter(|m| !m.is_empty()).ok_or("has no model")?;
    let pool = resolve_pool(home, provider).map_err(|err| format!("({provider}): {err}"))?;
    let wire = wire_of(&pool);
    let base_url = e.base_url.as_deref().map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty());
    let mut warning = None;
    let key = match (&e.api_key, e.key_env.as_deref().map(str::trim).filter(|v| !v.is_empty())) {
        (Some(k), _) if !k.expose().trim().is_empty() => {
            Some((Secret::new(k.expose().trim()), format!("config.yaml {origin}.api_key")))
        }
        (_, Some(var)) => match home.sources.usable_var(var) {
            Some(v) => Some((Secret::new(v), format!("{var} (config.yaml {origin}.key_env)"))),
            None => {
                warning = Some(format!(
                    "warning: config.yaml {origin}.key_env names {var}, which is not set; using the {} pool",
                    pool.key
                ));
                None
            }
        },
        _ => None,
    };
    let fixed = key.map(|(secret, origin)| FixedKey {
        auth_type: if wire == Wire::Anthropic && secret.expose().starts_with("sk-ant-oat") {
            AuthType::OAuth
        } else {
            AuthType::ApiKey
        },
        secret,
        origin,
    });
    Ok((Step { pool, model: model.to_string(), wire, base_url, fixed, origin: origin.to_string() }, warning))
}

/// A provider name to its pool; plain `custom` means the custom pool `model.base_url` maps to.
fn resolve_pool(home: &Home, input: &str) -> Result<PoolRef> {
    if input.trim().eq_ignore_ascii_case("custom") {
        let url = home.config().model.base_url.clone().unwrap_or_default();
        return match providers::pool_for_base_url(&url, &home.sources.customs()) {
            Some(key) => home.pool(&key),
            None if url.trim().is_empty() => Err(Error::Route(Route::CustomWithoutBaseUrl { base_url: None })),
            None => Err(Error::Route(Route::CustomWithoutBaseUrl { base_url: Some(url) })),
        };
    }
    home.pool(input)
}

/// Whether `chat` (and a chat fallback step) can use `pool`: it speaks a chat wire and has a base
/// URL (a registry default, its URL variable, or a `custom_providers` entry). `hermes setup`
/// checks what it saves with this, so config.yaml never names a target `chat` then refuses.
pub fn check_chat_target(home: &Home, pool: &PoolRef) -> Result<()> {
    if wire_of(pool) == Wire::CodexResponses {
        return Err(Error::Route(Route::NotAChatTarget { pool: pool.key.clone() }));
    }
    if home.default_base_url(pool, None).is_none() {
        return Err(Error::Route(Route::NoBaseUrl {
            pool: pool.key.clone(),
            url_var: pool.provider.and_then(|p| p.url_var),
        }));
    }
    Ok(())
}

/// How `chat` talks to a pool: the registry's wire, OpenAI-compatible for custom endpoints.
pub fn wire_of(pool: &PoolRef) -> Wire {
    pool.provider.map_or(Wire::OpenAi, |p| p.wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_specs() {
        let ok = |s: &str, p: &str, m: &str| {
            assert_eq!(parse_fallback_spec(s), Ok(FallbackSpec { provider: p.into(), model: m.into() }), "{s}")
        };
        ok("openrouter:anthropic/claude-sonnet-4", "openrouter", "anthropic/claude-sonnet-4");
        ok("custom:mock2:mock-model", "custom:mock2", "mock-model");
        ok("CUSTOM:Mock:m", "CUSTOM:Mock", "m");
        ok("ollama-cloud:llama3:8b", "ollama-cloud", "llama3:8b");
        ok(" deepseek : deepseek-chat ", "deepseek", "deepseek-chat");
        for bad in ["openrouter", "", ":model", "openrouter:", "custom:mock", "custom::m", "custom:x:"] {
            assert!(parse_fallback_spec(bad).is_err(), "{bad:?}");
        }
    }
}
