//! Marking (docs/design.md#cooldowns): what an outcome does to an entry's status fields.
//!
//! [`decide`] is pure: from the entry as freshly read, the outcome, whether the entry is the sole
//! selectable one, and `now`, it returns a [`Decision`]. [`apply`] writes that decision into the
//! stored JSON object with the entry helpers, so key order and unknown keys survive.
//!
//! docs/design.md#oauth-refresh applies: a transient refresh failure (network, 5xx, token endpoint 429, grant-lock
//! timeout) never marks; only terminal reasons make an entry dead.
use crate::context::Epoch;
use crate::model::entry::{self, Entry, LastStatus};
use crate::pool::hints::MAX_HINT_SECS;
use crate::pool::status;
use serde_json::{Map, Value};

pub use crate::pool::status::LADDER;
/// The longest hint-less bench of the pool's only selectable entry for 429 and 401.
pub const SOLE_CAP: f64 = 60.0;

/// 402 and 403 (billing) cooldown without a hint.
const BILLING_SECS: f64 = 3600.0;
/// 401 cooldown without a hint.
const AUTH_SECS: f64 = 300.0;
/// A 429 more than this long after the previous deadline restarts the ladder.
const STREAK_RESET_SECS: f64 = 3600.0;
/// `last_error_message` is cut to this many characters.
const MESSAGE_MAX_CHARS: usize = 300;

/// What happened when an entry was used (or refreshed).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The request succeeded.
    Success,
    /// An HTTP status with the provider's reason, message and reset hint (docs/design.md#reset-hints).
    Http { code: u16, reason: Option<String>, message: Option<String>, hint: Option<Epoch> },
    /// 5xx, timeout, connection error, transient refresh failure.
    Transient,
    /// A refresh answered with a terminal reason (`invalid_grant`, …).
    RefreshTerminal { reason: String, message: Option<String> },
    /// The request succeeded (as [`Outcome::Success`]) and is counted: the headroom the answer
    /// announced, if any (with `bench`, an entry with nothing left is benched until the announced
    /// reset, docs/recovery.md#headroom), and the tokens it reports (docs/guide.md#usage).
    /// `clear`: the entry had a status when it was picked, which this success lifts; a status
    /// another process set while the request was in flight stays.
    Answered {
        headroom: Option<super::headroom::Headroom>,
        usage: Option<super::usage::Usage>,
        bench: bool,
        clear: bool,
        /// The model that answered: a bench of the entry for it alone is lifted.
        model: Option<String>,
    },
    /// An error that names one model (docs/recovery.md#model-benches): the entry is benched for
    /// `model` only, until `until`; its status is left alone.
    ModelBench { model: String, code: u16, reason: Option<String>, until: Epoch },
}

/// The status fields a mark writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// `last_status`: exhausted or dead.
    pub status: LastStatus,
    /// `last_status_at`: when the mark was made.
    pub at: Epoch,
    /// `last_error_code`: the HTTP status, if any (none for a refresh error).
    pub code: Option<i64>,
    /// `last_error_reason`: the provider's reason, else the class word.
    pub reason: Option<String>,
    /// `last_error_message`: trimmed, masked, at most 300 characters.
    pub message: Option<String>,
    /// The deadline; `None` (stored as null) for dead marks.
    pub reset_at: Option<Epoch>,
    /// `rate_limit_streak`; `None` deletes the key.
    pub streak: Option<i64>,
}

/// What to do to the stored entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// No write.
    Unchanged,
    /// Null the six status fields and delete the streak.
    Clear,
    /// Write this mark.
    Set(Mark),
}

/// Whether a provider reason means the credential can never recover on its own
/// (case-insensitive): `invalid_grant`, `token_invalidated`, `refresh_token_reused`,
/// `token_revoked`, `revoked`.
pub fn is_terminal_reason(reason: &str) -> bool {
    const TERMINAL: [&str; 5] =
        ["invalid_grant", "token_invalidated", "refresh_token_reused", "token_revoked", "revoked"];
    let r = reason.trim();
    TERMINAL.iter().any(|t| r.eq_ignore_ascii_case(t))
}

