//! The status model (docs/design.md#status): computed on every view from an entry and now.
//!
//! Nothing here is stored: `cooling` is `exhausted` plus a deadline still ahead, so an entry whose
//! deadline has passed is `ok` again without any write. The deadline rules also cover rows written
//! by hermes-agent, which may carry no `last_error_reset_at`.
use crate::context::Epoch;
use crate::model::entry::{AuthType, Entry, LastStatus};

/// Cooldown of a 401 mark without a stored deadline.
const TTL_401: f64 = 300.0;
/// 429 cooldowns by streak: 60 s, 5 min, 25 min, then 1 h (the marks in [`crate::pool::cooldown`]
/// store them; the deadline of a mark without a stored reset time is read from here).
pub const LADDER: [f64; 4] = [60.0, 300.0, 1500.0, 3600.0];
/// Cooldown of any mark other than 401 and 429 without a stored deadline.
const TTL_DEFAULT: f64 = 3600.0;

/// What the view knows besides the stored entry.
#[derive(Debug, Clone, Default)]
pub struct StatusInput {
    /// Borrowed entry with no usable live value: the `source missing: …` detail.
    pub source_missing: Option<String>,
    /// OAuth access-token expiry, when known.
    pub expires_at: Option<Epoch>,
    /// Seconds before expiry at which the entry needs refresh (120 s skew; 60 s for read-only).
    pub margin: f64,
    /// Whether hermes may refresh this entry.
    pub refreshable: bool,
    /// The hint shown for a non-refreshable entry that needs refresh.
    pub refresh_hint: Option<String>,
    /// Forces needs-refresh regardless of expiry (e.g. a Nous token that is not a runtime key).
    pub force_needs_refresh: bool,
}

/// An entry's computed status (docs/design.md#status).
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Usable.
    Ok,
    /// Exhausted and benched until `until`.
    Cooling { class: &'static str, reason: Option<String>, code: Option<i64>, until: Epoch },
    /// Marked dead; only a new login or key, or a reset by id, revives it. `oauth` says which
    /// of the two the fix is.
    Dead { reason: Option<String>, code: Option<i64>, oauth: bool },
    /// Borrowed, and its source has no usable value.
    SourceMissing { detail: String },
    /// OAuth token at or near expiry.
    NeedsRefresh { refreshable: bool, hint: Option<String> },
}

/// What a stored reason adds to the class word and code, or None when it only repeats them:
/// empty, the code's digits (`billing 402 (402)`), or the class word in other spelling
/// (`rate-limited rate_limit_exceeded`, judged by the first word's stem). A leading word that
/// repeats the class is dropped from a longer reason (`rate_limit_exceeded: quota of …`).
fn added_reason<'a>(reason: &'a str, class: &str, code: Option<i64>) -> Option<&'a str> {
    let reason = reason.trim();
    if reason.is_empty() || reason == class || code.is_some_and(|c| reason == c.to_string()) {
        return None;
    }
    let word_end = reason.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(reason.len());
    let stem = |t: &str| -> String {
        t.split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
            .chars()
            .take(4)
            .collect()
    };
    let (r, c) = (stem(&reason[..word_end]), stem(class));
    if r.len() == 4 && r == c {
        let rest = reason[word_end..].trim_start_matches(|c: char| c.is_whitespace() || ":;,.-".contains(c));
        return (!rest.is_empty()).then_some(rest);
    }
    Some(reason)
}

