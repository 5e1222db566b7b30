//! The recovery policy (docs/design.md#recovery with docs/design.md#recovery, 3 and 9): what to do after one attempt.
//!
//! [`decide`] is pure: from the classified answer, the kind of credential, whether another entry
//! of the pool could serve, and what this step already spent, it returns whether to mark the
//! entry and what to do next. The runtime performs the decision (marks through
//! [`crate::ops::mark`], sleeps through the context's sleeper); `auth simulate` performs the same
//! decisions on an in-memory pool.
//!
//! The rules, in one place:
//! * a sibling that can serve is used at once: no sleep, no retry of the same key, and a
//!   rotation never spends the retry budget;
//! * a sole entry's 429 retries once only when the provider asked for at most 5 s; otherwise the
//!   request moves to the next fallback at once (usage windows never retry);
//! * 401 on a refreshable OAuth entry refreshes once and retries; after that a 401 is handled as
//!   on an API key;
//! * a sole API key (or the sole entry after a refresh) that gets 401 or 403 twice is marked
//!   after one fresh pick (no backoff); the engine then goes on to the next fallback, and
//!   without one fails fast with an actionable message;
//! * 5xx, timeouts and connection errors never mark: one retry of the same entry after a jittered
//!   ~0.5 s, then the next fallback;
//! * any other status is the request's fault: it is returned unchanged, nothing rotates.

use super::classify::Class;
use std::time::Duration;

/// A sole entry's 429 is retried only when the provider asks for at most this many seconds.
pub const SOLE_RETRY_MAX_SECS: f64 = 5.0;
/// Base delay of the single retry after a 5xx, timeout or connection error.
pub const TRANSIENT_DELAY: Duration = Duration::from_millis(500);
/// Retries of the same entry after transient failures, per step (docs/design.md#recovery).
pub const TRANSIENT_BUDGET: u32 = 1;

/// What kind of credential served the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A pool entry holding an API key (or a static token hermes cannot refresh).
    ApiKey,
    /// A pool entry holding an OAuth token; `refreshable` when hermes may refresh it.
    OAuth { refreshable: bool },
    /// A fallback step's own `api_key`/`key_env`: never marked (docs/design.md#fallback).
    Fixed,
}

/// What this step (one provider of the chain) has spent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepState {
    /// Retries after 5xx/timeouts/connection errors (the retry budget).
    pub transient_retries: u32,
    /// The single sole-entry 429 retry was used.
    pub rate_retry_used: bool,
    /// The single fresh retry after a sole-entry 401/403 was used.
    pub auth_retry_used: bool,
    /// The current entry was refreshed after a 401 (reset when the step rotates).
    pub refreshed: bool,
    /// The current entry's refresh failed without a terminal reason, or it cannot be refreshed.
    pub refresh_failed: bool,
}

/// The facts one decision is made from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    pub class: Class,
    /// Seconds the provider asked to wait (see [`super::classify::Classified::retry_in`]).
    pub retry_in: Option<f64>,
    pub credential: Credential,
    /// Another entry of the pool (not yet tried in this request) is selectable.
    pub siblings: bool,
    pub state: StepState,
    /// A random number in [0, 1) for the jitter, drawn by the caller.
    pub jitter: f64,
}

/// Why a request ends with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// The sole credential was rejected (401/403) twice, or is permanently invalid: exit 1 with
    /// the actionable message (docs/design.md#command-line).
    AuthRejected,
    /// The provider refused the request itself (400, 404, …): returned unchanged.
    ClientError,
    /// The request could not be built (invalid URL).
    Invalid,
}

/// The next move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The answer is the reply.
    Reply,
    /// Send again with the same entry after `delay` (zero for none).
    Retry { delay: Duration },
    /// Refresh the OAuth entry, then retry it (see [`after_refresh`]).
    Refresh,
    /// Re-read the store and pick again, the same entry included (sole 401/403).
    FreshRetry,
    /// Pick another entry of the same pool.
    Rotate,
    /// Move to the next step of the fallback chain.
    Fallback,
    /// End the request with an error.
    Fail(FailKind),
}

impl Action {
    /// The `decision` word of `chat --json` and `auth simulate`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Reply => "reply",
            Action::Retry { .. } => "retry",
            Action::Refresh => "refresh",
            Action::FreshRetry => "fresh_retry",
            Action::Rotate => "rotate",
            Action::Fallback => "fallback",
            Action::Fail(_) => "fail",
        }
    }
}

