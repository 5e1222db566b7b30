//! When an OAuth entry's access token expires, from what is stored and the token's own claims.
//! Pure: the caller passes the instant to compare with.

use crate::context::Epoch;
use crate::model::entry::Entry;
use crate::model::jwt;
use crate::pool::view::REFRESH_SKEW;
use crate::secret::Secret;

/// When an OAuth entry's access token expires, as far as hermes can tell (docs/design.md#oauth-flows):
/// anthropic `expires_at_ms`; openai-codex the access token's `exp` claim; nous `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expiry {
    /// No expiry is known: no proactive refresh.
    Unknown,
    /// The token expires at this instant.
    At(Epoch),
    /// A stored expiry that cannot be read (Nous): treated as expiring.
    Unreadable,
}

impl Expiry {
    /// The instant, when known.
    pub fn at(self) -> Option<Epoch> {
        match self {
            Expiry::At(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the token is within the refresh skew of its expiry (or already past it).
    pub fn due(self, now: Epoch) -> bool {
        match self {
            Expiry::Unknown => false,
            Expiry::At(t) => t - REFRESH_SKEW <= now,
            Expiry::Unreadable => true,
        }
    }

    /// Whether the token can no longer be used at all.
    pub fn expired(self, now: Epoch) -> bool {
        match self {
            Expiry::Unknown => false,
            Expiry::At(t) => t <= now,
            Expiry::Unreadable => true,
        }
    }
}

/// The access-token expiry of an entry of `pool_key` whose live secret is `secret`.
pub fn access_expiry(pool_key: &str, entry: &Entry, secret: Option<&Secret>) -> Expiry {
    let from_ms = || entry.expires_at_ms.map(|ms| Expiry::At(ms as f64 / 1000.0));
    let from_iso =
        || entry.expires_at.as_deref().map(|s| crate::time::parse_iso(s).map_or(Expiry::Unreadable, Expiry::At));
    let from_jwt = || secret.and_then(|s| jwt::exp(&jwt::claims(s.expose()))).map(Expiry::At);
    let found = match pool_key {
        "anthropic" => from_ms(),
        "openai-codex" => from_jwt(),
        "nous" => from_iso(),
        _ => from_ms().or_else(from_iso),
    };
    found.unwrap_or(Expiry::Unknown)
}

/// The refresh skew, for messages.
pub const SKEW: f64 = REFRESH_SKEW;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn entry(v: Value) -> Entry {
        Entry::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn expiry_by_provider() {
        let e = entry(json!({"id": "a", "expires_at_ms": 1_000_000_000_000i64, "expires_at": "2001-09-09T01:46:40Z"}));
        assert_eq!(access_expiry("anthropic", &e, None), Expiry::At(1_000_000_000.0));
        assert_eq!(access_expiry("nous", &e, None), Expiry::At(1_000_000_000.0));
        let tok = Secret::new(jwt::unsigned(&json!({"exp": 1234})));
        assert_eq!(access_expiry("openai-codex", &e, Some(&tok)), Expiry::At(1234.0));
        assert_eq!(access_expiry("openai-codex", &e, Some(&Secret::new("opaque"))), Expiry::Unknown);
        let bad = entry(json!({"id": "a", "expires_at": "soon"}));
        assert_eq!(access_expiry("nous", &bad, None), Expiry::Unreadable);
        assert!(Expiry::Unreadable.due(0.0) && Expiry::Unreadable.expired(0.0));
        assert!(Expiry::At(1000.0).due(1000.0 - REFRESH_SKEW));
        assert!(!Expiry::At(1000.0).due(1000.0 - REFRESH_SKEW - 1.0));
        assert!(!Expiry::At(1000.0).expired(999.0));
        assert!(!Expiry::Unknown.due(1e12));
    }
}
