//! HTTP for the OAuth endpoints (docs/design.md#oauth): a reqwest client (rustls) with the timeout the step
//! needs, `User-Agent: hermes/<version>` (never `claude-code/…` or `Mozilla/…`, which Anthropic
//! throttles), no redirects, and answers read into an [`Answer`] that never prints its body.

use crate::context::Epoch;
use crate::pool::hints;
use reqwest::header::HeaderValue;
use serde_json::{Map, Value};
use std::time::Duration;

/// The User-Agent of every OAuth request.
pub const USER_AGENT: &str = concat!("hermes/", env!("CARGO_PKG_VERSION"));

/// The request could not be made or got no complete answer.
#[derive(Debug, Clone)]
pub struct TransportFailure {
    pub url: String,
    /// A short reason (`timed out after 10s`, `connection failed`); never a token.
    pub detail: String,
    /// The host was unreachable (DNS, refused, connect timeout): a fallback host may be tried.
    pub connect: bool,
}

/// An HTTP answer. Its body may hold tokens, so it has no `Debug` that prints it.
pub struct Answer {
    pub status: u16,
    text: String,
    json: Option<Map<String, Value>>,
    retry_after: Option<String>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer").field("status", &self.status).finish_non_exhaustive()
    }
}

impl Answer {
    /// A 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the body is a JSON object.
    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }

    /// A top-level string field (a number is given as its text), if present and not empty.
    pub fn str(&self, key: &str) -> Option<String> {
        match self.json.as_ref()?.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A top-level number (or numeric string).
    pub fn num(&self, key: &str) -> Option<f64> {
        match self.json.as_ref()?.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A top-level field as it came.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.json.as_ref()?.get(key).filter(|v| !v.is_null())
    }

    /// The provider's error code (docs/design.md#reset-hints rules: `error.code`, `error.type`, `error`, `code`).
    pub fn reason(&self) -> Option<String> {
        hints::error_reason(&self.text)
    }

    /// The provider's error message (`error.message`, `error_description`, `message`).
    pub fn message(&self) -> Option<String> {
        hints::error_message(&self.text)
    }

    /// `Retry-After` as seconds from `now`, when the header is present and readable.
    pub fn retry_after_secs(&self, now: Epoch) -> Option<f64> {
        self.retry_after.as_deref().and_then(|v| hints::parse_retry_after(v, now)).map(|t| (t - now).max(0.0))
    }
}

/// A client for one step. Building fails only if TLS cannot be set up.
pub fn client(timeout: Duration) -> Result<reqwest::Client, TransportFailure> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| TransportFailure {
            url: String::new(),
            detail: format!("cannot set up HTTP: {e}"),
            connect: false,
        })
}

/// A header value that reqwest and hyper never show (their `Debug` prints `Sensitive`).
pub fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Send a request and read the whole answer.
pub async fn send(req: reqwest::RequestBuilder, url: &str, timeout: Duration) -> Result<Answer, TransportFailure> {
    let resp = req.send().await.map_err(|e| transport(url, &e, timeout))?;
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = resp.text().await.map_err(|e| transport(url, &e, timeout))?;
    let json = match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    Ok(Answer { status, text, json, retry_after })
}

fn transport(url: &str, e: &reqwest::Error, timeout: Duration) -> TransportFailure {
    // reqwest's own text names the URL (which holds no secret here) and the cause; keep only the
    // class of failure so that nothing a server sent ends up in a message.
    let detail = if e.is_timeout() {
        format!("timed out after {}s", timeout.as_secs())
    } else if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off".to_string()
    } else {
        "request failed".to_string()
    };
    TransportFailure { url: url.to_string(), detail, connect: e.is_connect() }
}

/// `base` without trailing `/`.
pub fn trim_base(base: &str) -> String {
    base.trim().trim_end_matches('/').to_string()
}

/// Consecutive transport errors a device-code poll tolerates before giving up (docs/design.md#oauth-flows).
pub(super) const MAX_POLL_TRANSPORT_ERRORS: u32 = 6;

/// Counts a device-code poll's consecutive transport errors: a network blip while the user is
/// approving the login must not end it, a dead endpoint must.
#[derive(Debug, Default)]
pub(super) struct PollErrors(u32);

impl PollErrors {
    /// Record one poll's transport result: `Ok(Some(answer))` to handle, `Ok(None)` to poll
    /// again, or the error once too many polls in a row failed.
    pub(super) fn record(
        &mut self,
        what: &str,
        sent: Result<Answer, TransportFailure>,
        ui: &mut dyn super::LoginUi,
    ) -> crate::error::Result<Option<Answer>> {
        match sent {
            Ok(a) => {
                self.0 = 0;
                Ok(Some(a))
            }
            Err(t) => {
                self.0 += 1;
                if self.0 > MAX_POLL_TRANSPORT_ERRORS {
                    return Err(unreachable(what, t));
                }
                ui.debug(&format!("device poll failed ({}); trying again", t.detail));
                Ok(None)
            }
        }
    }
}

/// The error for an endpoint that could not be reached.
pub(super) fn unreachable(what: &str, t: TransportFailure) -> crate::error::Error {
    super::OAuthError::Unreachable { what: what.into(), url: t.url, detail: t.detail }.into()
}

/// The error for an endpoint that answered with an error; `secrets` are masked in its message.
pub(super) fn rejected(
    what: &str,
    a: &Answer,
    home: &crate::home::Home,
    secrets: &[&crate::secret::Secret],
) -> crate::error::Error {
    super::OAuthError::Rejected {
        what: what.into(),
        status: a.status,
        reason: super::clean_reason(a.reason(), Some(home), secrets),
        message: a.message().map(|m| super::clean_message(&m, Some(home), secrets)),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_ours() {
        assert!(USER_AGENT.starts_with("hermes/"));
        assert!(!USER_AGENT.starts_with("claude-code/") && !USER_AGENT.starts_with("Mozilla/"));
    }

    #[test]
    fn sensitive_header() {
        let v = sensitive("rt-secret").unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("rt-secret"));
    }

    #[test]
    fn answer_fields() {
        let a = Answer {
            status: 400,
            text: r#"{"error": "slow_down", "error_description": "wait", "interval": "5", "n": 3}"#.into(),
            json: None,
            retry_after: Some("7".into()),
        };
        let a = Answer { json: serde_json::from_str(&a.text).ok(), ..a };
        assert_eq!(a.reason().as_deref(), Some("slow_down"));
        assert_eq!(a.message().as_deref(), Some("wait"));
        assert_eq!(a.num("interval"), Some(5.0));
        assert_eq!(a.str("n").as_deref(), Some("3"));
        assert_eq!(a.retry_after_secs(100.0), Some(7.0));
        assert!(!a.ok());
        assert!(!format!("{a:?}").contains("slow_down"));
        assert_eq!(trim_base(" http://x/ "), "http://x");
    }
}
