//! Headroom: what a provider announces on its answers about the limits left to a key
//! (docs/recovery.md#headroom).
//!
//! OpenAI-style `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, Anthropic's
//! `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` and OpenRouter's
//! `x-ratelimit-{limit,remaining,reset}` are read from every answer; the figures are kept on the
//! entry (`headroom`, a field hermes-agent keeps as it keeps every key it does not know), so that
//! an entry with nothing left is benched before it is refused, until the announced reset, and the
//! `headroom` strategy can prefer the entry with the most left. Pure functions of (headers, now).

use crate::context::Epoch;
use serde_json::{json, Map, Value};

/// The entry field holding the last announced figures.
pub const FIELD: &str = "headroom";
/// `last_error_reason` of a bench made because the provider announced nothing left.
pub const REASON: &str = "headroom_exhausted";

/// What one answer announced. A figure the provider did not send is `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headroom {
    pub requests_limit: Option<i64>,
    pub requests_remaining: Option<i64>,
    pub requests_reset_at: Option<Epoch>,
    pub tokens_limit: Option<i64>,
    pub tokens_remaining: Option<i64>,
    pub tokens_reset_at: Option<Epoch>,
}

fn header<'a>(headers: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(n)).map(|(_, v)| v.trim()))
}

fn count(headers: &[(String, String)], names: &[&str]) -> Option<i64> {
    let v = header(headers, names)?;
    let x: f64 = v.parse().ok()?;
    (x.is_finite() && x >= 0.0).then_some(x as i64)
}

fn reset(headers: &[(String, String)], names: &[&str], now: Epoch) -> Option<Epoch> {
    header(headers, names).and_then(|v| super::hints::parse_ratelimit_reset(v, now)).filter(|t| t.is_finite())
}

impl Headroom {
    /// The figures an answer's headers announce, or `None` when they announce none.
    pub fn from_headers(headers: &[(String, String)], now: Epoch) -> Option<Headroom> {
        let h = Headroom {
            requests_limit: count(
                headers,
                &["x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit", "x-ratelimit-limit"],
            ),
            requests_remaining: count(
                headers,
                &["x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining", "x-ratelimit-remaining"],
            ),
            requests_reset_at: reset(
                headers,
                &["x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset", "x-ratelimit-reset"],
                now,
            ),
            tokens_limit: count(headers, &["x-ratelimit-limit-tokens", "anthropic-ratelimit-tokens-limit"]),
            tokens_remaining: count(headers, &["x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining"]),
            tokens_reset_at: reset(headers, &["x-ratelimit-reset-tokens", "anthropic-ratelimit-tokens-reset"], now),
        };
        (h.requests_remaining.is_some() || h.tokens_remaining.is_some()).then_some(h)
    }

