//! Error classification: what one provider answer means for the credential that sent it.
//!
//! [`classify`] is a pure function of the answer (status code, headers, body, or a transport
//! failure) and `now`. It reads the provider's reason, message and reset hint with
//! [`crate::pool::hints`] (docs/design.md#reset-hints), so the runtime, `auth report` and hermes-agent all read the same
//! deadline from the same answer, and returns one [`Class`] that the recovery policy
//! ([`super::policy`]) acts on.

use crate::context::Epoch;
use crate::pool::cooldown::{self, Outcome};
use crate::pool::hints;

/// An HTTP answer from a provider, as the runtime needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header (name, value) pairs; names in any case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// The request or the connection timed out.
    Timeout,
    /// Connecting failed, or the connection broke before a full answer arrived.
    Connection,
    /// The request could not even be built (an invalid base URL): retrying cannot help.
    Invalid,
}

/// A request that got no HTTP answer. `message` never holds a secret (URLs carry none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub kind: TransportErrorKind,
    pub message: String,
}

/// What an answer means for the credential (one word each in `chat --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 2xx.
    Success,
    /// 429: a rate limit that resets soon.
    RateLimited,
    /// 429 for a usage window or quota (daily, monthly, plan): it does not reset within the
    /// request, so the same key is never retried.
    UsageExhausted,
    /// 402: out of credit.
    Billing,
    /// 401 that a refresh or a new key may fix.
    Auth,
    /// 401 whose reason says the credential can never recover (`token_invalidated`, `revoked`…).
    AuthPermanent,
    /// 403.
    Forbidden,
    /// 5xx (and 529 overloaded): the server's trouble, not the key's.
    ServerError,
    /// No answer in time (also an HTTP 408).
    Timeout,
    /// The connection failed or broke.
    Connection,
    /// Any other status (400, 404, 422…): the request itself is wrong; returned unchanged.
    ClientError,
    /// The request could not be built (invalid URL).
    Invalid,
}

impl Class {
    /// The `outcome` word of `chat --json` and `auth simulate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Success => "ok",
            Class::RateLimited => "rate_limited",
            Class::UsageExhausted => "usage_exhausted",
            Class::Billing => "billing",
            Class::Auth => "auth",
            Class::AuthPermanent => "auth_permanent",
            Class::Forbidden => "forbidden",
            Class::ServerError => "server_error",
            Class::Timeout => "timeout",
            Class::Connection => "connection",
            Class::ClientError => "client_error",
            Class::Invalid => "invalid_request",
        }
    }

    /// 5xx, timeouts and connection errors: no mark, a bounded retry, then the next fallback.
    pub fn is_transient(self) -> bool {
        matches!(self, Class::ServerError | Class::Timeout | Class::Connection)
    }
}

/// One classified answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub class: Class,
    /// The HTTP status, when there was an answer.
    pub code: Option<u16>,
    /// The provider's error code or type (docs/design.md#reset-hints "Reason").
    pub reason: Option<String>,
    /// The provider's error message (docs/design.md#reset-hints "Message"), unmasked: callers mask it.
    pub message: Option<String>,
    /// The provider's reset hint (docs/design.md#reset-hints), absolute, after now, clamped to 7 days.
    pub reset_at: Option<Epoch>,
    /// Seconds the provider asked to wait (`Retry-After`/`retry-after-ms`, 0 allowed), else the
    /// time to the reset hint. The sole-entry 429 rule compares this with 5 s.
    pub retry_in: Option<f64>,
}

/// Reasons (case-insensitive, substring) that mark a 429 as a spent usage window or quota.
const USAGE_REASONS: [&str; 4] = ["quota", "usage_limit", "limit_reached", "resource_exhausted"];
/// Message phrases (lowercase, substring) with the same meaning.
const USAGE_PHRASES: [&str; 8] =
    ["quota", "per day", "daily", "per month", "monthly", "usage limit", "plan limit", "billing"];
/// A 429 whose reset lies further ahead than this is a usage window, not a burst limit.
const USAGE_WINDOW_SECS: f64 = 15.0 * 60.0;