/// A decision: mark the entry with the answer's outcome (docs/design.md#cooldowns), then act.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub mark: bool,
    pub action: Action,
}

impl Decision {
    fn new(mark: bool, action: Action) -> Decision {
        Decision { mark, action }
    }
}

/// Decide what follows one attempt.
pub fn decide(f: &Facts) -> Decision {
    let d = decide_pool(f);
    // A fallback's own key is never written or marked (docs/design.md#fallback).
    if f.credential == Credential::Fixed {
        Decision { mark: false, ..d }
    } else {
        d
    }
}

fn decide_pool(f: &Facts) -> Decision {
    let s = f.state;
    // Rotate when a sibling can serve, else move on: the answer said nothing about the provider.
    let rotate_or_fallback = if f.siblings { Action::Rotate } else { Action::Fallback };
    match f.class {
        Class::Success => Decision::new(true, Action::Reply),
        Class::RateLimited => {
            if f.siblings {
                return Decision::new(true, Action::Rotate);
            }
            match f.retry_in {
                Some(secs) if secs <= SOLE_RETRY_MAX_SECS && !s.rate_retry_used => {
                    Decision::new(true, Action::Retry { delay: Duration::from_secs_f64(secs.max(0.0)) })
                }
                _ => Decision::new(true, Action::Fallback),
            }
        }
        // A spent quota does not come back within a request: never wait for it.
        Class::UsageExhausted | Class::Billing => Decision::new(true, rotate_or_fallback),
        Class::Forbidden => match f.credential {
            _ if f.siblings => Decision::new(true, Action::Rotate),
            // docs/design.md#recovery: a sole API key's 403 is handled like its 401.
            Credential::ApiKey | Credential::Fixed => sole_auth_failure(s),
            Credential::OAuth { .. } => Decision::new(true, Action::Fallback),
        },
        Class::Auth => match f.credential {
            Credential::OAuth { refreshable: true } if !s.refreshed && !s.refresh_failed => {
                Decision::new(false, Action::Refresh)
            }
            _ if f.siblings => Decision::new(true, Action::Rotate),
            _ => sole_auth_failure(s),
        },
        // Dead for good: a retry cannot help. The pool has no room left, so the chain moves on
        // (docs/design.md#recovery "then rotate or fall back"); with no fallback the final error lists it as dead.
        Class::AuthPermanent if f.siblings => Decision::new(true, Action::Rotate),
        Class::AuthPermanent => Decision::new(true, Action::Fallback),
        Class::ServerError | Class::Timeout | Class::Connection => {
            if s.transient_retries < TRANSIENT_BUDGET {
                Decision::new(false, Action::Retry { delay: jittered(TRANSIENT_DELAY, f.jitter) })
            } else {
                Decision::new(false, Action::Fallback)
            }
        }
        Class::ClientError => Decision::new(false, Action::Fail(FailKind::ClientError)),
        Class::Invalid => Decision::new(false, Action::Fail(FailKind::Invalid)),
    }
}

/// A sole credential rejected with 401/403: one fresh retry unmarked, then mark and fail fast
/// (the engine goes on to a fallback step first when the chain has one).
fn sole_auth_failure(s: StepState) -> Decision {
    if s.auth_retry_used {
        Decision::new(true, Action::Fail(FailKind::AuthRejected))
    } else {
        Decision::new(false, Action::FreshRetry)
    }
}

/// ±20 % around `base`, so processes that failed together do not retry together.
pub fn jittered(base: Duration, jitter: f64) -> Duration {
    let j = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
    base.mul_f64(0.8 + 0.4 * j)
}

/// How a refresh after a 401 ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshEnd {
    Refreshed,
    /// A terminal reason (`invalid_grant`, …): the entry is dead.
    Terminal,
    /// Network, 5xx, token endpoint 429, lock timeout (docs/design.md#oauth-refresh: no mark).
    Transient,
    /// hermes may not refresh this entry.
    NotRefreshable,
}