/// The mark an outcome earns (docs/design.md#cooldowns). `sole`: at the moment of marking no other entry in the pool
/// is selectable.
///
/// A dead entry stays as it is whatever the outcome: only a new login or a reset by id revives
/// it (docs/design.md#cooldowns), and re-marking it dead would only churn its timestamp.
pub fn decide(entry: &Entry, outcome: &Outcome, sole: bool, now: Epoch) -> Decision {
    if entry.last_status == Some(LastStatus::Dead) {
        return Decision::Unchanged;
    }
    match outcome {
        Outcome::Success => clear(entry),
        Outcome::Answered { headroom, bench, clear: lift, .. } => {
            match headroom.as_ref().and_then(|h| Some((h, h.exhausted_until(now)?))).filter(|_| *bench) {
                Some((h, until)) => headroom_bench(entry, h, until, now),
                None if *lift => clear(entry),
                None => Decision::Unchanged,
            }
        }
        Outcome::Transient | Outcome::ModelBench { .. } => Decision::Unchanged,
        Outcome::RefreshTerminal { reason, message } => {
            dead(entry, None, Some(reason.as_str()), message.as_deref(), now)
        }
        Outcome::Http { code, reason, message, hint } => {
            let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            let message = message.as_deref();
            let hint = hint.filter(|h| h.is_finite() && *h > now).map(|h| h.min(now + MAX_HINT_SECS));
            match code {
                200..=299 => clear(entry),
                429 => {
                    let streak = next_streak(entry, now);
                    let ladder = status::ladder_step(streak);
                    let until = hint.unwrap_or_else(|| capped(now, ladder, sole));
                    exhausted(entry, 429, reason, message, until, Some(streak), now)
                }
                402 | 403 => exhausted(entry, *code, reason, message, hint.unwrap_or(now + BILLING_SECS), None, now),
                401 if reason.is_some_and(is_terminal_reason) => dead(entry, Some(401), reason, message, now),
                401 => {
                    let until = hint.unwrap_or_else(|| capped(now, AUTH_SECS, sole));
                    exhausted(entry, 401, reason, message, until, None, now)
                }
                // 5xx is the server's trouble and other 4xx are the request's (400, 404, 422 …);
                // neither says anything about the key.
                _ => Decision::Unchanged,
            }
        }
    }
}

/// Write `decision` into a stored entry object. Returns whether the object changed.
pub fn apply(map: &mut Map<String, Value>, decision: &Decision) -> bool {
    match decision {
        Decision::Unchanged => false,
        Decision::Clear => {
            let changed = entry::has_status(map);
            if changed {
                entry::clear_status(map);
            }
            changed
        }
        Decision::Set(mark) => {
            let before = snapshot(map);
            let text = |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
            entry::set(map, entry::LAST_STATUS, Value::String(mark.status.as_str().to_string()));
            entry::set(map, entry::LAST_STATUS_AT, entry::epoch_value(mark.at));
            entry::set(map, entry::LAST_ERROR_CODE, mark.code.map_or(Value::Null, Value::from));
            entry::set(map, entry::LAST_ERROR_REASON, text(&mark.reason));
            entry::set(map, entry::LAST_ERROR_MESSAGE, text(&mark.message));
            entry::set(map, entry::LAST_ERROR_RESET_AT, mark.reset_at.map_or(Value::Null, entry::epoch_value));
            entry::set(map, entry::RATE_LIMIT_STREAK, mark.streak.map_or(Value::Null, Value::from));
            snapshot(map) != before
        }
    }
}

/// The fields a decision can touch, to tell whether a write changed anything.
fn snapshot(map: &Map<String, Value>) -> Vec<Option<Value>> {
    entry::STATUS_FIELDS.iter().chain([&entry::RATE_LIMIT_STREAK]).map(|k| map.get(*k).cloned()).collect()
}

