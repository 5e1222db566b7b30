//! The provider registry (docs/design.md#providers): ids, aliases, env vars, base URLs, OAuth capability, and the
//! normalisation of what a user types into a pool key.
//!
//! Everything here is a pure function of its arguments: the environment reaches [`base_url`]
//! through a lookup closure and configured custom endpoints arrive as [`CustomRef`]s, so the
//! callers decide where those come from.

/// Which credential types a provider takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// API keys only.
    Key,
    /// OAuth logins only.
    OAuth,
    /// Both API keys and OAuth logins.
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

/// One row of the docs/design.md#providers registry.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// The canonical id, which is also the pool key.
    pub id: &'static str,
    pub auth: AuthKind,
    /// Key variables, in seeding order.
    pub env: &'static [&'static str],
    /// The variable that overrides the base URL, if the provider has one.
    pub url_var: Option<&'static str>,
    /// `None` only where the user must set the URL (azure-foundry).
    pub default_base_url: Option<&'static str>,
    /// Other names that resolve to this id; all lowercase.
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
    /// The pool key in auth.json: `openrouter`, `custom:my-local-llm`, or the unmanaged id.
    pub fn key(&self) -> String {
        match self {
            Resolved::Registry(p) => p.id.to_string(),
            Resolved::Custom { key, .. } => key.clone(),
            Resolved::Unmanaged(id) => (*id).to_string(),
        }
    }
}

/// An unknown provider, with up to 3 close known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider \"{input}\"")]
pub struct UnknownProvider {
    pub input: String,
    /// Canonical ids or `custom:<slug>` keys, best match first.
    pub suggestions: Vec<String>,
}

/// The prefix of every custom pool key.
pub const CUSTOM_PREFIX: &str = "custom:";

/// The fields most rows share; each row overrides what differs.
const KEY: Provider = Provider {
    id: "",
    auth: AuthKind::Key,
    env: &[],
    url_var: None,
    default_base_url: None,
    aliases: &[],
    hermes_only: false,
    wire: Wire::OpenAi,
};

/// The kimi-coding id, which has the one key-dependent base URL.
const KIMI_CODING: &str = "kimi-coding";
/// Keys with this prefix are Kimi For Coding keys, served from [`KIMI_CODING_URL`].
const KIMI_CODING_KEY_PREFIX: &str = "sk-kimi-";
const KIMI_CODING_URL: &str = "https://api.kimi.com/coding";

