//! Reset hints and error details from a provider's error response (§7.3).
use crate::context::Epoch;

/// The provider's reset hint as an absolute epoch: ignored when at or before `now`, clamped to
/// 7 days ahead. `headers` are (name, value) pairs, names in any case.
pub fn reset_hint(headers: &[(String, String)], body: &str, now: Epoch) -> Option<Epoch> {
    let _ = (headers, body, now);
    todo!()
}

/// `Retry-After` value (seconds, decimal seconds, or an HTTP-date) as an absolute epoch.
pub fn parse_retry_after(value: &str, now: Epoch) -> Option<Epoch> {
    let _ = (value, now);
    todo!()
}

/// Reason: `error.code`, else `error.type`, else `error` if a string, else top-level `code`.
pub fn error_reason(body: &str) -> Option<String> {
    let _ = body;
    todo!()
}

/// Message: `error.message`, else `error_description`, else `message`.
pub fn error_message(body: &str) -> Option<String> {
    let _ = body;
    todo!()
}