fn clear(entry: &Entry) -> Decision {
    let e = entry;
    let any = e.last_status.is_some()
        || e.last_status_at.is_some()
        || e.last_error_code.is_some()
        || e.last_error_reason.is_some()
        || e.last_error_message.is_some()
        || e.last_error_reset_at.is_some()
        || e.rate_limit_streak.is_some();
    if any {
        Decision::Clear
    } else {
        Decision::Unchanged
    }
}

/// `now + secs`, capped at the sole cap when the entry is the pool's only selectable one.
fn capped(now: Epoch, secs: f64, sole: bool) -> Epoch {
    now + if sole { secs.min(SOLE_CAP) } else { secs }
}

/// The streak of a new 429: the previous one plus 1, restarting at 1 when the previous mark was
/// not a 429 or now is more than an hour past its deadline. A missing streak counts as 0
/// (hermes-agent drops the field; the ladder then restarts at 60 s).
fn next_streak(entry: &Entry, now: Epoch) -> i64 {
    let previous_429 = entry.last_status == Some(LastStatus::Exhausted) && entry.last_error_code == Some(429);
    let recent = status::deadline(entry).is_some_and(|d| now <= d + STREAK_RESET_SECS);
    if previous_429 && recent {
        entry.rate_limit_streak.unwrap_or(0).max(0).saturating_add(1)
    } else {
        1
    }
}

/// An `exhausted` mark. The later deadline wins while the entry is still cooling, so a short
/// re-bench cannot free a key the provider benched for longer.
/// The bench of an entry whose provider announced nothing left: class `quota`, no HTTP code (it
/// was not refused), until the announced reset (or a later deadline it already has).
fn headroom_bench(entry: &Entry, h: &super::headroom::Headroom, until: Epoch, now: Epoch) -> Decision {
    let until = until.min(now + MAX_HINT_SECS);
    let current = (entry.last_status == Some(LastStatus::Exhausted)).then(|| status::deadline(entry)).flatten();
    let until = match current {
        Some(d) if d > now && d > until => d,
        _ => until,
    };
    Decision::Set(Mark {
        status: LastStatus::Exhausted,
        at: now,
        code: None,
        reason: Some(super::headroom::REASON.to_string()),
        message: Some(format!("the provider announced {}", h.describe(now))),
        reset_at: Some(until),
        streak: None,
    })
}

fn exhausted(
    entry: &Entry,
    code: u16,
    reason: Option<&str>,
    message: Option<&str>,
    until: Epoch,
    streak: Option<i64>,
    now: Epoch,
) -> Decision {
    let current = (entry.last_status == Some(LastStatus::Exhausted)).then(|| status::deadline(entry)).flatten();
    let until = match current {
        Some(d) if d > now && d > until => d,
        _ => until,
    };
    let code = i64::from(code);
    Decision::Set(Mark {
        status: LastStatus::Exhausted,
        at: now,
        code: Some(code),
        // What the provider said, or nothing: a class word here would be shown twice by
        // hermes-agent, next to its own ("rate-limited rate-limited (429)").
        reason: reason.map(str::to_string),
        message: clean_message(entry, message),
        reset_at: Some(until),
        streak,
    })
}

/// A `dead` mark: no deadline and no streak.
fn dead(entry: &Entry, code: Option<i64>, reason: Option<&str>, message: Option<&str>, now: Epoch) -> Decision {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    Decision::Set(Mark {
        status: LastStatus::Dead,
        at: now,
        code,
        reason: reason.map(str::to_string),
        message: clean_message(entry, message),
        reset_at: None,
        streak: None,
    })
}

