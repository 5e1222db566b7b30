//! Reset hints and error details from a provider's error response (docs/design.md#reset-hints).
//!
//! Everything here is a pure function of the response (headers and body text) and `now`. Nothing
//! panics on any input: a body that is not JSON, a header that is not a number, or a date out of
//! range simply yields no hint. Text patterns are matched by hand (the crate has no regex
//! dependency) and follow hermes-agent's patterns, so both tools read the same hint from the
//! same message.

use crate::context::Epoch;
use crate::model::entry::{normalise_epoch, parse_epoch_str};
use serde_json::{Map, Value};
use std::iter::once_with;

/// Reset hints further ahead than this are clamped to it (docs/design.md#reset-hints).
pub const MAX_HINT_SECS: f64 = 7.0 * 86400.0;

/// Body keys holding an absolute reset time (docs/design.md#reset-hints).
const ABSOLUTE_KEYS: [&str; 3] = ["reset_at", "resets_at", "retry_until"];
/// Body keys holding a relative wait in seconds (docs/design.md#reset-hints).
const RELATIVE_KEYS: [&str; 3] = ["resets_in_seconds", "retry_after_seconds", "retry_after"];

/// The provider's reset hint as an absolute epoch: ignored when at or before `now`, clamped to
/// 7 days ahead. `headers` are (name, value) pairs, names in any case.
///
/// Sources are tried in the docs/design.md#reset-hints order and the first usable candidate wins; a candidate at or
/// before `now` (or unparseable) is skipped and the search goes on, so a stale header cannot hide
/// a good hint further down.
pub fn reset_hint(headers: &[(String, String)], body: &str, now: Epoch) -> Option<Epoch> {
    let json = parse_object(body);
    let objects = body_objects(json.as_ref());
    let message = json.as_ref().and_then(message_of);

    let retry_after = once_with(|| header(headers, "retry-after").and_then(|v| parse_retry_after(v, now)));
    let retry_after_ms = once_with(|| {
        header(headers, "retry-after-ms").and_then(parse_number).filter(|ms| *ms >= 0.0).map(|ms| now + ms / 1000.0)
    });
    let absolute = objects.iter().flat_map(|o| ABSOLUTE_KEYS.iter().map(move |k| o.get(*k).and_then(absolute_epoch)));
    let relative = objects
        .iter()
        .flat_map(|o| RELATIVE_KEYS.iter().map(move |k| o.get(*k).and_then(relative_secs).map(|s| now + s)));
    let ratelimit_reset =
        once_with(|| header(headers, "x-ratelimit-reset").and_then(|v| parse_ratelimit_reset(v, now)));
    // The message first (that is where hermes-agent looks), then the raw body, which also
    // covers non-JSON bodies and Google's `quotaResetDelay` inside `error.details`.
    let from_message = once_with(|| message.as_deref().and_then(text_delay).map(|d| now + d));
    let from_body = once_with(|| text_delay(body).map(|d| now + d));

    retry_after
        .chain(retry_after_ms)
        .chain(absolute)
        .chain(relative)
        .chain(ratelimit_reset)
        .chain(from_message)
        .chain(from_body)
        .find_map(|candidate| usable(candidate, now))
}

/// `Retry-After` value (seconds, decimal seconds, or an HTTP-date) as an absolute epoch.
///
/// A negative or non-finite number is not a wait and gives `None`.
pub fn parse_retry_after(value: &str, now: Epoch) -> Option<Epoch> {
    let t = value.trim();
    if let Some(secs) = parse_number(t) {
        return (secs >= 0.0).then_some(now + secs);
    }
    crate::time::parse_http_date(t).filter(|t| t.is_finite())
}

