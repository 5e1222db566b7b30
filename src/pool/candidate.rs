//! Credentials discovered outside auth.json (environment, `.env`, config.yaml, another tool's
//! files), as plain data: the seeding I/O in [`crate::home::sources`] produces them and the pool
//! view shows them next to the stored entries.

use crate::model::entry::AuthType;
use crate::secret::Secret;
use serde_json::{Map, Value};

pub const CLAUDE_CODE: &str = "claude_code";
pub const MODEL_CONFIG: &str = "model_config";
pub const DEVICE_CODE: &str = "device_code";
pub const CODEX_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";

/// A credential discovered outside auth.json, exactly as it would be stored.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub source: String,
    pub label: String,
    pub auth_type: AuthType,
    pub base_url: Option<String>,
    /// The live secret (API key or access token).
    pub secret: Secret,
    /// Further fields the stored entry carries (expiry, owned singleton tokens, Nous metadata).
    pub extra: Map<String, Value>,
}

const PLACEHOLDERS: &[&str] = &[
    "*",
    "**",
    "***",
    "changeme",
    "your_api_key",
    "your_api_key_here",
    "your-api-key",
    "placeholder",
    "example",
    "dummy",
    "null",
    "none",
];

/// A value that only stands in for a key (docs/design.md#seeding).
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.chars().count() < 4 || PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(v))
}

/// Why `value` cannot be a key: a key is one word of printable characters, and never starts or
/// ends with a quote (what a `.env` line with an unterminated quote leaves). `auth add` and seeding
/// from variables apply this one rule.
pub fn key_shape_problem(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.chars().any(char::is_whitespace) {
        Some("contains whitespace")
    } else if v.chars().any(char::is_control) {
        Some("contains control characters (an escape sequence?)")
    } else if v.starts_with(['"', '\'']) || v.ends_with(['"', '\'']) {
        Some("starts or ends with a quote")
    } else {
        None
    }
}

/// Why a stored borrowed entry has no live value (`source missing: …`).
pub fn missing_detail(source: &str) -> String {
    if let Some(var) = source.strip_prefix("env:") {
        format!("{var} not set")
    } else if let Some(name) = source.strip_prefix("config:") {
        format!("{name} not in config.yaml")
    } else if source == MODEL_CONFIG {
        "model_config not in config.yaml".into()
    } else if source == CLAUDE_CODE {
        "Claude Code file missing".into()
    } else {
        format!("hermes does not read {source}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for v in ["changeme", "DUMMY", "***", "none", "abc", "  ab  ", "your-api-key", ""] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in ["sk-or-v1-abc", "abcd"] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn missing_details() {
        assert_eq!(missing_detail("env:OPENROUTER_API_KEY"), "OPENROUTER_API_KEY not set");
        assert_eq!(missing_detail("config:My LLM"), "My LLM not in config.yaml");
        assert_eq!(missing_detail("claude_code"), "Claude Code file missing");
        assert_eq!(missing_detail("gh_cli"), "hermes does not read gh_cli");
    }
}