/// The status of `entry` at `now`; when several rows apply, the first one wins.
pub fn compute(entry: &Entry, input: &StatusInput, now: Epoch) -> Status {
    if entry.last_status == Some(LastStatus::Dead) {
        return Status::Dead {
            reason: entry.last_error_reason.clone(),
            code: entry.last_error_code,
            oauth: entry.auth_type == AuthType::OAuth,
        };
    }
    if let Some(detail) = &input.source_missing {
        return Status::SourceMissing { detail: detail.clone() };
    }
    if entry.last_status == Some(LastStatus::Exhausted) {
        if let Some(until) = deadline(entry).filter(|until| *until > now) {
            return Status::Cooling {
                class: class_word(entry.last_error_code, entry.last_error_reason.as_deref()),
                reason: entry.last_error_reason.clone(),
                code: entry.last_error_code,
                until,
            };
        }
    }
    let expiring = entry.auth_type == AuthType::OAuth && input.expires_at.is_some_and(|exp| exp - input.margin <= now);
    if expiring || input.force_needs_refresh {
        return Status::NeedsRefresh { refreshable: input.refreshable, hint: input.refresh_hint.clone() };
    }
    Status::Ok
}

/// The cooldown deadline of a mark: `last_error_reset_at` if set, else `last_status_at` plus a
/// TTL by code (401 → 300 s; 429 → the ladder step for `rate_limit_streak`, 60 s without one;
/// anything else → 3600 s). `None` when neither time is known.
///
/// The TTL fallback exists for rows written by hermes-agent, which may omit the reset time;
/// hermes itself always stores the deadline.
pub fn deadline(entry: &Entry) -> Option<Epoch> {
    if let Some(reset_at) = entry.last_error_reset_at {
        return Some(reset_at);
    }
    let at = entry.last_status_at?;
    let ttl = match entry.last_error_code {
        Some(401) => TTL_401,
        // A 429 mark without a streak was written by hermes-agent (hermes always stores both
        // the deadline and the streak): honour the flat hour it benches such a key for.
        Some(429) => entry.rate_limit_streak.map_or(TTL_DEFAULT, ladder_step),
        _ => TTL_DEFAULT,
    };
    Some(at + ttl)
}

/// The 429 cooldown for the `streak`-th consecutive 429 (a streak below 1 counts as 1).
pub fn ladder_step(streak: i64) -> f64 {
    let index = streak.clamp(1, LADDER.len() as i64) - 1;
    LADDER[index as usize]
}

/// The class word of a mark: 429 `rate-limited`, 402 `billing`, 403 `forbidden`, 401 `auth
/// failed`, reason `refresh_failed` → `refresh failed`, anything else `exhausted`.
pub fn class_word(code: Option<i64>, reason: Option<&str>) -> &'static str {
    match code {
        Some(429) => "rate-limited",
        Some(402) => "billing",
        Some(403) => "forbidden",
        Some(401) => "auth failed",
        _ if reason.is_some_and(|r| r.trim().eq_ignore_ascii_case("refresh_failed")) => "refresh failed",
        _ if reason.is_some_and(|r| r.trim().eq_ignore_ascii_case(super::headroom::REASON)) => "quota",
        _ => "exhausted",
    }
}

impl Status {
    /// Whether a pick may choose this entry: ok, or needs refresh that hermes may perform.
    pub fn selectable(&self) -> bool {
        match self {
            Status::Ok => true,
            Status::NeedsRefresh { refreshable, .. } => *refreshable,
            Status::Cooling { .. } | Status::Dead { .. } | Status::SourceMissing { .. } => false,
        }
    }