/// Reason: `error.code`, else `error.type`, else `error` if a string, else top-level `code`.
///
/// Numbers are returned as their JSON text (`429`); empty strings count as absent.
pub fn error_reason(body: &str) -> Option<String> {
    let obj = parse_object(body)?;
    let error = obj.get("error");
    let error_obj = error.and_then(Value::as_object);
    error_obj
        .and_then(|e| as_text(e.get("code")))
        .or_else(|| error_obj.and_then(|e| as_text(e.get("type"))))
        .or_else(|| error.and_then(Value::as_str).and_then(non_empty))
        .or_else(|| as_text(obj.get("code")))
}

/// Message: `error.message`, else `error_description`, else `message`.
///
/// Only string values count; a body that is not a JSON object has no message.
pub fn error_message(body: &str) -> Option<String> {
    message_of(&parse_object(body)?)
}

fn message_of(obj: &Map<String, Value>) -> Option<String> {
    let error_obj = obj.get("error").and_then(Value::as_object);
    error_obj
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .and_then(non_empty)
        .or_else(|| obj.get("error_description").and_then(Value::as_str).and_then(non_empty))
        .or_else(|| obj.get("message").and_then(Value::as_str).and_then(non_empty))
}

/// Keep a candidate only if it is a real instant after `now`; clamp it to 7 days ahead.
fn usable(candidate: Option<Epoch>, now: Epoch) -> Option<Epoch> {
    let t = candidate.filter(|t| t.is_finite())?;
    (t > now).then(|| t.min(now + MAX_HINT_SECS))
}

fn parse_object(body: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(body.trim()) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// The top-level object, then `error` when it is an object.
fn body_objects(json: Option<&Map<String, Value>>) -> Vec<&Map<String, Value>> {
    let Some(top) = json else { return Vec::new() };
    let mut out = vec![top];
    if let Some(e) = top.get("error").and_then(Value::as_object) {
        out.push(e);
    }
    out
}

/// First header with this name, compared case-insensitively.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => non_empty(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A finite decimal number (`120`, `1.5`), nothing else.
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    // `f64::from_str` also takes `inf` and `NaN`; only digits, a sign, a point or an exponent
    // make a number here.
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// An absolute body value: a number (seconds, or ms above 1e12), or a numeric or ISO string.
fn absolute_epoch(v: &Value) -> Option<Epoch> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()).map(normalise_epoch),
        Value::String(s) => parse_epoch_str(s),
        _ => None,
    }
}

/// A relative body value in seconds: a number, a numeric string or a duration string.
fn relative_secs(v: &Value) -> Option<f64> {
    let secs = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_number(s).or_else(|| parse_duration(s)),
        _ => None,
    }?;
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

/// `x-ratelimit-reset`: a duration or a number below 1e9 is relative; a number up to 1e12 is
/// epoch seconds and above that epoch milliseconds; an ISO value is absolute.
pub(crate) fn parse_ratelimit_reset(value: &str, now: Epoch) -> Option<Epoch> {
    let t = value.trim();
    if let Some(x) = parse_number(t) {
        if x < 0.0 {
            return None;
        }
        // Below 1e9 (2001) a number cannot be a current epoch, so it is a wait; reading it as
        // an epoch would put the reset in 1970.
        return Some(if x < 1e9 { now + x } else { normalise_epoch(x) });
    }
    if let Some(d) = parse_duration(t) {
        return Some(now + d);
    }
    crate::time::parse_iso(t)
}

/// A Go-style duration: one or more `<decimal><unit>` pairs, units h, m, s, ms, us/µs, ns
/// (`6m0s`, `1.5s`, `20ms`). Returns seconds.
fn parse_duration(s: &str) -> Option<f64> {
    let t = s.trim();
    let b = t.as_bytes();
    let mut i = 0;
    let mut total = 0.0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let number: f64 = t.get(start..i)?.parse().ok()?;
        let unit_start = i;
        while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let scale = match t.get(unit_start..i)? {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
    }
    (!b.is_empty() && total.is_finite()).then_some(total)
}