/// The docs/design.md#providers table, in its order.
static PROVIDERS: &[Provider] = &[
    Provider {
        id: "openrouter",
        env: &["OPENROUTER_API_KEY"],
        default_base_url: Some("https://openrouter.ai/api/v1"),
        aliases: &["or", "open-router"],
        ..KEY
    },
    Provider {
        id: "anthropic",
        auth: AuthKind::KeyOAuth,
        env: &["ANTHROPIC_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"],
        url_var: Some("ANTHROPIC_BASE_URL"),
        default_base_url: Some("https://api.anthropic.com"),
        aliases: &["claude", "claude-code", "claude-oauth"],
        wire: Wire::Anthropic,
        ..KEY
    },
    Provider {
        id: "openai-codex",
        auth: AuthKind::OAuth,
        url_var: Some("HERMES_CODEX_BASE_URL"),
        default_base_url: Some("https://chatgpt.com/backend-api/codex"),
        aliases: &["codex", "openai_codex"],
        wire: Wire::CodexResponses,
        ..KEY
    },
    Provider {
        id: "nous",
        auth: AuthKind::KeyOAuth,
        url_var: Some("NOUS_INFERENCE_BASE_URL"),
        default_base_url: Some("https://inference-api.nousresearch.com/v1"),
        aliases: &["nous-portal", "nousresearch"],
        ..KEY
    },
    Provider {
        id: "openai-api",
        env: &["OPENAI_API_KEY"],
        url_var: Some("OPENAI_BASE_URL"),
        default_base_url: Some("https://api.openai.com/v1"),
        // hermes-agent does not know this alias; the id itself is shared.
        aliases: &["openai"],
        ..KEY
    },
    Provider {
        id: "gemini",
        env: &["GOOGLE_API_KEY", "GEMINI_API_KEY"],
        url_var: Some("GEMINI_BASE_URL"),
        default_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        aliases: &["google", "google-gemini", "google-ai-studio"],
        ..KEY
    },
    Provider {
        id: "deepseek",
        env: &["DEEPSEEK_API_KEY"],
        url_var: Some("DEEPSEEK_BASE_URL"),
        default_base_url: Some("https://api.deepseek.com/v1"),
        aliases: &["deepseek-chat"],
        ..KEY
    },
    Provider {
        id: "xai",
        env: &["XAI_API_KEY"],
        url_var: Some("XAI_BASE_URL"),
        default_base_url: Some("https://api.x.ai/v1"),
        aliases: &["grok", "x-ai", "x.ai"],
        ..KEY
    },
    Provider {
        id: "zai",
        env: &["GLM_API_KEY", "ZAI_API_KEY", "Z_AI_API_KEY"],
        url_var: Some("GLM_BASE_URL"),
        default_base_url: Some("https://api.z.ai/api/paas/v4"),
        aliases: &["glm", "z-ai", "z.ai", "zhipu"],
        ..KEY
    },
    Provider {
        id: KIMI_CODING,
        env: &["KIMI_API_KEY", "KIMI_CODING_API_KEY"],
        url_var: Some("KIMI_BASE_URL"),
        default_base_url: Some("https://api.moonshot.ai/v1"),
        aliases: &["kimi", "moonshot", "kimi-for-coding"],
        ..KEY
    },
    Provider {
        id: "kimi-coding-cn",
        env: &["KIMI_CN_API_KEY"],
        default_base_url: Some("https://api.moonshot.cn/v1"),
        aliases: &["kimi-cn", "moonshot-cn"],
        ..KEY
    },
    Provider {
        id: "minimax",
        env: &["MINIMAX_API_KEY"],
        url_var: Some("MINIMAX_BASE_URL"),
        default_base_url: Some("https://api.minimax.io/anthropic"),
        aliases: &["mini-max"],
        // The default endpoint speaks Anthropic Messages, not chat completions.
        wire: Wire::Anthropic,
        ..KEY
    },
    Provider {
        id: "minimax-cn",
        env: &["MINIMAX_CN_API_KEY"],
        url_var: Some("MINIMAX_CN_BASE_URL"),
        default_base_url: Some("https://api.minimaxi.com/anthropic"),
        aliases: &["minimax-china", "minimax_cn"],
        wire: Wire::Anthropic,
        ..KEY
    },
    Provider {
        id: "alibaba",
        env: &["DASHSCOPE_API_KEY"],
        url_var: Some("DASHSCOPE_BASE_URL"),
        default_base_url: Some("https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        aliases: &["dashscope", "alibaba-cloud", "qwen-dashscope"],
        ..KEY
    },
    Provider {
        id: "alibaba-coding-plan",
        env: &["ALIBABA_CODING_PLAN_API_KEY", "DASHSCOPE_API_KEY"],
        url_var: Some("ALIBABA_CODING_PLAN_BASE_URL"),
        default_base_url: Some("https://coding-intl.dashscope.aliyuncs.com/v1"),
        aliases: &["alibaba-coding", "alibaba_coding", "alibaba_coding_plan", "dashscope-coding"],
        ..KEY
    },
    Provider {
        id: "groq",
        env: &["GROQ_API_KEY"],
        url_var: Some("GROQ_BASE_URL"),
        default_base_url: Some("https://api.groq.com/openai/v1"),
        aliases: &["groqcloud"],
        hermes_only: true,
        ..KEY
    },
    Provider {
        id: "mistral",
        env: &["MISTRAL_API_KEY"],
        url_var: Some("MISTRAL_BASE_URL"),
        default_base_url: Some("https://api.mistral.ai/v1"),
        aliases: &["mistral-ai", "mistralai"],
        hermes_only: true,
        ..KEY
    },
    Provider {
        id: "together",
        env: &["TOGETHER_API_KEY"],
        url_var: Some("TOGETHER_BASE_URL"),
        default_base_url: Some("https://api.together.xyz/v1"),
        aliases: &["together-ai", "togetherai"],
        hermes_only: true,
        ..KEY
    },
    Provider {
        id: "fireworks",
        env: &["FIREWORKS_API_KEY"],
        default_base_url: Some("https://api.fireworks.ai/inference/v1"),
        aliases: &["fireworks-ai", "fw"],
        ..KEY
    },
    Provider {
        id: "deepinfra",
        env: &["DEEPINFRA_API_KEY"],
        url_var: Some("DEEPINFRA_BASE_URL"),
        default_base_url: Some("https://api.deepinfra.com/v1/openai"),
        aliases: &["deep-infra", "deepinfra-ai"],
        ..KEY
    },
    Provider {
        id: "novita",
        env: &["NOVITA_API_KEY"],
        url_var: Some("NOVITA_BASE_URL"),
        default_base_url: Some("https://api.novita.ai/openai/v1"),
        aliases: &["novita-ai", "novitaai"],
        ..KEY
    },
    Provider {
        id: "upstage",
        env: &["UPSTAGE_API_KEY"],
        url_var: Some("UPSTAGE_BASE_URL"),
        default_base_url: Some("https://api.upstage.ai/v1"),
        aliases: &["solar"],
        ..KEY
    },
    Provider {
        id: "nvidia",
        env: &["NVIDIA_API_KEY"],
        url_var: Some("NVIDIA_BASE_URL"),
        default_base_url: Some("https://integrate.api.nvidia.com/v1"),
        aliases: &["nvidia-nim"],
        ..KEY
    },
    Provider {
        id: "huggingface",
        env: &["HF_TOKEN"],
        url_var: Some("HF_BASE_URL"),
        default_base_url: Some("https://router.huggingface.co/v1"),
        aliases: &["hf", "hugging-face", "huggingface-hub"],
        ..KEY
    },
    Provider {
        id: "arcee",
        env: &["ARCEEAI_API_KEY"],
        url_var: Some("ARCEE_BASE_URL"),
        default_base_url: Some("https://api.arcee.ai/api/v1"),
        aliases: &["arcee-ai", "arceeai"],
        ..KEY
    },
    Provider {
        id: "gmi",
        env: &["GMI_API_KEY"],
        url_var: Some("GMI_BASE_URL"),
        default_base_url: Some("https://api.gmi-serving.com/v1"),
        aliases: &["gmi-cloud", "gmicloud"],
        ..KEY
    },
    Provider {
        id: "stepfun",
        env: &["STEPFUN_API_KEY"],
        url_var: Some("STEPFUN_BASE_URL"),
        default_base_url: Some("https://api.stepfun.ai/step_plan/v1"),
        aliases: &["step", "stepfun-coding-plan"],
        ..KEY
    },
    Provider {
        id: "xiaomi",
        env: &["XIAOMI_API_KEY"],
        url_var: Some("XIAOMI_BASE_URL"),
        default_base_url: Some("https://api.xiaomimimo.com/v1"),
        aliases: &["mimo", "xiaomi-mimo"],
        ..KEY
    },
    Provider {
        id: "tencent-tokenhub",
        env: &["TOKENHUB_API_KEY"],
        url_var: Some("TOKENHUB_BASE_URL"),
        default_base_url: Some("https://tokenhub.tencentmaas.com/v1"),
        aliases: &["tencent", "tokenhub", "tencent-cloud", "tencentmaas"],
        ..KEY
    },
    Provider {
        id: "tencent-tokenplan",
        env: &["TOKENPLAN_API_KEY"],
        url_var: Some("TOKENPLAN_BASE_URL"),
        default_base_url: Some("https://api.lkeap.cloud.tencent.com/plan/anthropic"),
        hermes_only: true,
        wire: Wire::Anthropic,
        ..KEY
    },
    Provider {
        id: "ollama-cloud",
        env: &["OLLAMA_API_KEY"],
        url_var: Some("OLLAMA_BASE_URL"),
        default_base_url: Some("https://ollama.com/v1"),
        aliases: &["ollama_cloud"],
        ..KEY
    },
    Provider {
        id: "opencode-zen",
        env: &["OPENCODE_ZEN_API_KEY"],
        url_var: Some("OPENCODE_ZEN_BASE_URL"),
        default_base_url: Some("https://opencode.ai/zen/v1"),
        aliases: &["opencode", "zen", "opencode_zen"],
        ..KEY
    },
    Provider {
        id: "opencode-go",
        env: &["OPENCODE_GO_API_KEY"],
        url_var: Some("OPENCODE_GO_BASE_URL"),
        default_base_url: Some("https://opencode.ai/zen/go/v1"),
        aliases: &["go", "opencode_go", "opencode-go-sub"],
        ..KEY
    },
    Provider {
        id: "kilocode",
        env: &["KILOCODE_API_KEY"],
        url_var: Some("KILOCODE_BASE_URL"),
        default_base_url: Some("https://api.kilo.ai/api/gateway"),
        aliases: &["kilo", "kilo-code", "kilo-gateway"],
        ..KEY
    },
    Provider {
        id: "ai-gateway",
        env: &["AI_GATEWAY_API_KEY"],
        url_var: Some("AI_GATEWAY_BASE_URL"),
        default_base_url: Some("https://ai-gateway.vercel.sh/v1"),
        hermes_only: true,
        ..KEY
    },
    Provider {
        id: "actual",
        env: &["ACTUAL_API_KEY"],
        url_var: Some("ACTUAL_BASE_URL"),
        default_base_url: Some("https://api.actual.inc/v1"),
        hermes_only: true,
        ..KEY
    },
    Provider {
        id: "lmstudio",
        env: &["LM_API_KEY"],
        url_var: Some("LM_BASE_URL"),
        default_base_url: Some("http://127.0.0.1:1234/v1"),
        aliases: &["lm-studio", "lm_studio"],
        ..KEY
    },
    Provider {
        id: "azure-foundry",
        env: &["AZURE_FOUNDRY_API_KEY"],
        url_var: Some("AZURE_FOUNDRY_BASE_URL"),
        // Every deployment has its own endpoint, so there is nothing sensible to default to.
        default_base_url: None,
        aliases: &["azure", "azure-ai-foundry", "azure-ai"],
        ..KEY
    },
];

/// Every managed provider, in docs/design.md#providers order.
pub fn all() -> &'static [Provider] {
    PROVIDERS
}