/// The stored message: trimmed, the entry's own tokens masked (providers sometimes echo the key),
/// at most 300 characters. Secrets of borrowed entries are not in the entry; the caller masks
/// those before building the outcome.
fn clean_message(entry: &Entry, message: Option<&str>) -> Option<String> {
    let mut text = message.map(str::trim).filter(|m| !m.is_empty())?.to_string();
    for secret in [&entry.access_token, &entry.refresh_token].into_iter().flatten() {
        if !secret.is_empty() {
            text = crate::secret::redact_in(&text, secret);
        }
    }
    Some(text.chars().take(MESSAGE_MAX_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Epoch = 1_751_360_000.0;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn parse(m: &Map<String, Value>) -> Entry {
        Entry::parse(m).unwrap()
    }

    fn http(code: u16, hint: Option<Epoch>) -> Outcome {
        Outcome::Http { code, reason: None, message: None, hint }
    }

    fn stored() -> Map<String, Value> {
        obj(json!({"id": "81b6bb", "label": "api-key-1", "auth_type": "api_key", "priority": 0, "source": "manual",
            "access_token": "sk-or-v1-1111111111", "last_status": null, "last_status_at": null, "last_error_code": null,
            "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null, "request_count": 3,
            "x-unknown": {"kept": true}}))
    }

    /// Decide on the stored object, apply, and return the new deadline.
    fn mark(m: &mut Map<String, Value>, outcome: &Outcome, sole: bool, now: Epoch) -> Decision {
        let d = decide(&parse(m), outcome, sole, now);
        apply(m, &d);
        d
    }

    fn set_of(d: &Decision) -> &Mark {
        match d {
            Decision::Set(m) => m,
            other => panic!("expected a mark, got {other:?}"),
        }
    }

    #[test]
    fn ladder_for_successive_429s() {
        let mut m = stored();
        let mut now = NOW;
        for (step, want) in [60.0, 300.0, 1500.0, 3600.0, 3600.0].into_iter().enumerate() {
            let d = mark(&mut m, &http(429, None), false, now);
            let mk = set_of(&d);
            assert_eq!(mk.reset_at, Some(now + want), "step {step}");
            assert_eq!(mk.streak, Some(step as i64 + 1));
            assert_eq!(m[entry::RATE_LIMIT_STREAK], json!(step + 1));
            // The next 429 comes just after the bench ended.
            now += want + 1.0;
        }
        let e = parse(&m);
        assert_eq!(e.last_status, Some(LastStatus::Exhausted));
        assert_eq!(e.last_error_reason.as_deref(), None, "no reason given, none stored");
    }

    #[test]
    fn streak_restarts() {
        // More than an hour past the previous deadline.
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        mark(&mut m, &http(429, None), false, NOW + 61.0);
        let d = parse(&m).last_error_reset_at.unwrap();
        assert_eq!(d, NOW + 61.0 + 300.0);
        let mk = mark(&mut m, &http(429, None), false, d + 3600.5);
        assert_eq!((set_of(&mk).streak, set_of(&mk).reset_at), (Some(1), Some(d + 3600.5 + 60.0)));

        // Exactly an hour past still continues.
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        let mk = mark(&mut m, &http(429, None), false, NOW + 60.0 + 3600.0);
        assert_eq!(set_of(&mk).streak, Some(2));

        // After a non-429 mark.
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        mark(&mut m, &http(429, None), false, NOW + 61.0);
        mark(&mut m, &http(402, None), false, NOW + 400.0);
        assert!(!m.contains_key(entry::RATE_LIMIT_STREAK), "a non-429 mark deletes the streak");
        let mk = mark(&mut m, &http(429, None), false, NOW + 4100.0);
        assert_eq!((set_of(&mk).streak, set_of(&mk).reset_at), (Some(1), Some(NOW + 4160.0)));

        // After a success.
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        assert_eq!(mark(&mut m, &Outcome::Success, false, NOW + 70.0), Decision::Clear);
        let mk = mark(&mut m, &http(429, None), false, NOW + 80.0);
        assert_eq!(set_of(&mk).streak, Some(1));

        // A hermes-agent 429 row without a streak restarts the ladder.
        let e = parse(&obj(
            json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 30.0, "last_error_code": 429}),
        ));
        let mk = decide(&e, &http(429, None), false, NOW);
        assert_eq!(set_of(&mk).streak, Some(1));
        // … and keeps hermes-agent's deadline (its flat hour: NOW - 30 + 3600), the later one.
        assert_eq!(set_of(&mk).reset_at, Some(NOW - 30.0 + 3600.0));
    }

    #[test]
    fn outcomes() {
        let clean = parse(&stored());
        let h = |code, reason: &str, hint| Outcome::Http {
            code,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            message: None,
            hint,
        };
        // (name, outcome, sole, status, code, reason, reset_at, streak)
        type Row = (&'static str, Outcome, bool, LastStatus, Option<i64>, &'static str, Option<Epoch>, Option<i64>);
        let rows: Vec<Row> = vec![
            (
                "429",
                h(429, "rate_limit_exceeded", None),
                false,
                LastStatus::Exhausted,
                Some(429),
                "rate_limit_exceeded",
                Some(NOW + 60.0),
                Some(1),
            ),
            (
                "429 hint",
                h(429, "", Some(NOW + 120.0)),
                false,
                LastStatus::Exhausted,
                Some(429),
                "",
                Some(NOW + 120.0),
                Some(1),
            ),
            (
                "sole 429 capped",
                h(429, "", None),
                true,
                LastStatus::Exhausted,
                Some(429),
                "",
                Some(NOW + 60.0),
                Some(1),
            ),
            (
                "sole 429 Retry-After 900",
                h(429, "", Some(NOW + 900.0)),
                true,
                LastStatus::Exhausted,
                Some(429),
                "",
                Some(NOW + 900.0),
                Some(1),
            ),
            (
                "429 hint 30 days",
                h(429, "", Some(NOW + 30.0 * 86400.0)),
                false,
                LastStatus::Exhausted,
                Some(429),
                "",
                Some(NOW + MAX_HINT_SECS),
                Some(1),
            ),
            (
                "429 past hint ignored",
                h(429, "", Some(NOW - 5.0)),
                false,
                LastStatus::Exhausted,
                Some(429),
                "",
                Some(NOW + 60.0),
                Some(1),
            ),
            (
                "402",
                h(402, "insufficient_credits", None),
                false,
                LastStatus::Exhausted,
                Some(402),
                "insufficient_credits",
                Some(NOW + 3600.0),
                None,
            ),
            ("402 sole", h(402, "", None), true, LastStatus::Exhausted, Some(402), "", Some(NOW + 3600.0), None),
            ("403 sole", h(403, "", None), true, LastStatus::Exhausted, Some(403), "", Some(NOW + 3600.0), None),
            (
                "402 hint",
                h(402, "", Some(NOW + 10.0)),
                false,
                LastStatus::Exhausted,
                Some(402),
                "",
                Some(NOW + 10.0),
                None,
            ),
            (
                "401",
                h(401, "invalid_api_key", None),
                false,
                LastStatus::Exhausted,
                Some(401),
                "invalid_api_key",
                Some(NOW + 300.0),
                None,
            ),
            ("401 sole", h(401, "", None), true, LastStatus::Exhausted, Some(401), "", Some(NOW + 60.0), None),
            (
                "401 sole hint",
                h(401, "", Some(NOW + 200.0)),
                true,
                LastStatus::Exhausted,
                Some(401),
                "",
                Some(NOW + 200.0),
                None,
            ),
            (
                "401 token_invalidated",
                h(401, "token_invalidated", Some(NOW + 99.0)),
                true,
                LastStatus::Dead,
                Some(401),
                "token_invalidated",
                None,
                None,
            ),
            ("401 REVOKED", h(401, "REVOKED", None), false, LastStatus::Dead, Some(401), "REVOKED", None, None),
            (
                "refresh invalid_grant",
                Outcome::RefreshTerminal { reason: "invalid_grant".into(), message: None },
                false,
                LastStatus::Dead,
                None,
                "invalid_grant",
                None,
                None,
            ),
            (
                "refresh_token_reused",
                Outcome::RefreshTerminal { reason: "refresh_token_reused".into(), message: None },
                true,
                LastStatus::Dead,
                None,
                "refresh_token_reused",
                None,
                None,
            ),
        ];
        for (name, outcome, sole, status, code, reason, reset_at, streak) in rows {
            let want = Decision::Set(Mark {
                status,
                at: NOW,
                code,
                // No reason from the provider: nothing is stored (no class word).
                reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
                message: None,
                reset_at,
                streak,
            });
            assert_eq!(decide(&clean, &outcome, sole, NOW), want, "{name}");
        }
        for (name, outcome) in [
            ("timeout", Outcome::Transient),
            ("503", h(503, "overloaded", Some(NOW + 30.0))),
            ("500", h(500, "", None)),
            ("400", h(400, "invalid_request_error", None)),
            ("404", h(404, "", None)),
            ("422", h(422, "", None)),
            ("301", h(301, "", None)),
            ("success on a clean entry", Outcome::Success),
            ("2xx on a clean entry", h(204, "", None)),
        ] {
            assert_eq!(decide(&clean, &outcome, false, NOW), Decision::Unchanged, "{name}");
        }
    }

    #[test]
    fn transient_failures_leave_the_mark_alone() {
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        let before = m.clone();
        for outcome in [Outcome::Transient, http(503, None), http(504, Some(NOW + 5000.0))] {
            let d = mark(&mut m, &outcome, false, NOW + 1.0);
            assert_eq!(d, Decision::Unchanged);
            assert!(!apply(&mut m, &d));
        }
        assert_eq!(m, before);
    }

    #[test]
    fn later_deadline_wins() {
        let mut m = stored();
        mark(&mut m, &http(402, None), false, NOW);
        let mk = mark(&mut m, &http(429, Some(NOW + 100.0)), false, NOW + 10.0);
        assert_eq!(set_of(&mk).reset_at, Some(NOW + 3600.0));
        assert_eq!(parse(&m).last_error_reset_at, Some(NOW + 3600.0));
        assert_eq!(parse(&m).last_error_code, Some(429));
        // A longer new deadline replaces the old one.
        let mk = mark(&mut m, &http(403, Some(NOW + 7200.0)), false, NOW + 20.0);
        assert_eq!(set_of(&mk).reset_at, Some(NOW + 7200.0));
        // Once the old deadline has passed, the new one stands even if shorter.
        let mk = mark(&mut m, &http(401, None), true, NOW + 7300.0);
        assert_eq!(set_of(&mk).reset_at, Some(NOW + 7360.0));
        // A hermes-agent row without reset_at: its TTL deadline counts too.
        let e = parse(&obj(
            json!({"id": "a", "last_status": "exhausted", "last_status_at": NOW - 60.0, "last_error_code": 402}),
        ));
        assert_eq!(set_of(&decide(&e, &http(429, None), true, NOW)).reset_at, Some(NOW + 3540.0));
    }

    #[test]
    fn dead_mark_fields_and_order() {
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        let d = mark(
            &mut m,
            &Outcome::Http {
                code: 401,
                reason: Some("token_invalidated".into()),
                message: Some("Your authentication token has been invalidated.".into()),
                hint: None,
            },
            false,
            NOW + 5.0,
        );
        assert_eq!(set_of(&d).status, LastStatus::Dead);
        assert_eq!(m[entry::LAST_ERROR_RESET_AT], Value::Null);
        assert!(!m.contains_key(entry::RATE_LIMIT_STREAK));
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "label",
                "auth_type",
                "priority",
                "source",
                "access_token",
                "last_status",
                "last_status_at",
                "last_error_code",
                "last_error_reason",
                "last_error_message",
                "last_error_reset_at",
                "request_count",
                "x-unknown"
            ]
        );
        assert_eq!(
            Value::Object(m.clone()).to_string(),
            r#"{"id":"81b6bb","label":"api-key-1","auth_type":"api_key","priority":0,"source":"manual","access_token":"sk-or-v1-1111111111","last_status":"dead","last_status_at":1751360005.0,"last_error_code":401,"last_error_reason":"token_invalidated","last_error_message":"Your authentication token has been invalidated.","last_error_reset_at":null,"request_count":3,"x-unknown":{"kept":true}}"#
        );
        // A dead entry stays dead: later outcomes, even success, do not touch it.
        for outcome in [Outcome::Success, http(429, None), http(401, None), Outcome::Transient] {
            assert_eq!(decide(&parse(&m), &outcome, false, NOW + 10.0), Decision::Unchanged);
        }
    }

    #[test]
    fn success_clears() {
        let mut m = stored();
        mark(&mut m, &http(429, None), false, NOW);
        assert_eq!(mark(&mut m, &Outcome::Success, false, NOW + 61.0), Decision::Clear);
        for k in entry::STATUS_FIELDS {
            assert_eq!(m[k], Value::Null, "{k}");
        }
        assert!(!m.contains_key(entry::RATE_LIMIT_STREAK));
        assert_eq!(decide(&parse(&m), &Outcome::Success, false, NOW + 62.0), Decision::Unchanged);
        // A lone leftover streak or an `ok` status is cleared too.
        let e = parse(&obj(json!({"id": "a", "rate_limit_streak": 2})));
        assert_eq!(decide(&e, &Outcome::Success, false, NOW), Decision::Clear);
        let e = parse(&obj(json!({"id": "a", "last_status": "ok"})));
        assert_eq!(decide(&e, &http(200, None), false, NOW), Decision::Clear);
    }

    #[test]
    fn apply_reports_changes() {
        let mut m = stored();
        assert!(!apply(&mut m, &Decision::Unchanged));
        assert!(!apply(&mut m, &Decision::Clear));
        assert_eq!(m, stored());
        let d = decide(&parse(&m), &http(429, None), false, NOW);
        assert!(apply(&mut m, &d));
        assert!(!apply(&mut m, &d), "the same mark twice writes nothing new");
        assert!(apply(&mut m, &Decision::Clear));
        // Missing status fields are added (they are always present in a written entry).
        let mut bare = obj(json!({"id": "a"}));
        assert!(apply(&mut bare, &d));
        assert_eq!(bare.len(), 8);
        assert_eq!(bare[entry::LAST_ERROR_MESSAGE], Value::Null);
        assert_eq!(bare[entry::LAST_ERROR_RESET_AT], json!(1751360060.0));
    }

    #[test]
    fn messages_are_masked_and_cut() {
        let e = parse(&stored());
        let long = format!("key sk-or-v1-1111111111 rejected {}", "é".repeat(400));
        let d = decide(&e, &Outcome::Http { code: 402, reason: None, message: Some(long), hint: None }, false, NOW);
        let msg = set_of(&d).message.clone().unwrap();
        assert_eq!(msg.chars().count(), 300);
        assert!(msg.starts_with("key sk-o…1111 rejected éé"), "{msg}");
        assert!(!msg.contains("sk-or-v1-1111111111"));
        let d = decide(
            &e,
            &Outcome::Http { code: 402, reason: Some("  ".into()), message: Some("  ".into()), hint: None },
            false,
            NOW,
        );
        assert_eq!((set_of(&d).reason.as_deref(), set_of(&d).message.as_deref()), (None, None));
    }

    #[test]
    fn terminal_reasons() {
        for r in ["invalid_grant", "TOKEN_INVALIDATED", "refresh_token_reused", "token_revoked", "revoked", " Revoked "]
        {
            assert!(is_terminal_reason(r), "{r}");
        }
        for r in ["", "invalid_api_key", "refresh_failed", "revoked_soon", "insufficient_quota"] {
            assert!(!is_terminal_reason(r), "{r}");
        }
    }

    #[test]
    fn hostile_hints_and_streaks() {
        let e = parse(&obj(json!({"id": "a", "last_status": "exhausted", "last_error_code": 429,
            "last_status_at": NOW, "rate_limit_streak": i64::MAX})));
        let d = decide(&e, &http(429, Some(f64::NAN)), false, NOW + 1.0);
        assert_eq!(set_of(&d).streak, Some(i64::MAX));
        assert_eq!(set_of(&d).reset_at, Some(NOW + 3601.0));
        let d = decide(&e, &http(429, Some(f64::INFINITY)), false, NOW + 1.0);
        assert_eq!(set_of(&d).reset_at, Some(NOW + 3601.0));
    }
}