/// A wait in seconds read from free text (docs/design.md#reset-hints). The patterns are tried in order; each
/// takes its leftmost match, as hermes-agent's regular expressions do:
///
/// * `quotaResetDelay[:\s"]+<n>(ms|s)`
/// * `retry\s+(after\s+)?<n>\s*(sec|secs|seconds|s\b)`
/// * `resets?\s+in\s+<H>\s*hr\s+<M>\s*min`
/// * `resets?\s+in\s+<H>\s*hr\b`
/// * `resets?\s+in\s+<M>\s*min\b`
fn text_delay(text: &str) -> Option<f64> {
    // ASCII lowercasing keeps every byte offset, so offsets found in `lower` are char boundaries
    // of `lower` too.
    let lower = text.to_ascii_lowercase();
    let t = lower.as_str();
    quota_reset_delay(t)
        .or_else(|| retry_secs(t))
        .or_else(|| resets_in(t, ResetsForm::HoursMinutes))
        .or_else(|| resets_in(t, ResetsForm::Hours))
        .or_else(|| resets_in(t, ResetsForm::Minutes))
}

fn quota_reset_delay(t: &str) -> Option<f64> {
    const KEY: &str = "quotaresetdelay";
    occurrences(t, KEY).find_map(|pos| {
        let i = pos + KEY.len();
        let j = skip_while(t, i, |b| b == b':' || b == b'"' || is_space(b));
        if j == i {
            return None;
        }
        let (value, k) = decimal(t, j)?;
        let rest = t.get(k..)?;
        if rest.starts_with("ms") {
            Some(value / 1000.0)
        } else if rest.starts_with('s') {
            Some(value)
        } else {
            None
        }
    })
}

fn retry_secs(t: &str) -> Option<f64> {
    const KEY: &str = "retry";
    occurrences(t, KEY).find_map(|pos| {
        let i = pos + KEY.len();
        let j = skip_while(t, i, is_space);
        if j == i {
            return None;
        }
        // `(after\s+)?`: when "after" is there but no number follows it, the number would have
        // to start at "after" itself, which cannot match; so one attempt is enough.
        let mut start = j;
        if t.get(j..)?.starts_with("after") {
            let k = skip_while(t, j + 5, is_space);
            if k > j + 5 {
                start = k;
            }
        }
        let (value, k) = decimal(t, start)?;
        let k = skip_while(t, k, is_space);
        let rest = t.get(k..)?;
        // `sec` also covers `secs` and `seconds`; a bare `s` must end the word.
        (rest.starts_with("sec") || (rest.starts_with('s') && !word_char_at(t, k + 1))).then_some(value)
    })
}

#[derive(Clone, Copy)]
enum ResetsForm {
    HoursMinutes,
    Hours,
    Minutes,
}

fn resets_in(t: &str, form: ResetsForm) -> Option<f64> {
    const KEY: &str = "reset";
    occurrences(t, KEY).find_map(|pos| {
        let mut i = pos + KEY.len();
        if t.as_bytes().get(i) == Some(&b's') {
            i += 1;
        }
        let j = skip_while(t, i, is_space);
        if j == i || !t.get(j..)?.starts_with("in") {
            return None;
        }
        let k = skip_while(t, j + 2, is_space);
        if k == j + 2 {
            return None;
        }
        let (first, k) = integer(t, k)?;
        let k = skip_while(t, k, is_space);
        let rest = t.get(k..)?;
        match form {
            ResetsForm::Minutes => (rest.starts_with("min") && !word_char_at(t, k + 3)).then_some(first * 60.0),
            ResetsForm::Hours => (rest.starts_with("hr") && !word_char_at(t, k + 2)).then_some(first * 3600.0),
            ResetsForm::HoursMinutes => {
                if !rest.starts_with("hr") {
                    return None;
                }
                let m = skip_while(t, k + 2, is_space);
                if m == k + 2 {
                    return None;
                }
                let (minutes, m) = integer(t, m)?;
                let m = skip_while(t, m, is_space);
                t.get(m..)?.starts_with("min").then_some(first * 3600.0 + minutes * 60.0)
            }
        }
    })
}

