//! Which provider and model serve a gateway request (docs/serve.md has the table):
//!
//! 1. a `model` of the form `PROVIDER:MODEL` whose PROVIDER is a known provider or custom pool
//!    (`custom:mock:mock-model` is pool `custom:mock`, model `mock-model`);
//! 2. else an alias from `serve.models` in config.yaml (alias → `PROVIDER:MODEL`);
//! 3. else the endpoint's default provider with the model as given: `/v1/messages` →
//!    `anthropic`, `/v1/responses` → `openai-codex`, `/v1/chat/completions` → `model.provider`.

use super::wire::Api;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::runtime::chain::parse_fallback_spec;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub provider: String,
    pub model: String,
}

/// Route a request of `api` whose body names `model` (`None`: no model, or not a string).
pub fn route(home: &Home, api: Api, model: Option<&str>) -> Result<Routed> {
    let model = model.map(str::trim).unwrap_or_default();
    if model.is_empty() {
        return Err(Error::Usage("the request has no model".into()));
    }
    if let Some(r) = explicit(home, model) {
        return Ok(r);
    }
    if let Some((_, target)) = home.config().serve.models.iter().find(|(alias, _)| alias == model) {
        return explicit(home, target).ok_or_else(|| {
            Error::Usage(format!("serve.models.{model} in config.yaml is not PROVIDER:MODEL with a known provider"))
        });
    }
    let provider = match api {
        Api::Messages | Api::CountTokens => "anthropic".to_string(),
        Api::Responses => "openai-codex".to_string(),
        Api::ChatCompletions => home
            .config()
            .model
            .provider
            .clone()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no provider for model {model}: use PROVIDER:MODEL, a serve.models alias, or set model.provider in config.yaml"
                ))
            })?,
    };
    Ok(Routed { provider, model: model.to_string() })
}

/// `PROVIDER:MODEL` when PROVIDER names a pool hermes knows.
fn explicit(home: &Home, value: &str) -> Option<Routed> {
    let spec = parse_fallback_spec(value).ok()?;
    home.resolve(&spec.provider).ok()?;
    Some(Routed { provider: spec.provider, model: spec.model })
}

/// The models `/v1/models` lists: the default model of `model.provider`, every `serve.models`
/// alias and every fallback's model, as `(id, owner)`.
pub fn models(home: &Home) -> Vec<(String, String)> {
    let cfg = home.config();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |id: String, owner: String| {
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, owner));
        }
    };
    if let (Some(p), Some(m)) = (cfg.model.provider.as_deref(), cfg.model.default.as_deref()) {
        push(m.to_string(), p.to_string());
        push(format!("{p}:{m}"), p.to_string());
    }
    for (alias, target) in &cfg.serve.models {
        let owner = parse_fallback_spec(target).map(|s| s.provider).unwrap_or_default();
        push(alias.clone(), owner);
    }
    for f in cfg.fallback_providers.iter().flatten().chain(cfg.fallback_model.as_ref()) {
        if let (Some(p), Some(m)) = (f.provider.as_deref(), f.model.as_deref()) {
            push(format!("{p}:{m}"), p.to_string());
        }
    }
    out
}