/// Classify an answer (or a transport failure) at `now`.
pub fn classify(answer: &Result<HttpResponse, TransportError>, now: Epoch) -> Classified {
    let r = match answer {
        Ok(r) => r,
        Err(e) => {
            let class = match e.kind {
                TransportErrorKind::Timeout => Class::Timeout,
                TransportErrorKind::Connection => Class::Connection,
                TransportErrorKind::Invalid => Class::Invalid,
            };
            return Classified {
                class,
                code: None,
                reason: None,
                message: Some(e.message.clone()),
                reset_at: None,
                retry_in: None,
            };
        }
    };
    let code = r.status;
    if (200..300).contains(&code) {
        return Classified {
            class: Class::Success,
            code: Some(code),
            reason: None,
            message: None,
            reset_at: None,
            retry_in: None,
        };
    }
    let reason = hints::error_reason(&r.body);
    let message = hints::error_message(&r.body);
    let reset_at = hints::reset_hint(&r.headers, &r.body, now);
    let retry_in = requested_wait(&r.headers, now).or_else(|| reset_at.map(|t| t - now));
    let class = match code {
        429 if usage_window(reason.as_deref(), message.as_deref(), reset_at, now) => Class::UsageExhausted,
        429 => Class::RateLimited,
        402 => Class::Billing,
        401 if reason.as_deref().is_some_and(cooldown::is_terminal_reason) => Class::AuthPermanent,
        401 => Class::Auth,
        403 => Class::Forbidden,
        // A request timeout reported by the server is a timeout like any other.
        408 => Class::Timeout,
        500..=599 => Class::ServerError,
        _ => Class::ClientError,
    };
    Classified { class, code: Some(code), reason, message, reset_at, retry_in }
}