/// Byte offsets of every occurrence of `needle` in `hay`, left to right. The needles used here
/// cannot overlap themselves, so non-overlapping matches are all the matches.
fn occurrences<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    hay.match_indices(needle).map(|(i, _)| i)
}

/// Python's `\s` for the ASCII range.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn skip_while(t: &str, mut i: usize, pred: impl Fn(u8) -> bool) -> usize {
    let b = t.as_bytes();
    while i < b.len() && pred(b[i]) {
        i += 1;
    }
    i
}

/// `\d+`, as seconds-scale float so huge values cannot overflow (they are clamped later).
fn integer(t: &str, i: usize) -> Option<(f64, usize)> {
    let j = skip_while(t, i, |b| b.is_ascii_digit());
    if j == i {
        return None;
    }
    Some((t.get(i..j)?.parse().ok()?, j))
}

/// `\d+(\.\d+)?`: the point is taken only when a digit follows it.
fn decimal(t: &str, i: usize) -> Option<(f64, usize)> {
    let (_, mut j) = integer(t, i)?;
    let b = t.as_bytes();
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = skip_while(t, j + 1, |b| b.is_ascii_digit());
    }
    Some((t.get(i..j)?.parse().ok()?, j))
}

/// Whether the char at byte `i` is a word char (`\w`); the end of the text is not.
fn word_char_at(t: &str, i: usize) -> bool {
    t.get(i..).and_then(|r| r.chars().next()).is_some_and(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Epoch = 1_751_360_000.0;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reset_hint_sources() {
        let day = 86_400.0;
        // (name, headers, body, expected hint)
        type Case = (&'static str, Vec<(String, String)>, &'static str, Option<Epoch>);
        let cases: Vec<Case> = vec![
            ("retry-after seconds", h(&[("Retry-After", "120")]), "", Some(NOW + 120.0)),
            ("retry-after decimal", h(&[("retry-after", "1.5")]), "", Some(NOW + 1.5)),
            ("retry-after any case", h(&[("RETRY-AFTER", " 30 ")]), "", Some(NOW + 30.0)),
            (
                "retry-after http-date",
                h(&[("Retry-After", "Tue, 01 Jul 2025 09:03:20 GMT")]),
                "",
                Some(1_751_360_600.0),
            ),
            ("retry-after-ms", h(&[("retry-after-ms", "2500")]), "", Some(NOW + 2.5)),
            (
                "retry-after beats retry-after-ms",
                h(&[("retry-after-ms", "2500"), ("Retry-After", "9")]),
                "",
                Some(NOW + 9.0),
            ),
            ("body resets_at ms", vec![], r#"{"resets_at": 1751360060000}"#, Some(NOW + 60.0)),
            ("body reset_at seconds", vec![], r#"{"reset_at": 1751360090}"#, Some(NOW + 90.0)),
            ("body retry_until iso", vec![], r#"{"retry_until": "2025-07-01T09:03:20Z"}"#, Some(NOW + 600.0)),
            ("body reset_at numeric string", vec![], r#"{"reset_at": "1751360100"}"#, Some(NOW + 100.0)),
            ("body under error", vec![], r#"{"error": {"resets_at": 1751360070.5}}"#, Some(NOW + 70.5)),
            ("body relative", vec![], r#"{"error": {"retry_after": 33}}"#, Some(NOW + 33.0)),
            ("body relative string", vec![], r#"{"resets_in_seconds": "12"}"#, Some(NOW + 12.0)),
            ("body relative seconds key", vec![], r#"{"retry_after_seconds": 7.5}"#, Some(NOW + 7.5)),
            ("absolute beats relative", vec![], r#"{"retry_after": 5, "reset_at": 1751360200}"#, Some(NOW + 200.0)),
            ("x-ratelimit-reset small number is relative", h(&[("x-ratelimit-reset", "42")]), "", Some(NOW + 42.0)),
            ("x-ratelimit-reset epoch seconds", h(&[("X-RateLimit-Reset", "1751360300")]), "", Some(NOW + 300.0)),
            ("x-ratelimit-reset epoch ms", h(&[("x-ratelimit-reset", "1751360300000")]), "", Some(NOW + 300.0)),
            ("x-ratelimit-reset duration", h(&[("x-ratelimit-reset", "6m0s")]), "", Some(NOW + 360.0)),
            ("x-ratelimit-reset decimal duration", h(&[("x-ratelimit-reset", "1.5s")]), "", Some(NOW + 1.5)),
            ("x-ratelimit-reset ms duration", h(&[("x-ratelimit-reset", "20ms")]), "", Some(NOW + 0.02)),
            ("x-ratelimit-reset iso", h(&[("x-ratelimit-reset", "2025-07-01T09:00:00Z")]), "", Some(NOW + 400.0)),
            (
                "body beats x-ratelimit-reset",
                h(&[("x-ratelimit-reset", "42")]),
                r#"{"retry_after": 5}"#,
                Some(NOW + 5.0),
            ),
            ("30 days clamped to 7", h(&[("Retry-After", "2592000")]), "", Some(NOW + 7.0 * day)),
            ("far epoch clamped", vec![], r#"{"reset_at": 1851360000}"#, Some(NOW + 7.0 * day)),
            ("past header ignored", h(&[("Retry-After", "0")]), "", None),
            ("past date ignored", h(&[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]), "", None),
            (
                "past hint skipped for the next source",
                h(&[("Retry-After", "0")]),
                r#"{"retry_after": 9}"#,
                Some(NOW + 9.0),
            ),
            (
                "past body epoch skipped",
                vec![],
                r#"{"reset_at": 1000000000, "error": {"reset_at": 1751360010}}"#,
                Some(NOW + 10.0),
            ),
            ("negative retry-after ignored", h(&[("Retry-After", "-5")]), "", None),
            ("garbage header", h(&[("Retry-After", "soon"), ("x-ratelimit-reset", "later")]), "", None),
            ("nan is not a number", h(&[("Retry-After", "NaN"), ("retry-after-ms", "inf")]), "", None),
            ("nothing", vec![], "", None),
            (
                "message quotaResetDelay",
                vec![],
                r#"{"error": {"message": "quota exceeded, quotaResetDelay: 3000ms"}}"#,
                Some(NOW + 3.0),
            ),
            (
                "google details in the raw body",
                vec![],
                r#"{"error": {"code": 429, "message": "exhausted", "details": [{"metadata": {"quotaResetDelay": "3000s"}}]}}"#,
                Some(NOW + 3000.0),
            ),
            ("non-json retry after", vec![], "Rate limited. Please retry after 20 seconds.", Some(NOW + 20.0)),
            ("retry secs", vec![], "retry 5s", Some(NOW + 5.0)),
            ("resets in hr min", vec![], "Weekly limit. Resets in 4hr 5min", Some(NOW + 4.0 * 3600.0 + 300.0)),
            ("resets in hr", vec![], r#"{"message": "usage limit; resets in 2hr"}"#, Some(NOW + 7200.0)),
            ("resets in min", vec![], r#"{"error_description": "Reset in 15 min."}"#, Some(NOW + 900.0)),
        ];
        for (name, headers, body, want) in cases {
            assert_eq!(reset_hint(&headers, body, NOW), want, "{name}");
        }
    }

    #[test]
    fn text_patterns() {
        for (text, want) in [
            ("quotaResetDelay \"1.5s\"", Some(1.5)),
            ("QUOTARESETDELAY:2s", Some(2.0)),
            ("quotaResetDelay 3m", None),
            ("quotaResetDelay: \"135h9m46s\"", None),
            ("quotaResetDelay3s", None),
            ("please retry after 12.5 secs", Some(12.5)),
            ("Retry 30 seconds later", Some(30.0)),
            ("retry 7 sec", Some(7.0)),
            ("retry after 9s.", Some(9.0)),
            ("retry 9sx", None),
            ("retrying 9s", None),
            ("retry in 9s", None),
            ("retry afterwards", None),
            ("resets in 1hr 30min", Some(5400.0)),
            ("resets in 1 hr  30 min", Some(5400.0)),
            ("resets in 3hrs", None),
            ("resets in 45min", Some(2700.0)),
            ("resets in 45minutes", None),
            ("first retry 2s then quotaResetDelay: 4s", Some(4.0)),
            ("resets in x, resets in 2hr", Some(7200.0)),
            ("", None),
            ("ünïcödé retry 3s …", Some(3.0)),
        ] {
            assert_eq!(text_delay(text), want, "{text}");
        }
    }

    #[test]
    fn durations() {
        for (text, want) in [
            ("6m0s", Some(360.0)),
            ("1h2m3.5s", Some(3723.5)),
            ("20ms", Some(0.02)),
            ("500us", Some(0.0005)),
            ("5", None),
            ("5x", None),
            ("", None),
            ("s", None),
            ("1..2s", None),
        ] {
            assert_eq!(parse_duration(text), want, "{text}");
        }
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("120", NOW), Some(NOW + 120.0));
        assert_eq!(parse_retry_after("0.25", NOW), Some(NOW + 0.25));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW), Some(1_445_412_480.0));
        assert_eq!(parse_retry_after("-1", NOW), None);
        assert_eq!(parse_retry_after("tomorrow", NOW), None);
        assert_eq!(parse_retry_after("", NOW), None);
    }

    #[test]
    fn reasons_and_messages() {
        let cases = [
            (
                r#"{"error": {"code": "rate_limit_exceeded", "type": "requests", "message": "Slow down"}}"#,
                Some("rate_limit_exceeded"),
                Some("Slow down"),
            ),
            (
                r#"{"type": "error", "error": {"type": "rate_limit_error", "message": "m"}}"#,
                Some("rate_limit_error"),
                Some("m"),
            ),
            (r#"{"error": {"code": 429, "message": "Resource exhausted"}}"#, Some("429"), Some("Resource exhausted")),
            (
                r#"{"error": "invalid_grant", "error_description": "Refresh token reused"}"#,
                Some("invalid_grant"),
                Some("Refresh token reused"),
            ),
            (
                r#"{"code": "token_invalidated", "message": "Your token was invalidated"}"#,
                Some("token_invalidated"),
                Some("Your token was invalidated"),
            ),
            (r#"{"code": 402}"#, Some("402"), None),
            (
                r#"{"error": {"code": null, "type": "", "message": ""}, "code": "x", "message": "top"}"#,
                Some("x"),
                Some("top"),
            ),
            (r#"{"error": {"message": 5}}"#, None, None),
            ("<html>Bad gateway</html>", None, None),
            ("[1, 2]", None, None),
            ("", None, None),
        ];
        for (body, reason, message) in cases {
            assert_eq!(error_reason(body).as_deref(), reason, "{body}");
            assert_eq!(error_message(body).as_deref(), message, "{body}");
        }
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let deep = "[".repeat(10_000);
        let bodies = [
            deep.as_str(),
            "{\"reset_at\": 1e400}",
            "{\"retry_after\": -3}",
            "retry ",
            "resets in ",
            "quotaResetDelay",
        ];
        for body in bodies {
            let _ = reset_hint(&h(&[("x-ratelimit-reset", "1e999"), ("retry-after", "µs")]), body, NOW);
            let _ = error_reason(body);
            let _ = error_message(body);
        }
    }
}
