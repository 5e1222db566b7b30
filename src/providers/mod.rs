//! The provider registry (§5): ids, aliases, env vars, base URLs, OAuth capability, and the
//! normalisation of what a user types into a pool key.

/// Which credential types a provider takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Key,
    OAuth,
    KeyOAuth,
}

/// How `chat` talks to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// POST `<base>/chat/completions`, `Authorization: Bearer`.
    OpenAi,
    /// POST `<base>/v1/messages` (Anthropic Messages).
    Anthropic,
    /// The Codex Responses API: not a `chat` target.
    CodexResponses,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    pub id: &'static str,
    pub auth: AuthKind,
    /// Key variables, in seeding order.
    pub env: &'static [&'static str],
    pub url_var: Option<&'static str>,
    pub default_base_url: Option<&'static str>,
    pub aliases: &'static [&'static str],
    /// Not known to hermes-agent 0.19.
    pub hermes_only: bool,
    pub wire: Wire,
}

/// A configured custom endpoint, as the resolver needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRef {
    pub name: String,
    pub base_url: String,
}

/// What a provider argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Registry(&'static Provider),
    /// `custom:<slug>`; `name` is the configured `custom_providers` name when there is one.
    Custom {
        key: String,
        name: Option<String>,
        base_url: Option<String>,
    },
    /// Recognised but not managed (`xai-oauth`, `copilot`, …).
    Unmanaged(&'static str),
}

impl Resolved {
    pub fn key(&self) -> String {
        todo!()
    }
}

/// An unknown provider, with up to 3 close known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider \"{input}\"")]
pub struct UnknownProvider {
    pub input: String,
    pub suggestions: Vec<String>,
}

pub fn all() -> &'static [Provider] {
    todo!()
}

pub fn get(id: &str) -> Option<&'static Provider> {
    let _ = id;
    todo!()
}

pub const UNMANAGED: &[&str] =
    &["xai-oauth", "qwen-oauth", "minimax-oauth", "copilot", "copilot-acp", "bedrock", "vertex"];

/// `My Local LLM` → `my-local-llm`.
pub fn slug(name: &str) -> String {
    let _ = name;
    todo!()
}

/// Normalise user input (§5.2).
pub fn resolve(input: &str, customs: &[CustomRef]) -> Result<Resolved, UnknownProvider> {
    let _ = (input, customs);
    todo!()
}

/// The custom pool whose `base_url` matches (§5.3), first match wins.
pub fn pool_for_base_url(url: &str, customs: &[CustomRef]) -> Option<String> {
    let _ = (url, customs);
    todo!()
}

/// The inference base URL for a provider: the URL var (trailing `/` stripped), else the default;
/// kimi-coding keys starting `sk-kimi-` use https://api.kimi.com/coding unless KIMI_BASE_URL is set.
pub fn base_url(p: &Provider, lookup: &dyn Fn(&str) -> Option<String>, key: Option<&str>) -> Option<String> {
    let _ = (p, lookup, key);
    todo!()
}
