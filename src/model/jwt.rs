//! JWT helpers (docs/design.md#account-matching): read claims without verifying signatures, for labels, expiry and
//! account matching. Any malformed token gives an empty claim set.

use base64::Engine;
use serde_json::{Map, Value};

/// The payload claims, or `{}` on any failure.
pub fn claims(token: &str) -> Map<String, Value> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Map::new();
    }
    let mut payload = parts[1].trim_end_matches('=').to_string();
    while !payload.len().is_multiple_of(4) {
        payload.push('=');
    }
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE.decode(payload.as_bytes()) else {
        return Map::new();
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The first of `email`, `preferred_username`, `upn`.
pub fn label(claims: &Map<String, Value>) -> Option<String> {
    ["email", "preferred_username", "upn"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string))
}

/// The `email` claim, lowercased, for account matching.
pub fn email(claims: &Map<String, Value>) -> Option<String> {
    claims.get("email").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_lowercase)
}

/// The claim OpenAI puts the account's profile under (Codex access tokens).
pub const OPENAI_PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// The account's e-mail, lowercased, for matching a login to an entry (docs/design.md#account-matching): the `email`
/// claim, else the e-mail in OpenAI's profile claim.
pub fn account_email(claims: &Map<String, Value>) -> Option<String> {
    email(claims).or_else(|| {
        claims
            .get(OPENAI_PROFILE_CLAIM)
            .and_then(|p| p.get("email"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase)
    })
}

/// The `exp` claim in epoch seconds.
pub fn exp(claims: &Map<String, Value>) -> Option<f64> {
    claims.get("exp").and_then(Value::as_f64)
}

/// Whether the token's scope (`scope` or `scp`, space-separated string or list) includes `want`.
pub fn has_scope(claims: &Map<String, Value>, want: &str) -> bool {
    ["scope", "scp"].iter().any(|k| match claims.get(*k) {
        Some(Value::String(s)) => s.split_whitespace().any(|x| x == want),
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(want)),
        _ => false,
    })
}

/// Build an unsigned token with these claims (tests and mock servers).
pub fn unsigned(claims: &Value) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}.sig", e.encode(br#"{"alg":"none"}"#), e.encode(claims.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_and_tolerates_garbage() {
        let t = unsigned(&json!({"email": "A@x.io", "exp": 1700000000, "scope": "inference:invoke other"}));
        let c = claims(&t);
        assert_eq!(label(&c).as_deref(), Some("A@x.io"));
        assert_eq!(email(&c).as_deref(), Some("a@x.io"));
        assert_eq!(exp(&c), Some(1700000000.0));
        assert!(has_scope(&c, "inference:invoke"));
        assert!(claims("not-a-jwt").is_empty());
        assert!(claims("a.b.c.d").is_empty());
        assert!(claims("a.!!!.c").is_empty());
        assert!(claims("sk-or-v1-abc").is_empty());
    }

    #[test]
    fn account_email_from_profile_claim() {
        let c = claims(&unsigned(&json!({OPENAI_PROFILE_CLAIM: {"email": "Dev@Example.com"}})));
        assert_eq!(account_email(&c).as_deref(), Some("dev@example.com"));
        assert_eq!(label(&c), None);
        let c = claims(&unsigned(&json!({"email": "a@x.io", OPENAI_PROFILE_CLAIM: {"email": "b@x.io"}})));
        assert_eq!(account_email(&c).as_deref(), Some("a@x.io"));
    }
}