/// What follows a refresh that [`decide`] asked for. `facts` are those of the 401 that caused
/// it. A refreshed entry is retried at once; a dead one is marked (with the refresh error) and
/// left; any other failure handles the 401 as on an API key.
pub fn after_refresh(end: RefreshEnd, facts: &Facts) -> Decision {
    match end {
        RefreshEnd::Refreshed => Decision::new(false, Action::Retry { delay: Duration::ZERO }),
        RefreshEnd::Terminal => Decision::new(true, if facts.siblings { Action::Rotate } else { Action::Fallback }),
        RefreshEnd::Transient | RefreshEnd::NotRefreshable => {
            decide(&Facts { state: StepState { refresh_failed: true, ..facts.state }, ..*facts })
        }
    }
}

impl StepState {
    /// Account for `action` taken on the current entry.
    pub fn record(&mut self, class: Class, action: &Action) {
        match action {
            Action::Retry { .. } if class.is_transient() => self.transient_retries += 1,
            Action::Retry { .. } if class == Class::RateLimited => self.rate_retry_used = true,
            Action::FreshRetry => self.auth_retry_used = true,
            Action::Refresh => self.refreshed = true,
            // Per-entry facts do not carry over to the next entry; the step's budgets do.
            Action::Rotate => {
                self.refreshed = false;
                self.refresh_failed = false;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: Credential = Credential::ApiKey;
    const OAUTH: Credential = Credential::OAuth { refreshable: true };
    const STATIC_OAUTH: Credential = Credential::OAuth { refreshable: false };
    const FIXED: Credential = Credential::Fixed;

    fn st() -> StepState {
        StepState::default()
    }

    fn ms(n: u64) -> Action {
        Action::Retry { delay: Duration::from_millis(n) }
    }

    /// The policy table: (name, class, retry_in, credential, siblings, state, mark, action).
    #[test]
    fn policy_table() {
        let spent_transient = StepState { transient_retries: 1, ..st() };
        let rate_used = StepState { rate_retry_used: true, ..st() };
        let auth_used = StepState { auth_retry_used: true, ..st() };
        let refreshed = StepState { refreshed: true, ..st() };
        let refreshed_auth_used = StepState { refreshed: true, auth_retry_used: true, ..st() };
        let refresh_failed = StepState { refresh_failed: true, ..st() };
        type Row = (&'static str, Class, Option<f64>, Credential, bool, StepState, bool, Action);
        let rows: Vec<Row> = vec![
            ("success", Class::Success, None, API, false, st(), true, Action::Reply),
            ("success on a fixed key is not marked", Class::Success, None, FIXED, false, st(), false, Action::Reply),
            ("429 with a sibling rotates at once", Class::RateLimited, None, API, true, st(), true, Action::Rotate),
            (
                "429 Retry-After 3 with a sibling still rotates",
                Class::RateLimited,
                Some(3.0),
                API,
                true,
                st(),
                true,
                Action::Rotate,
            ),
            ("429 sole, no hint: fallback", Class::RateLimited, None, API, false, st(), true, Action::Fallback),
            (
                "429 sole, Retry-After 30: fallback",
                Class::RateLimited,
                Some(30.0),
                API,
                false,
                st(),
                true,
                Action::Fallback,
            ),
            (
                "429 sole, Retry-After 3: sleep and retry",
                Class::RateLimited,
                Some(3.0),
                API,
                false,
                st(),
                true,
                ms(3000),
            ),
            (
                "429 sole, Retry-After 5: sleep and retry",
                Class::RateLimited,
                Some(5.0),
                API,
                false,
                st(),
                true,
                ms(5000),
            ),
            (
                "429 sole, Retry-After 5.5: fallback",
                Class::RateLimited,
                Some(5.5),
                API,
                false,
                st(),
                true,
                Action::Fallback,
            ),
            ("429 sole, Retry-After 0: retry at once", Class::RateLimited, Some(0.0), API, false, st(), true, ms(0)),
            (
                "429 sole, second time: fallback",
                Class::RateLimited,
                Some(3.0),
                API,
                false,
                rate_used,
                true,
                Action::Fallback,
            ),
            ("429 sole OAuth: fallback", Class::RateLimited, None, OAUTH, false, st(), true, Action::Fallback),
            ("429 fixed key, Retry-After 2: retry", Class::RateLimited, Some(2.0), FIXED, false, st(), false, ms(2000)),
            ("429 fixed key: fallback unmarked", Class::RateLimited, None, FIXED, false, st(), false, Action::Fallback),
            ("usage window with a sibling", Class::UsageExhausted, None, API, true, st(), true, Action::Rotate),
            ("usage window sole: fallback", Class::UsageExhausted, None, API, false, st(), true, Action::Fallback),
            (
                "usage window sole, short hint: still fallback",
                Class::UsageExhausted,
                Some(2.0),
                API,
                false,
                st(),
                true,
                Action::Fallback,
            ),
            ("402 with a sibling", Class::Billing, None, API, true, st(), true, Action::Rotate),
            ("402 sole: fallback", Class::Billing, None, API, false, st(), true, Action::Fallback),
            ("402 OAuth sole: fallback", Class::Billing, None, OAUTH, false, st(), true, Action::Fallback),
            ("403 with a sibling", Class::Forbidden, None, API, true, st(), true, Action::Rotate),
            ("403 OAuth with a sibling", Class::Forbidden, None, OAUTH, true, st(), true, Action::Rotate),
            (
                "403 sole key: one fresh retry, unmarked",
                Class::Forbidden,
                None,
                API,
                false,
                st(),
                false,
                Action::FreshRetry,
            ),
            (
                "403 sole key again: mark and fail",
                Class::Forbidden,
                None,
                API,
                false,
                auth_used,
                true,
                Action::Fail(FailKind::AuthRejected),
            ),
            ("403 sole OAuth: fallback", Class::Forbidden, None, OAUTH, false, st(), true, Action::Fallback),
            ("401 key with a sibling", Class::Auth, None, API, true, st(), true, Action::Rotate),
            ("401 sole key: one fresh retry, unmarked", Class::Auth, None, API, false, st(), false, Action::FreshRetry),
            (
                "401 sole key again: mark and fail",
                Class::Auth,
                None,
                API,
                false,
                auth_used,
                true,
                Action::Fail(FailKind::AuthRejected),
            ),
            ("401 OAuth: refresh first", Class::Auth, None, OAUTH, false, st(), false, Action::Refresh),
            ("401 OAuth with a sibling: refresh first", Class::Auth, None, OAUTH, true, st(), false, Action::Refresh),
            (
                "401 OAuth after refresh, sibling: rotate",
                Class::Auth,
                None,
                OAUTH,
                true,
                refreshed,
                true,
                Action::Rotate,
            ),
            (
                "401 OAuth after refresh, sole: fresh retry",
                Class::Auth,
                None,
                OAUTH,
                false,
                refreshed,
                false,
                Action::FreshRetry,
            ),
            (
                "401 OAuth after refresh and fresh retry: fail",
                Class::Auth,
                None,
                OAUTH,
                false,
                refreshed_auth_used,
                true,
                Action::Fail(FailKind::AuthRejected),
            ),
            (
                "401 OAuth refresh failed, sibling: rotate",
                Class::Auth,
                None,
                OAUTH,
                true,
                refresh_failed,
                true,
                Action::Rotate,
            ),
            (
                "401 static OAuth token: like a key",
                Class::Auth,
                None,
                STATIC_OAUTH,
                false,
                st(),
                false,
                Action::FreshRetry,
            ),
            ("401 static OAuth with a sibling", Class::Auth, None, STATIC_OAUTH, true, st(), true, Action::Rotate),
            ("401 fixed key: one retry", Class::Auth, None, FIXED, false, st(), false, Action::FreshRetry),
            (
                "401 fixed key again: fail unmarked",
                Class::Auth,
                None,
                FIXED,
                false,
                auth_used,
                false,
                Action::Fail(FailKind::AuthRejected),
            ),
            ("401 revoked with a sibling", Class::AuthPermanent, None, API, true, st(), true, Action::Rotate),
            (
                "401 revoked sole: dead, fall back at once",
                Class::AuthPermanent,
                None,
                API,
                false,
                st(),
                true,
                Action::Fallback,
            ),
            (
                "401 token_invalidated OAuth sole: dead, fall back",
                Class::AuthPermanent,
                None,
                OAUTH,
                false,
                st(),
                true,
                Action::Fallback,
            ),
            ("500: retry after ~0.5 s, unmarked", Class::ServerError, None, API, true, st(), false, ms(500)),
            (
                "500 twice: fallback, unmarked",
                Class::ServerError,
                None,
                API,
                true,
                spent_transient,
                false,
                Action::Fallback,
            ),
            (
                "503 Retry-After 20 sole: still one short retry",
                Class::ServerError,
                Some(20.0),
                API,
                false,
                st(),
                false,
                ms(500),
            ),
            ("timeout: retry", Class::Timeout, None, API, false, st(), false, ms(500)),
            ("timeout twice: fallback", Class::Timeout, None, OAUTH, false, spent_transient, false, Action::Fallback),
            ("connection error: retry", Class::Connection, None, FIXED, false, st(), false, ms(500)),
            (
                "connection error twice: fallback",
                Class::Connection,
                None,
                API,
                false,
                spent_transient,
                false,
                Action::Fallback,
            ),
            (
                "400: fail without rotating",
                Class::ClientError,
                None,
                API,
                true,
                st(),
                false,
                Action::Fail(FailKind::ClientError),
            ),
            ("404 sole: fail", Class::ClientError, None, API, false, st(), false, Action::Fail(FailKind::ClientError)),
            ("invalid URL: fail", Class::Invalid, None, API, true, st(), false, Action::Fail(FailKind::Invalid)),
        ];
        assert!(rows.len() >= 40);
        for (name, class, retry_in, credential, siblings, state, mark, action) in rows {
            // jitter 0.5 puts the transient delay exactly on its 500 ms base.
            let f = Facts { class, retry_in, credential, siblings, state, jitter: 0.5 };
            assert_eq!(decide(&f), Decision { mark, action }, "{name}");
        }
    }

    #[test]
    fn refresh_outcomes() {
        let f = Facts {
            class: Class::Auth,
            retry_in: None,
            credential: OAUTH,
            siblings: false,
            state: StepState { refreshed: true, ..st() },
            jitter: 0.5,
        };
        let with_sibling = Facts { siblings: true, ..f };
        let rows = [
            ("refreshed: retry at once", RefreshEnd::Refreshed, f, Decision::new(false, ms(0))),
            ("terminal, sole: mark dead and fall back", RefreshEnd::Terminal, f, Decision::new(true, Action::Fallback)),
            (
                "terminal, sibling: mark dead and rotate",
                RefreshEnd::Terminal,
                with_sibling,
                Decision::new(true, Action::Rotate),
            ),
            ("transient, sole: as an API key", RefreshEnd::Transient, f, Decision::new(false, Action::FreshRetry)),
            (
                "transient, sibling: mark and rotate",
                RefreshEnd::Transient,
                with_sibling,
                Decision::new(true, Action::Rotate),
            ),
            ("not refreshable, sole", RefreshEnd::NotRefreshable, f, Decision::new(false, Action::FreshRetry)),
        ];
        for (name, end, facts, want) in rows {
            assert_eq!(after_refresh(end, &facts), want, "{name}");
        }
    }

    #[test]
    fn budgets_are_bounded() {
        // Whatever the answers, one entry of a step sees a bounded number of attempts.
        for class in [Class::RateLimited, Class::Auth, Class::Forbidden, Class::ServerError, Class::Timeout] {
            for credential in [API, OAUTH, STATIC_OAUTH, FIXED] {
                let mut s = st();
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let f = Facts { class, retry_in: Some(1.0), credential, siblings: false, state: s, jitter: 0.3 };
                    let mut d = decide(&f);
                    if d.action == Action::Refresh {
                        s.record(class, &d.action);
                        d = after_refresh(RefreshEnd::Refreshed, &Facts { state: s, ..f });
                    }
                    s.record(class, &d.action);
                    match d.action {
                        Action::Retry { .. } | Action::FreshRetry => assert!(attempts < 4, "{class:?} {credential:?}"),
                        _ => break,
                    }
                }
            }
        }
    }

    #[test]
    fn rotation_spends_no_budget() {
        let mut s = StepState { transient_retries: 0, refreshed: true, ..st() };
        s.record(Class::RateLimited, &Action::Rotate);
        assert_eq!(s, StepState::default());
        s.record(Class::ServerError, &ms(500));
        assert_eq!(s.transient_retries, 1);
        s.record(Class::RateLimited, &ms(3000));
        assert!(s.rate_retry_used);
        assert_eq!(s.transient_retries, 1);
    }

    #[test]
    fn jitter_stays_near_half_a_second() {
        assert_eq!(jittered(TRANSIENT_DELAY, 0.0), Duration::from_millis(400));
        assert_eq!(jittered(TRANSIENT_DELAY, 1.0), Duration::from_millis(600));
        assert_eq!(jittered(TRANSIENT_DELAY, f64::NAN), Duration::from_millis(500));
        assert_eq!(jittered(TRANSIENT_DELAY, 7.0), Duration::from_millis(600));
    }
}