    /// The `status` value of `auth list --json`.
    pub fn json_name(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Cooling { .. } => "cooling",
            Status::Dead { .. } => "dead",
            Status::SourceMissing { .. } => "source_missing",
            Status::NeedsRefresh { .. } => "needs_refresh",
        }
    }

    /// The class word of a cooling or dead entry.
    pub fn class(&self) -> Option<&'static str> {
        match self {
            Status::Cooling { class, .. } => Some(class),
            Status::Dead { reason, code, .. } => Some(class_word(*code, reason.as_deref())),
            _ => None,
        }
    }

    /// The stored reason of a cooling or dead entry.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Cooling { reason, .. } | Status::Dead { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// The stored HTTP code of a cooling or dead entry.
    pub fn code(&self) -> Option<i64> {
        match self {
            Status::Cooling { code, .. } | Status::Dead { code, .. } => *code,
            _ => None,
        }
    }

    /// The deadline of a cooling entry.
    pub fn until(&self) -> Option<Epoch> {
        match self {
            Status::Cooling { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// Whole seconds left on a cooling entry's bench (the ceiling, as `list` shows waits).
    pub fn seconds_left(&self, now: Epoch) -> Option<u64> {
        self.until().map(|until| if until > now { (until - now).ceil() as u64 } else { 0 })
    }

    /// The STATUS cell of `auth list`, e.g. `cooling: rate-limited (429), 42s left`, `cooling:
    /// billing insufficient_credits (402), 59m left` or `dead: token_invalidated (401) — log in again or reset by id`.
    pub fn describe(&self, now: Epoch) -> String {
        match self {
            Status::Ok => "ok".to_string(),
            Status::Cooling { class, reason, code, until } => {
                let mut out = format!("cooling: {class}");
                if let Some(c) = code {
                    out.push_str(&format!(" ({c})"));
                }
                out.push_str(&format!(", {} left", crate::time::format_wait(until - now)));
                // The reason comes last (a narrow terminal shortens it, not the time left), and
                // only when it adds something to the class word and the code.
                if let Some(r) = reason.as_deref().and_then(|r| added_reason(r, class, *code)) {
                    out.push_str(": ");
                    out.push_str(r);
                }
                out
            }
            Status::Dead { reason, code, oauth } => {
                let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
                // Without a stored reason the code's class word still says what happened.
                let what = reason.or_else(|| code.map(|c| class_word(Some(c), None)));
                let mut out = "dead".to_string();
                if let Some(w) = what {
                    out.push_str(": ");
                    out.push_str(w);
                    if let Some(c) = code {
                        out.push_str(&format!(" ({c})"));
                    }
                }
                out.push_str(if *oauth {
                    " — log in again or reset by id"
                } else {
                    " — add a new key or reset by id"
                });
                out
            }
            Status::SourceMissing { detail } => {
                if detail.trim().is_empty() {
                    "source missing".to_string()
                } else {
                    format!("source missing: {detail}")
                }
            }
            Status::NeedsRefresh { refreshable: true, .. } => "needs refresh (automatic)".to_string(),
            Status::NeedsRefresh { refreshable: false, hint } => match hint.as_deref().filter(|h| !h.trim().is_empty())
            {
                Some(h) => format!("needs refresh: {h}"),
                None => "needs refresh".to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const NOW: Epoch = 1_751_360_000.0;

    fn entry(v: Value) -> Entry {
        Entry::parse(v.as_object().unwrap()).unwrap()
    }

    fn oauth_input(expires_at: Option<Epoch>, margin: f64, refreshable: bool) -> StatusInput {
        StatusInput { expires_at, margin, refreshable, ..StatusInput::default() }
    }

    #[test]
    fn compute_rows() {
        let plain = StatusInput::default();
        let missing =
            StatusInput { source_missing: Some("OPENROUTER_API_KEY not set".into()), ..StatusInput::default() };
        let cases: Vec<(&str, Value, StatusInput, Status)> = vec![
            ("clean entry", json!({"id": "a"}), plain.clone(), Status::Ok),
            (
                "dead wins over everything",
                json!({"id": "a", "last_status": "dead", "last_error_code": 401, "last_error_reason": "token_invalidated",
                       "last_status_at": NOW, "last_error_reset_at": NOW + 100.0}),
                missing.clone(),
                Status::Dead { reason: Some("token_invalidated".into()), code: Some(401), oauth: false },
            ),
            (
                "source missing beats cooling",
                json!({"id": "a", "last_status": "exhausted", "last_error_code": 429, "last_error_reset_at": NOW + 100.0}),
                missing.clone(),
                Status::SourceMissing { detail: "OPENROUTER_API_KEY not set".into() },
            ),
            (
                "cooling until reset_at",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 18.0, "last_error_code": 429,
                       "last_error_reason": "rate_limit_exceeded", "last_error_reset_at": NOW + 42.0}),
                plain.clone(),
                Status::Cooling {
                    class: "rate-limited",
                    reason: Some("rate_limit_exceeded".into()),
                    code: Some(429),
                    until: NOW + 42.0,
                },
            ),
            (
                "reset_at in ms",
                json!({"id": "a", "last_status": "exhausted", "last_error_code": 402, "last_error_reset_at": (NOW + 10.0) * 1000.0}),
                plain.clone(),
                Status::Cooling { class: "billing", reason: None, code: Some(402), until: NOW + 10.0 },
            ),
            (
                "hermes-agent 429 ten minutes ago, no reset_at: its hour is not over",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 600.0, "last_error_code": 429,
                       "last_error_reset_at": null}),
                plain.clone(),
                Status::Cooling { class: "rate-limited", reason: None, code: Some(429), until: NOW + 3000.0 },
            ),
            (
                "hermes-agent 429 an hour ago, no reset_at: usable",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 3600.0, "last_error_code": 429,
                       "last_error_reset_at": null}),
                plain.clone(),
                Status::Ok,
            ),
            (
                "hermes-agent 402 thirty minutes ago: one hour",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 1800.0, "last_error_code": 402}),
                plain.clone(),
                Status::Cooling { class: "billing", reason: None, code: Some(402), until: NOW + 1800.0 },
            ),
            (
                "401 without reset_at: five minutes",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 200.0, "last_error_code": 401}),
                plain.clone(),
                Status::Cooling { class: "auth failed", reason: None, code: Some(401), until: NOW + 100.0 },
            ),
            (
                "429 with streak 3 without reset_at: 1500 s",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 500.0, "last_error_code": 429,
                       "rate_limit_streak": 3}),
                plain.clone(),
                Status::Cooling { class: "rate-limited", reason: None, code: Some(429), until: NOW + 1000.0 },
            ),
            (
                "ISO last_status_at",
                json!({"id": "a", "last_status": "exhausted", "last_status_at": "2025-07-01T08:43:20Z", "last_error_code": 500}),
                plain.clone(),
                Status::Cooling { class: "exhausted", reason: None, code: Some(500), until: NOW + 3000.0 },
            ),
            (
                "exhausted with neither time",
                json!({"id": "a", "last_status": "exhausted", "last_error_code": 429}),
                plain.clone(),
                Status::Ok,
            ),
            (
                "deadline exactly now is over",
                json!({"id": "a", "last_status": "exhausted", "last_error_code": 429, "last_error_reset_at": NOW}),
                plain.clone(),
                Status::Ok,
            ),
            (
                "a reset_at without exhausted is not a cooldown",
                json!({"id": "a", "last_status": "ok", "last_error_reset_at": NOW + 100.0}),
                plain.clone(),
                Status::Ok,
            ),
            (
                "refreshable oauth inside the skew",
                json!({"id": "a", "auth_type": "oauth"}),
                oauth_input(Some(NOW + 100.0), 120.0, true),
                Status::NeedsRefresh { refreshable: true, hint: None },
            ),
            (
                "read-only oauth inside its 60 s margin",
                json!({"id": "a", "auth_type": "oauth", "source": "claude_code"}),
                StatusInput {
                    refresh_hint: Some("run Claude Code".into()),
                    ..oauth_input(Some(NOW + 60.0), 60.0, false)
                },
                Status::NeedsRefresh { refreshable: false, hint: Some("run Claude Code".into()) },
            ),
            (
                "oauth outside the skew",
                json!({"id": "a", "auth_type": "oauth"}),
                oauth_input(Some(NOW + 121.0), 120.0, true),
                Status::Ok,
            ),
            (
                "oauth without a known expiry",
                json!({"id": "a", "auth_type": "oauth"}),
                oauth_input(None, 60.0, false),
                Status::Ok,
            ),
            (
                "an api key never needs refresh by expiry",
                json!({"id": "a"}),
                oauth_input(Some(NOW - 5.0), 120.0, true),
                Status::Ok,
            ),
            (
                "forced needs refresh",
                json!({"id": "a", "auth_type": "oauth"}),
                StatusInput { force_needs_refresh: true, refreshable: true, ..StatusInput::default() },
                Status::NeedsRefresh { refreshable: true, hint: None },
            ),
            (
                "cooling beats needs refresh",
                json!({"id": "a", "auth_type": "oauth", "last_status": "exhausted", "last_error_code": 401, "last_error_reset_at": NOW + 5.0}),
                oauth_input(Some(NOW), 120.0, true),
                Status::Cooling { class: "auth failed", reason: None, code: Some(401), until: NOW + 5.0 },
            ),
        ];
        for (name, e, input, want) in cases {
            assert_eq!(compute(&entry(e), &input, NOW), want, "{name}");
        }
    }

    #[test]
    fn deadlines() {
        for (v, want) in [
            (json!({"id": "a"}), None),
            (json!({"id": "a", "last_error_reset_at": 5.0, "last_status_at": 1.0}), Some(5.0)),
            (json!({"id": "a", "last_status_at": 100.0, "last_error_code": 401}), Some(400.0)),
            // hermes-agent's 429 mark (no streak, no reset time): its flat hour.
            (json!({"id": "a", "last_status_at": 100.0, "last_error_code": 429}), Some(3700.0)),
            (json!({"id": "a", "last_status_at": 100.0, "last_error_code": 429, "rate_limit_streak": 2}), Some(400.0)),
            (json!({"id": "a", "last_status_at": 100.0, "last_error_code": 429, "rate_limit_streak": 4}), Some(3700.0)),
            (
                json!({"id": "a", "last_status_at": 100.0, "last_error_code": 429, "rate_limit_streak": 99}),
                Some(3700.0),
            ),
            (json!({"id": "a", "last_status_at": 100.0, "last_error_code": 429, "rate_limit_streak": -3}), Some(160.0)),
            (json!({"id": "a", "last_status_at": 100.0, "last_error_code": 402}), Some(3700.0)),
            (json!({"id": "a", "last_status_at": 100.0}), Some(3700.0)),
        ] {
            assert_eq!(deadline(&entry(v.clone())), want, "{v}");
        }
    }

    #[test]
    fn class_words() {
        for (code, reason, want) in [
            (Some(429), None, "rate-limited"),
            (Some(402), Some("insufficient_quota"), "billing"),
            (Some(403), None, "forbidden"),
            (Some(401), Some("refresh_failed"), "auth failed"),
            (None, Some("refresh_failed"), "refresh failed"),
            (None, Some("REFRESH_FAILED"), "refresh failed"),
            (Some(500), None, "exhausted"),
            (None, None, "exhausted"),
        ] {
            assert_eq!(class_word(code, reason), want, "{code:?} {reason:?}");
        }
    }

    #[test]
    fn descriptions() {
        let cooling = |class, reason: Option<&str>, code, until| Status::Cooling {
            class,
            reason: reason.map(str::to_string),
            code,
            until,
        };
        for (status, want) in [
            (Status::Ok, "ok"),
            (
                cooling("rate-limited", Some("rate_limit_exceeded"), Some(429), NOW + 42.0),
                "cooling: rate-limited (429), 42s left",
            ),
            (cooling("billing", None, Some(402), NOW + 1800.0), "cooling: billing (402), 30m 0s left"),
            // A reason that only repeats the code or the class word is not shown twice.
            (cooling("billing", Some("402"), Some(402), NOW + 1800.0), "cooling: billing (402), 30m 0s left"),
            (
                cooling("billing", Some("insufficient_credits"), Some(402), NOW + 1800.0),
                "cooling: billing (402), 30m 0s left: insufficient_credits",
            ),
            (
                cooling("rate-limited", Some("rate-limited"), Some(429), NOW + 41.2),
                "cooling: rate-limited (429), 42s left",
            ),
            (
                cooling("exhausted", Some("overloaded"), None, NOW + 3600.0),
                "cooling: exhausted, 1h 0m left: overloaded",
            ),
            (
                cooling("rate-limited", Some("rate_limit_exceeded: output token quota reached"), Some(429), NOW + 42.0),
                "cooling: rate-limited (429), 42s left: output token quota reached",
            ),
            (
                Status::Dead { reason: Some("token_invalidated".into()), code: Some(401), oauth: true },
                "dead: token_invalidated (401) — log in again or reset by id",
            ),
            (
                Status::Dead { reason: Some("invalid_grant".into()), code: None, oauth: true },
                "dead: invalid_grant — log in again or reset by id",
            ),
            (
                Status::Dead { reason: None, code: Some(401), oauth: true },
                "dead: auth failed (401) — log in again or reset by id",
            ),
            (Status::Dead { reason: None, code: None, oauth: true }, "dead — log in again or reset by id"),
            // A revoked API key cannot log in: the fix is a new key.
            (
                Status::Dead { reason: Some("invalid_api_key".into()), code: Some(401), oauth: false },
                "dead: invalid_api_key (401) — add a new key or reset by id",
            ),
            (
                Status::SourceMissing { detail: "OPENROUTER_API_KEY not set".into() },
                "source missing: OPENROUTER_API_KEY not set",
            ),
            (Status::SourceMissing { detail: String::new() }, "source missing"),
            (Status::NeedsRefresh { refreshable: true, hint: Some("ignored".into()) }, "needs refresh (automatic)"),
            (
                Status::NeedsRefresh { refreshable: false, hint: Some("run Claude Code".into()) },
                "needs refresh: run Claude Code",
            ),
            (Status::NeedsRefresh { refreshable: false, hint: None }, "needs refresh"),
        ] {
            assert_eq!(status.describe(NOW), want);
        }
    }

    #[test]
    fn the_402_row_reads_thirty_minutes() {
        let e = entry(
            json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 1800.0, "last_error_code": 402,
            "last_error_reason": "billing"}),
        );
        assert_eq!(compute(&e, &StatusInput::default(), NOW).describe(NOW), "cooling: billing (402), 30m 0s left");
    }

    #[test]
    fn accessors() {
        let cooling =
            Status::Cooling { class: "rate-limited", reason: Some("r".into()), code: Some(429), until: NOW + 41.5 };
        assert!(!cooling.selectable());
        assert_eq!(cooling.json_name(), "cooling");
        assert_eq!(
            (cooling.class(), cooling.reason(), cooling.code(), cooling.until()),
            (Some("rate-limited"), Some("r"), Some(429), Some(NOW + 41.5))
        );
        assert_eq!(cooling.seconds_left(NOW), Some(42));
        assert_eq!(cooling.seconds_left(NOW + 100.0), Some(0));

        let dead = Status::Dead { reason: Some("token_invalidated".into()), code: Some(401), oauth: true };
        assert!(!dead.selectable());
        assert_eq!(dead.json_name(), "dead");
        assert_eq!(
            (dead.class(), dead.reason(), dead.code(), dead.until()),
            (Some("auth failed"), Some("token_invalidated"), Some(401), None)
        );

        for (status, selectable, name) in [
            (Status::Ok, true, "ok"),
            (Status::SourceMissing { detail: "x".into() }, false, "source_missing"),
            (Status::NeedsRefresh { refreshable: true, hint: None }, true, "needs_refresh"),
            (Status::NeedsRefresh { refreshable: false, hint: None }, false, "needs_refresh"),
        ] {
            assert_eq!(status.selectable(), selectable, "{name}");
            assert_eq!(status.json_name(), name);
            assert_eq!((status.class(), status.reason(), status.code(), status.until()), (None, None, None, None));
            assert_eq!(status.seconds_left(NOW), None);
        }
    }
}