/// The provider with this canonical id (exact match; use [`resolve`] for user input).
pub fn get(id: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.id == id)
}

/// Ids hermes recognises (and keeps in auth.json) but does not manage.
pub const UNMANAGED: &[&str] =
    &["xai-oauth", "qwen-oauth", "minimax-oauth", "copilot", "copilot-acp", "bedrock", "vertex"];

/// Whether `id` is one of [`UNMANAGED`].
pub fn is_unmanaged(id: &str) -> bool {
    UNMANAGED.contains(&id)
}

/// Whether the provider takes API keys.
pub fn supports_key(p: &Provider) -> bool {
    matches!(p.auth, AuthKind::Key | AuthKind::KeyOAuth)
}

/// Whether the provider takes OAuth logins.
pub fn supports_oauth(p: &Provider) -> bool {
    matches!(p.auth, AuthKind::OAuth | AuthKind::KeyOAuth)
}

/// Every registry id (in docs/design.md#providers order), then every alias (in table order): the wizard's fuzzy list.
pub fn known_names() -> Vec<&'static str> {
    let ids = PROVIDERS.iter().map(|p| p.id);
    let aliases = PROVIDERS.iter().flat_map(|p| p.aliases.iter().copied());
    ids.chain(aliases).collect()
}

/// `My Local LLM` → `my-local-llm`.
pub fn slug(name: &str) -> String {
    name.trim().to_lowercase().replace(' ', "-")
}

