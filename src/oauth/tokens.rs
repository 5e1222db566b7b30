//! What a provider's token endpoint gives back to a refresh: new tokens, or why not.

use super::error::OAuthError;
use super::http::{Answer, TransportFailure};
use crate::home::Home;
use crate::pool::cooldown::is_terminal_reason;
use crate::secret::Secret;
use serde_json::Value;

/// New tokens from a provider's token endpoint.
pub(crate) struct NewTokens {
    pub access: Secret,
    /// `None`: the endpoint sent no new refresh token; the old one stays.
    pub refresh: Option<Secret>,
    /// Expiry and provider fields to write into the entry.
    pub fields: Vec<(&'static str, Value)>,
    /// A new inference base URL (Nous), already checked.
    pub base_url: Option<String>,
}

/// Why a provider refresh failed.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// A terminal reason (docs/design.md#cooldowns): the entry becomes dead.
    Terminal { reason: String, message: Option<String> },
    /// Anything else: try again later.
    Transient(String),
}

impl Failure {
    pub(crate) fn from_transport(t: TransportFailure) -> Failure {
        Failure::Transient(format!("cannot reach {}: {}", t.url, t.detail))
    }

    /// An error answer: terminal when its reason is one of docs/design.md#cooldowns, else transient.
    pub(crate) fn from_answer(a: &Answer, what: &str, home: &Home, secrets: &[&Secret]) -> Failure {
        let reason = super::error::clean_reason(a.reason(), Some(home), secrets);
        let message = a.message().map(|m| super::error::clean_message(&m, Some(home), secrets));
        match reason {
            Some(r) if is_terminal_reason(&r) => Failure::Terminal { reason: r, message },
            reason => Failure::Transient(
                OAuthError::Rejected { what: what.into(), status: a.status, reason, message }.to_string(),
            ),
        }
    }
}