    /// When the key has nothing left (requests, or tokens, at 0) and the provider said when that
    /// ends: the deadline of a bench. `None` while there is room or no reset time is known.
    pub fn exhausted_until(&self, now: Epoch) -> Option<Epoch> {
        let out = |remaining: Option<i64>, at: Option<Epoch>| {
            (remaining == Some(0)).then_some(at).flatten().filter(|t| *t > now)
        };
        match (out(self.requests_remaining, self.requests_reset_at), out(self.tokens_remaining, self.tokens_reset_at)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The stored form (`headroom` of the entry), with the time it was announced.
    pub fn to_json(&self, now: Epoch) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("requests_limit", self.requests_limit.map(Value::from));
        put("requests_remaining", self.requests_remaining.map(Value::from));
        put("requests_reset_at", self.requests_reset_at.map(Value::from));
        put("tokens_limit", self.tokens_limit.map(Value::from));
        put("tokens_remaining", self.tokens_remaining.map(Value::from));
        put("tokens_reset_at", self.tokens_reset_at.map(Value::from));
        m.insert("at".into(), json!(now));
        Value::Object(m)
    }

    /// The stored form read back (anything unreadable is simply absent).
    pub fn from_json(v: &Value) -> Option<Headroom> {
        let o = v.as_object()?;
        let i = |k: &str| o.get(k).and_then(Value::as_i64);
        let f = |k: &str| o.get(k).and_then(Value::as_f64);
        Some(Headroom {
            requests_limit: i("requests_limit"),
            requests_remaining: i("requests_remaining"),
            requests_reset_at: f("requests_reset_at"),
            tokens_limit: i("tokens_limit"),
            tokens_remaining: i("tokens_remaining"),
            tokens_reset_at: f("tokens_reset_at"),
        })
    }

    /// What is left, in thousandths of the limit: the smaller of the requests and tokens
    /// fractions still in their window. `None` (counts as full) without a limit, or once the
    /// announced reset has passed.
    pub fn permille(&self, now: Epoch) -> Option<u16> {
        let frac = |remaining: Option<i64>, limit: Option<i64>, at: Option<Epoch>| {
            let (r, l) = (remaining?, limit?);
            if l <= 0 || at.is_some_and(|t| t <= now) {
                return None;
            }
            Some(((i128::from(r.clamp(0, l)) * 1000) / i128::from(l)) as u16)
        };
        match (
            frac(self.requests_remaining, self.requests_limit, self.requests_reset_at),
            frac(self.tokens_remaining, self.tokens_limit, self.tokens_reset_at),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `12/60 requests left, resets in 40s`-style summary for `auth explain`.
    pub fn describe(&self, now: Epoch) -> String {
        let part = |what: &str, r: Option<i64>, l: Option<i64>, at: Option<Epoch>| -> Option<String> {
            let r = r?;
            let mut s = match l {
                Some(l) => format!("{r}/{l} {what} left"),
                None => format!("{r} {what} left"),
            };
            if let Some(t) = at.filter(|t| *t > now) {
                s.push_str(&format!(" (resets in {})", crate::time::format_wait(t - now)));
            }
            Some(s)
        };
        [
            part("requests", self.requests_remaining, self.requests_limit, self.requests_reset_at),
            part("tokens", self.tokens_remaining, self.tokens_limit, self.tokens_reset_at),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// The tokens a stored entry has left in a window that has not reset yet, as last announced.
pub fn tokens_left(m: &Map<String, Value>, now: Epoch) -> Option<i64> {
    let h = m.get(FIELD).and_then(Headroom::from_json)?;
    h.tokens_reset_at.filter(|t| *t > now)?;
    h.tokens_remaining
}

/// The permille of a stored entry (`None`: no current figures, which counts as full).
pub fn stored_permille(m: &Map<String, Value>, now: Epoch) -> Option<u16> {
    m.get(FIELD).and_then(Headroom::from_json).and_then(|h| h.permille(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Epoch = 1_782_896_400.0;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_dialect_is_read() {
        let openai = Headroom::from_headers(
            &h(&[
                ("x-ratelimit-limit-requests", "60"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "6m0s"),
                ("x-ratelimit-limit-tokens", "1000"),
                ("x-ratelimit-remaining-tokens", "250"),
                ("x-ratelimit-reset-tokens", "20ms"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(openai.requests_remaining, Some(0));
        assert_eq!(openai.requests_reset_at, Some(NOW + 360.0));
        assert_eq!(openai.exhausted_until(NOW), Some(NOW + 360.0));
        assert_eq!(openai.permille(NOW), Some(0));
        let anthropic = Headroom::from_headers(
            &h(&[
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "25"),
                ("anthropic-ratelimit-requests-reset", "2026-07-01T09:01:00Z"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(anthropic.requests_reset_at, Some(NOW + 60.0));
        assert_eq!(anthropic.permille(NOW), Some(500));
        assert_eq!(anthropic.exhausted_until(NOW), None);
        let openrouter = Headroom::from_headers(
            &h(&[("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "5"), ("X-RateLimit-Reset", "1782896430000")]),
            NOW,
        )
        .unwrap();
        assert_eq!(openrouter.requests_reset_at, Some(NOW + 30.0));
        assert_eq!(openrouter.permille(NOW), Some(250));
        assert_eq!(Headroom::from_headers(&h(&[("content-type", "application/json")]), NOW), None);
    }

    #[test]
    fn stale_or_odd_figures_count_as_full_and_never_bench() {
        let past = Headroom {
            requests_limit: Some(5),
            requests_remaining: Some(0),
            requests_reset_at: Some(NOW - 1.0),
            ..Default::default()
        };
        assert_eq!(past.permille(NOW), None);
        assert_eq!(past.exhausted_until(NOW), None);
        let no_reset = Headroom { requests_remaining: Some(0), ..Default::default() };
        assert_eq!(no_reset.exhausted_until(NOW), None, "no deadline, no bench: the 429 will tell");
        let back = Headroom::from_json(&past.to_json(NOW)).unwrap();
        assert_eq!(back, past);
        let garbage = Headroom::from_headers(&h(&[("x-ratelimit-remaining-requests", "-3")]), NOW);
        assert_eq!(garbage, None);
    }
}