/// The pool key of a custom endpoint named `name`: `custom:<slug>`.
pub fn custom_key(name: &str) -> String {
    format!("{CUSTOM_PREFIX}{}", slug(name))
}

/// The configured endpoint that owns `slug`: the first with that slug wins (docs/design.md#custom-endpoints). Names whose
/// slug is empty cannot form a pool key and are ignored.
fn custom_by_slug<'a>(slug_: &str, customs: &'a [CustomRef]) -> Option<&'a CustomRef> {
    if slug_.is_empty() {
        return None;
    }
    customs.iter().find(|c| slug(&c.name) == slug_)
}

fn custom_resolved(key: String, custom: Option<&CustomRef>) -> Resolved {
    Resolved::Custom { key, name: custom.map(|c| c.name.clone()), base_url: custom.map(|c| c.base_url.clone()) }
}

/// Normalise user input (docs/design.md#normalising-provider-input).
///
/// Order: canonical id, unmanaged id, alias, `custom:<slug>` (accepted even when nothing is
/// configured under it), then the slug or literal name of a configured custom endpoint. Registry
/// names win over custom endpoints that happen to share them.
pub fn resolve(input: &str, customs: &[CustomRef]) -> Result<Resolved, UnknownProvider> {
    let wanted = input.trim().to_lowercase();
    if wanted.is_empty() {
        return Err(UnknownProvider { input: input.trim().to_string(), suggestions: Vec::new() });
    }
    if let Some(p) = get(&wanted) {
        return Ok(Resolved::Registry(p));
    }
    if let Some(id) = UNMANAGED.iter().find(|id| **id == wanted) {
        return Ok(Resolved::Unmanaged(id));
    }
    if let Some(p) = PROVIDERS.iter().find(|p| p.aliases.contains(&wanted.as_str())) {
        return Ok(Resolved::Registry(p));
    }
    if let Some(rest) = wanted.strip_prefix(CUSTOM_PREFIX) {
        let rest = rest.trim();
        if !rest.is_empty() {
            return Ok(custom_resolved(format!("{CUSTOM_PREFIX}{rest}"), custom_by_slug(rest, customs)));
        }
    } else if let Some(c) = custom_by_slug(&slug(&wanted), customs) {
        // `slug` maps both `my-local-llm` and the literal `My Local LLM` to the same slug.
        return Ok(custom_resolved(custom_key(&c.name), Some(c)));
    }
    Err(UnknownProvider { input: input.trim().to_string(), suggestions: suggestions(&wanted, customs) })
}