/// `Retry-After` (seconds or HTTP-date) or `retry-after-ms`, relative to now; 0 is a valid wait.
fn requested_wait(headers: &[(String, String)], now: Epoch) -> Option<f64> {
    let get = |name: &str| headers.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    if let Some(t) = get("retry-after").and_then(|v| hints::parse_retry_after(v, now)) {
        return Some((t - now).max(0.0));
    }
    get("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| ms / 1000.0)
}

fn usage_window(reason: Option<&str>, message: Option<&str>, reset_at: Option<Epoch>, now: Epoch) -> bool {
    let reason = reason.map(str::to_ascii_lowercase).unwrap_or_default();
    let message = message.map(str::to_lowercase).unwrap_or_default();
    USAGE_REASONS.iter().any(|r| reason.contains(r))
        || USAGE_PHRASES.iter().any(|p| message.contains(p))
        || reset_at.is_some_and(|t| t - now > USAGE_WINDOW_SECS)
}

impl Classified {
    /// The docs/design.md#cooldowns outcome to mark the entry with. The mark keeps the provider's HTTP code, so the
    /// stored row reads the same as one `auth report` or hermes-agent would write.
    pub fn outcome(&self) -> Outcome {
        match self.class {
            Class::Success => Outcome::Success,
            Class::ServerError | Class::Timeout | Class::Connection | Class::Invalid => Outcome::Transient,
            _ => Outcome::Http {
                code: self.code.unwrap_or(0),
                reason: self.reason.clone(),
                message: self.message.clone(),
                hint: self.reset_at,
            },
        }
    }

    /// `429 rate_limit_exceeded`, `timeout`: the code (or class) and the reason, for messages.
    pub fn short(&self) -> String {
        let head = match self.code {
            Some(c) => c.to_string(),
            None => self.class.as_str().to_string(),
        };
        match self.reason.as_deref() {
            Some(r) => format!("{head} {r}"),
            None => head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Epoch = 1_782_896_400.0;

    fn http(status: u16, headers: &[(&str, &str)], body: &str) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.to_string(),
        })
    }

    fn transport(kind: TransportErrorKind) -> Result<HttpResponse, TransportError> {
        Err(TransportError { kind, message: "boom".into() })
    }

    /// (name, answer, class, reason, reset_at - NOW, retry_in)
    type Row =
        (&'static str, Result<HttpResponse, TransportError>, Class, Option<&'static str>, Option<f64>, Option<f64>);

    #[test]
    fn classification_table() {
        let openai_429 =
            r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#;
        let openai_quota = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let anthropic_401 = r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        let anthropic_529 = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let codex_usage = r#"{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","resets_in_seconds":7200}}"#;
        let rows: Vec<Row> = vec![
            ("200", http(200, &[], "{}"), Class::Success, None, None, None),
            ("204", http(204, &[], ""), Class::Success, None, None, None),
            ("429 plain", http(429, &[], openai_429), Class::RateLimited, Some("rate_limit_exceeded"), None, None),
            (
                "429 Retry-After 30",
                http(429, &[("Retry-After", "30")], ""),
                Class::RateLimited,
                None,
                Some(30.0),
                Some(30.0),
            ),
            (
                "429 Retry-After 3",
                http(429, &[("retry-after", "3")], ""),
                Class::RateLimited,
                None,
                Some(3.0),
                Some(3.0),
            ),
            ("429 Retry-After 0", http(429, &[("Retry-After", "0")], ""), Class::RateLimited, None, None, Some(0.0)),
            (
                "429 Retry-After HTTP-date",
                http(429, &[("Retry-After", "Wed, 01 Jul 2026 09:02:00 GMT")], ""),
                Class::RateLimited,
                None,
                Some(120.0),
                Some(120.0),
            ),
            (
                "429 retry-after-ms",
                http(429, &[("retry-after-ms", "1500")], ""),
                Class::RateLimited,
                None,
                Some(1.5),
                Some(1.5),
            ),
            (
                "429 x-ratelimit-reset",
                http(429, &[("x-ratelimit-reset", "6m0s")], ""),
                Class::RateLimited,
                None,
                Some(360.0),
                Some(360.0),
            ),
            (
                "429 insufficient_quota",
                http(429, &[], openai_quota),
                Class::UsageExhausted,
                Some("insufficient_quota"),
                None,
                None,
            ),
            (
                "429 usage window",
                http(429, &[], codex_usage),
                Class::UsageExhausted,
                Some("usage_limit_reached"),
                Some(7200.0),
                Some(7200.0),
            ),
            (
                "429 daily message",
                http(429, &[], r#"{"error":{"message":"Daily request limit exceeded"}}"#),
                Class::UsageExhausted,
                None,
                None,
                None,
            ),
            (
                "429 RESOURCE_EXHAUSTED",
                http(
                    429,
                    &[],
                    r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"Resource has been exhausted"}}"#,
                ),
                Class::RateLimited,
                Some("429"),
                None,
                None,
            ),
            (
                "429 far reset",
                http(429, &[("Retry-After", "3600")], ""),
                Class::UsageExhausted,
                None,
                Some(3600.0),
                Some(3600.0),
            ),
            (
                "402",
                http(402, &[], r#"{"error":{"code":"insufficient_credits"}}"#),
                Class::Billing,
                Some("insufficient_credits"),
                None,
                None,
            ),
            ("401", http(401, &[], anthropic_401), Class::Auth, Some("authentication_error"), None, None),
            (
                "401 token_invalidated",
                http(401, &[], r#"{"error":{"code":"token_invalidated"}}"#),
                Class::AuthPermanent,
                Some("token_invalidated"),
                None,
                None,
            ),
            (
                "401 revoked",
                http(401, &[], r#"{"error":"revoked"}"#),
                Class::AuthPermanent,
                Some("revoked"),
                None,
                None,
            ),
            (
                "403",
                http(403, &[], r#"{"error":{"type":"permission_error"}}"#),
                Class::Forbidden,
                Some("permission_error"),
                None,
                None,
            ),
            ("408", http(408, &[], ""), Class::Timeout, None, None, None),
            ("500", http(500, &[], "oops"), Class::ServerError, None, None, None),
            (
                "503 with Retry-After",
                http(503, &[("Retry-After", "20")], ""),
                Class::ServerError,
                None,
                Some(20.0),
                Some(20.0),
            ),
            ("529 overloaded", http(529, &[], anthropic_529), Class::ServerError, Some("overloaded_error"), None, None),
            (
                "400",
                http(400, &[], r#"{"error":{"type":"invalid_request_error","message":"bad"}}"#),
                Class::ClientError,
                Some("invalid_request_error"),
                None,
                None,
            ),
            ("404", http(404, &[], "not found"), Class::ClientError, None, None, None),
            ("422", http(422, &[], "{}"), Class::ClientError, None, None, None),
            ("301", http(301, &[], ""), Class::ClientError, None, None, None),
            ("timeout", transport(TransportErrorKind::Timeout), Class::Timeout, None, None, None),
            ("connection", transport(TransportErrorKind::Connection), Class::Connection, None, None, None),
            ("invalid URL", transport(TransportErrorKind::Invalid), Class::Invalid, None, None, None),
        ];
        for (name, answer, class, reason, reset_in, retry_in) in rows {
            let c = classify(&answer, NOW);
            assert_eq!(c.class, class, "{name}");
            assert_eq!(c.reason.as_deref(), reason, "{name}");
            assert_eq!(c.reset_at.map(|t| t - NOW), reset_in, "{name}");
            assert_eq!(c.retry_in, retry_in, "{name}");
        }
    }

    #[test]
    fn outcomes_keep_the_code_and_hint() {
        let c = classify(&http(429, &[("Retry-After", "120")], r#"{"error":{"message":"slow down"}}"#), NOW);
        assert_eq!(
            c.outcome(),
            Outcome::Http { code: 429, reason: None, message: Some("slow down".into()), hint: Some(NOW + 120.0) }
        );
        assert_eq!(classify(&http(503, &[], ""), NOW).outcome(), Outcome::Transient);
        assert_eq!(classify(&transport(TransportErrorKind::Timeout), NOW).outcome(), Outcome::Transient);
        assert_eq!(classify(&http(200, &[], ""), NOW).outcome(), Outcome::Success);
        // A client error is not about the key: deciding on it changes nothing.
        assert!(matches!(classify(&http(400, &[], ""), NOW).outcome(), Outcome::Http { code: 400, .. }));
        assert_eq!(c.short(), "429");
        assert_eq!(classify(&transport(TransportErrorKind::Timeout), NOW).short(), "timeout");
    }
}
