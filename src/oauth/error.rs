//! Why an OAuth step failed, and the sanitising of what token endpoints say.

use crate::error::{Error, OAuthKind};
use crate::home::Home;
use crate::secret::{Redactor, Secret};

/// Why an OAuth step failed. Each text is one line and never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The `state` that came back is not the one this login sent (docs/design.md#oauth-flows).
    #[error("state mismatch: the authorization code does not belong to this login; nothing was saved")]
    StateMismatch,
    /// The user (or the server on the user's behalf) refused the login.
    #[error("{provider} login was denied{}", suffix(.detail))]
    Denied { provider: String, detail: Option<String> },
    /// The device code or the wait for the browser ran out before the login was approved.
    #[error("{provider} login expired: {detail}; run the command again")]
    Expired { provider: String, detail: String },
    /// An endpoint answered with an error status.
    #[error("{what}: HTTP {status}{}", reason_suffix(.reason, .message))]
    Rejected { what: String, status: u16, reason: Option<String>, message: Option<String> },
    /// The endpoint could not be reached or did not answer in time.
    #[error("{what}: cannot reach {url}: {detail}")]
    Unreachable { what: String, url: String, detail: String },
    /// The endpoint answered, but not with what the flow needs.
    #[error("{what}: unexpected answer: {detail}")]
    BadAnswer { what: String, detail: String },
    /// Something to import is not there.
    #[error("{0}")]
    NothingToImport(String),
}

fn suffix(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

fn reason_suffix(reason: &Option<String>, message: &Option<String>) -> String {
    match (reason.as_deref(), message.as_deref()) {
        (Some(r), Some(m)) => format!(" {r}: {m}"),
        (Some(r), None) => format!(" {r}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Error {
        let (kind, provider) = match &e {
            OAuthError::StateMismatch => (OAuthKind::StateMismatch, None),
            OAuthError::Denied { provider, .. } => (OAuthKind::Denied, Some(provider.clone())),
            OAuthError::Expired { provider, .. } => (OAuthKind::Expired, Some(provider.clone())),
            OAuthError::Rejected { .. } => (OAuthKind::Rejected, None),
            OAuthError::Unreachable { .. } => (OAuthKind::Unreachable, None),
            OAuthError::BadAnswer { .. } => (OAuthKind::BadAnswer, None),
            OAuthError::NothingToImport(_) => (OAuthKind::NothingToImport, None),
        };
        Error::OAuth { kind, provider, message: e.to_string() }
    }
}

/// Provider text from a token endpoint, sanitised: every secret the home knows, every secret in
/// `secrets` (the tokens this flow holds) and anything shaped like a key masked, control
/// characters gone, at most 300 characters.
pub(crate) fn clean_message(text: &str, home: Option<&Home>, secrets: &[&Secret]) -> String {
    redactor(home, secrets).message(Some(text)).unwrap_or_default()
}

/// A provider's error code or type from a token endpoint, sanitised like [`clean_message`].
pub(crate) fn clean_reason(text: Option<String>, home: Option<&Home>, secrets: &[&Secret]) -> Option<String> {
    redactor(home, secrets).reason(text.as_deref())
}

fn redactor(home: Option<&Home>, secrets: &[&Secret]) -> Redactor {
    let mut r = home.map(Home::redactor_now).unwrap_or_default();
    for s in secrets {
        r.add_secret(s);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_masked_and_cut() {
        let s = Secret::new("rt-very-secret-refresh");
        let m = clean_message("  bad token rt-very-secret-refresh  ", None, &[&s]);
        assert_eq!(m, "bad token rt-v…resh");
        assert_eq!(clean_message(&"x".repeat(400), None, &[]).chars().count(), 300);
    }

    #[test]
    fn error_texts() {
        let e = OAuthError::Rejected {
            what: "anthropic refresh".into(),
            status: 400,
            reason: Some("invalid_grant".into()),
            message: Some("Refresh token revoked".into()),
        };
        assert_eq!(e.to_string(), "anthropic refresh: HTTP 400 invalid_grant: Refresh token revoked");
        assert_eq!(OAuthError::Denied { provider: "nous".into(), detail: None }.to_string(), "nous login was denied");
    }
}