/// Below this Jaro-Winkler similarity a name is not offered as a suggestion.
const SUGGEST_MIN_SIMILARITY: f64 = 0.8;
const MAX_SUGGESTIONS: usize = 3;

/// How close `input` is to the known name `candidate`, or `None` when it is not worth suggesting.
fn similarity(input: &str, candidate: &str) -> Option<f64> {
    let score = strsim::jaro_winkler(input, candidate);
    // A name the user started typing (`openrout`) is always a good suggestion.
    if input.len() >= 3 && candidate.starts_with(input) {
        return Some(score.max(0.9));
    }
    // Jaro-Winkler misjudges very short names (`go`, `fw`, `zai`): there, one edit (a swap
    // counts as one) decides.
    if input.len().min(candidate.len()) <= 3 {
        return (strsim::osa_distance(input, candidate) <= 1).then_some(score.max(SUGGEST_MIN_SIMILARITY));
    }
    (score >= SUGGEST_MIN_SIMILARITY).then_some(score)
}

/// Up to [`MAX_SUGGESTIONS`] pool keys whose names are close to `input`, best first.
fn suggestions(input: &str, customs: &[CustomRef]) -> Vec<String> {
    let mut candidates: Vec<(String, String)> = Vec::new();
    for p in PROVIDERS {
        candidates.push((p.id.to_string(), p.id.to_string()));
        candidates.extend(p.aliases.iter().map(|a| (a.to_string(), p.id.to_string())));
    }
    candidates.extend(UNMANAGED.iter().map(|id| (id.to_string(), id.to_string())));
    for c in customs {
        let s = slug(&c.name);
        if !s.is_empty() {
            let key = format!("{CUSTOM_PREFIX}{s}");
            candidates.push((key.clone(), key.clone()));
            candidates.push((s, key));
        }
    }

    // Best score per pool key, so an id and its aliases count once.
    let mut best: Vec<(String, f64)> = Vec::new();
    for (name, key) in candidates {
        let Some(score) = similarity(input, &name) else { continue };
        match best.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = entry.1.max(score),
            None => best.push((key, score)),
        }
    }
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    best.into_iter().take(MAX_SUGGESTIONS).map(|(key, _)| key).collect()
}

/// One warning per configured custom name whose slug an earlier name already took (docs/design.md#custom-endpoints).
pub fn duplicate_slug_warnings(customs: &[CustomRef]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, c) in customs.iter().enumerate() {
        let s = slug(&c.name);
        if s.is_empty() {
            continue;
        }
        if let Some(first) = customs[..i].iter().find(|earlier| slug(&earlier.name) == s) {
            warnings.push(format!(
                "warning: custom_providers \"{}\" has the same slug as \"{}\"; using the first",
                c.name, first.name
            ));
        }
    }
    warnings
}

/// A URL as docs/design.md#custom-endpoints compares it: trimmed, without trailing `/`.
fn normalise_url(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

/// The custom pool whose `base_url` matches (docs/design.md#custom-endpoints), first match wins.
pub fn pool_for_base_url(url: &str, customs: &[CustomRef]) -> Option<String> {
    let url = normalise_url(url);
    if url.is_empty() {
        return None;
    }
    customs.iter().find(|c| !slug(&c.name).is_empty() && normalise_url(&c.base_url) == url).map(|c| custom_key(&c.name))
}

/// The inference base URL for a provider: the URL var (trailing `/` stripped), else the default;
/// kimi-coding keys starting `sk-kimi-` use https://api.kimi.com/coding unless KIMI_BASE_URL is set.
///
/// `lookup` returns a variable's value when it is set and non-empty; `key` is the secret the
/// request will use, when known. `None` means the provider has no usable URL (azure-foundry unset).
pub fn base_url(p: &Provider, lookup: &dyn Fn(&str) -> Option<String>, key: Option<&str>) -> Option<String> {
    let overridden = p.url_var.and_then(lookup).map(|v| normalise_url(&v).to_string()).filter(|v| !v.is_empty());
    if let Some(url) = overridden {
        return Some(url);
    }
    if p.id == KIMI_CODING && key.is_some_and(|k| k.starts_with(KIMI_CODING_KEY_PREFIX)) {
        return Some(KIMI_CODING_URL.to_string());
    }
    p.default_base_url.map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn custom(name: &str, url: &str) -> CustomRef {
        CustomRef { name: name.to_string(), base_url: url.to_string() }
    }

    fn key_of(input: &str, customs: &[CustomRef]) -> String {
        resolve(input, customs).unwrap_or_else(|e| panic!("{input}: {e}")).key()
    }

    fn suggested(input: &str) -> Vec<String> {
        resolve(input, &[]).expect_err(input).suggestions
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn table_has_every_row_of_the_spec() {
        assert_eq!(all().len(), 38);
        assert_eq!(all()[0].id, "openrouter");
        assert_eq!(all().last().unwrap().id, "azure-foundry");
    }

    #[test]
    fn names_are_unique_and_normalised() {
        let mut seen = HashSet::new();
        for name in known_names().into_iter().chain(UNMANAGED.iter().copied()) {
            assert_eq!(name, name.trim().to_lowercase(), "{name} must already be normalised");
            assert!(!name.starts_with(CUSTOM_PREFIX));
            assert!(seen.insert(name), "{name} appears twice");
        }
    }

    #[test]
    fn every_id_and_alias_resolves_to_its_provider() {
        for p in all() {
            assert_eq!(resolve(p.id, &[]), Ok(Resolved::Registry(p)));
            assert_eq!(get(p.id), Some(p));
            for alias in p.aliases {
                assert_eq!(key_of(alias, &[]), p.id, "alias {alias}");
            }
        }
    }

    #[test]
    fn rows_follow_the_spec() {
        let anthropic = get("anthropic").unwrap();
        assert_eq!(anthropic.env, ["ANTHROPIC_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"]);
        assert_eq!(anthropic.wire, Wire::Anthropic);
        assert_eq!(get("openai-codex").unwrap().wire, Wire::CodexResponses);
        assert_eq!(get("alibaba-coding-plan").unwrap().env, ["ALIBABA_CODING_PLAN_API_KEY", "DASHSCOPE_API_KEY"]);
        assert_eq!(get("azure-foundry").unwrap().default_base_url, None);
        assert_eq!(get("openrouter").unwrap().url_var, None);

        let hermes_only: Vec<_> = all().iter().filter(|p| p.hermes_only).map(|p| p.id).collect();
        assert_eq!(hermes_only, ["groq", "mistral", "together", "tencent-tokenplan", "ai-gateway", "actual"]);

        for p in all() {
            let anthropic_url = p.default_base_url.is_some_and(|u| u.ends_with("/anthropic"));
            let expected = match p.id {
                "anthropic" => Wire::Anthropic,
                "openai-codex" => Wire::CodexResponses,
                _ if anthropic_url => Wire::Anthropic,
                _ => Wire::OpenAi,
            };
            assert_eq!(p.wire, expected, "{}", p.id);
        }
    }

    #[test]
    fn auth_kinds() {
        let oauth: Vec<_> = all().iter().filter(|p| supports_oauth(p)).map(|p| p.id).collect();
        assert_eq!(oauth, ["anthropic", "openai-codex", "nous"]);
        assert!(!supports_key(get("openai-codex").unwrap()));
        assert!(supports_key(get("anthropic").unwrap()));
        assert!(supports_key(get("nous").unwrap()));
        assert!(all().iter().all(|p| supports_key(p) || supports_oauth(p)));
    }

    #[test]
    fn known_names_lists_ids_then_aliases() {
        let names = known_names();
        assert_eq!(&names[..all().len()], all().iter().map(|p| p.id).collect::<Vec<_>>());
        assert_eq!(names[all().len()], "or");
        assert!(names.contains(&"azure-ai"));
    }

    #[test]
    fn input_is_trimmed_and_lowercased() {
        assert_eq!(key_of("  OpenRouter \n", &[]), "openrouter");
        assert_eq!(key_of("CLAUDE", &[]), "anthropic");
        assert_eq!(key_of("OpenAI_Codex", &[]), "openai-codex");
        assert_eq!(key_of("X.AI", &[]), "xai");
    }

    #[test]
    fn unmanaged_ids_are_recognised() {
        for id in UNMANAGED {
            assert_eq!(resolve(id, &[]), Ok(Resolved::Unmanaged(id)));
            assert_eq!(key_of(&id.to_uppercase(), &[]), *id);
            assert!(is_unmanaged(id));
            assert_eq!(get(id), None);
        }
        assert!(!is_unmanaged("openrouter"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Together.ai"), "together.ai");
        assert_eq!(slug("  My Local LLM "), "my-local-llm");
        assert_eq!(custom_key("My Local LLM"), "custom:my-local-llm");
    }

    #[test]
    fn custom_keys_resolve_with_or_without_config() {
        let customs = [custom("My Local LLM", "http://localhost:8080/v1"), custom("Together.ai", "https://t/v1")];
        let configured = Resolved::Custom {
            key: "custom:my-local-llm".to_string(),
            name: Some("My Local LLM".to_string()),
            base_url: Some("http://localhost:8080/v1".to_string()),
        };
        assert_eq!(resolve("custom:my-local-llm", &customs), Ok(configured.clone()));
        assert_eq!(resolve(" Custom:My-Local-LLM ", &customs), Ok(configured.clone()));
        assert_eq!(resolve("my-local-llm", &customs), Ok(configured.clone()));
        assert_eq!(resolve("My Local LLM", &customs), Ok(configured));
        assert_eq!(key_of("together.ai", &customs), "custom:together.ai");

        let unconfigured = Resolved::Custom { key: "custom:elsewhere".to_string(), name: None, base_url: None };
        assert_eq!(resolve("custom:elsewhere", &customs), Ok(unconfigured));
        assert!(resolve("custom:", &customs).is_err());
        assert!(resolve("elsewhere", &customs).is_err());
    }

    #[test]
    fn registry_names_win_over_custom_names() {
        let customs = [custom("OpenRouter", "http://proxy/v1")];
        assert_eq!(key_of("openrouter", &customs), "openrouter");
        assert_eq!(key_of("custom:openrouter", &customs), "custom:openrouter");
    }

    #[test]
    fn slug_collisions_keep_the_first() {
        let customs = [custom("My LLM", "http://first/v1"), custom("my llm", "http://second/v1"), custom("other", "x")];
        match resolve("my-llm", &customs) {
            Ok(Resolved::Custom { name, base_url, .. }) => {
                assert_eq!(name.as_deref(), Some("My LLM"));
                assert_eq!(base_url.as_deref(), Some("http://first/v1"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            duplicate_slug_warnings(&customs),
            ["warning: custom_providers \"my llm\" has the same slug as \"My LLM\"; using the first"]
        );
        assert!(duplicate_slug_warnings(&customs[1..]).is_empty());
    }

    #[test]
    fn pool_for_base_url_ignores_whitespace_and_trailing_slash() {
        let customs = [
            custom("Local", " http://localhost:8080/v1/ "),
            custom("Also Local", "http://localhost:8080/v1"),
            custom("Remote", "https://remote.example/v1"),
        ];
        assert_eq!(pool_for_base_url("http://localhost:8080/v1", &customs).as_deref(), Some("custom:local"));
        assert_eq!(pool_for_base_url("  http://localhost:8080/v1/", &customs).as_deref(), Some("custom:local"));
        assert_eq!(pool_for_base_url("https://remote.example/v1/", &customs).as_deref(), Some("custom:remote"));
        assert_eq!(pool_for_base_url("https://nowhere/v1", &customs), None);
        assert_eq!(pool_for_base_url("", &customs), None);
        assert_eq!(pool_for_base_url(" / ", &[custom("Empty", "")]), None);
    }

    #[test]
    fn base_url_override_default_and_strip() {
        let openai = get("openai-api").unwrap();
        assert_eq!(base_url(openai, &env(&[]), None).as_deref(), Some("https://api.openai.com/v1"));
        let lookup = env(&[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")]);
        assert_eq!(base_url(openai, &lookup, None).as_deref(), Some("http://127.0.0.1:9/v1"));

        // openrouter has no URL var, so nothing in the environment moves it.
        let openrouter = get("openrouter").unwrap();
        let lookup = env(&[("OPENROUTER_BASE_URL", "http://elsewhere")]);
        assert_eq!(base_url(openrouter, &lookup, None).as_deref(), Some("https://openrouter.ai/api/v1"));

        let azure = get("azure-foundry").unwrap();
        assert_eq!(base_url(azure, &env(&[]), None), None);
        let lookup = env(&[("AZURE_FOUNDRY_BASE_URL", "https://me.azure.com/openai/")]);
        assert_eq!(base_url(azure, &lookup, None).as_deref(), Some("https://me.azure.com/openai"));
    }

    #[test]
    fn kimi_coding_keys_use_the_coding_endpoint() {
        let kimi = get("kimi-coding").unwrap();
        assert_eq!(base_url(kimi, &env(&[]), Some("sk-kimi-abc")).as_deref(), Some("https://api.kimi.com/coding"));
        assert_eq!(base_url(kimi, &env(&[]), Some("sk-other")).as_deref(), Some("https://api.moonshot.ai/v1"));
        assert_eq!(base_url(kimi, &env(&[]), None).as_deref(), Some("https://api.moonshot.ai/v1"));
        let lookup = env(&[("KIMI_BASE_URL", "https://proxy/kimi/")]);
        assert_eq!(base_url(kimi, &lookup, Some("sk-kimi-abc")).as_deref(), Some("https://proxy/kimi"));
        // Only kimi-coding treats the prefix specially.
        let cn = get("kimi-coding-cn").unwrap();
        assert_eq!(base_url(cn, &env(&[]), Some("sk-kimi-abc")).as_deref(), Some("https://api.moonshot.cn/v1"));
    }

    #[test]
    fn typos_get_suggestions() {
        for (typo, want) in [
            ("openrouterr", "openrouter"),
            ("antropic", "anthropic"),
            ("deepsek", "deepseek"),
            ("openrout", "openrouter"),
            ("OpenRuoter", "openrouter"),
            ("grq", "groq"),
            ("zia", "zai"),
            ("copilott", "copilot"),
            ("huggingfce", "huggingface"),
        ] {
            let got = suggested(typo);
            assert_eq!(got.first().map(String::as_str), Some(want), "{typo}: {got:?}");
            assert!(got.len() <= 3);
            let unique: HashSet<_> = got.iter().collect();
            assert_eq!(unique.len(), got.len(), "{typo}: {got:?}");
        }
    }

    #[test]
    fn suggestions_include_custom_pools_and_skip_noise() {
        let customs = [custom("My Local LLM", "http://localhost:8080/v1")];
        let err = resolve("my-locl-llm", &customs).unwrap_err();
        assert_eq!(err.suggestions, ["custom:my-local-llm"]);
        assert_eq!(err.input, "my-locl-llm");
        assert!(suggested("zzzzqqq").is_empty());
        assert!(suggested("xyz").is_empty());
        assert_eq!(resolve("   ", &[]), Err(UnknownProvider { input: String::new(), suggestions: vec![] }));
    }
}
