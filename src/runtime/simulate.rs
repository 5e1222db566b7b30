//! `hermes auth simulate`: the recovery rules applied to an in-memory copy of a pool.
//!
//! Each event is one provider answer (`429`, `429:retry-after=30`, `401`, `200`, `timeout`…)
//! or a pause (`wait=90`). The simulation picks the serving entry by the pool's strategy,
//! classifies the answer with [`super::classify`], decides with [`super::policy`] and marks with
//! [`crate::ops::apply_outcome`], exactly as the runtime does, but on a copy of auth.json read
//! once without a lock and never written. Time is a [`FixedClock`] that starts at now and
//! advances by the sleeps the policy asks for and by `wait` events.

use super::chain;
use super::classify::{classify, Class, HttpResponse, TransportError, TransportErrorKind};
use super::policy::{self, Action, Credential, Facts, RefreshEnd, StepState};
use crate::context::{Clock, Epoch, FixedClock};
use crate::error::Result;
use crate::home::{Home, PoolRef};
use crate::model::entry::AuthType;
use crate::model::AuthDoc;
use crate::ops;
use crate::pool::strategy::Strategy;
use crate::pool::view::{self, ViewEntry};
use crate::text::one_line;
use crate::time;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::time::Duration;

/// One simulated event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An HTTP answer.
    Answer { code: u16, retry_after: Option<f64>, reason: Option<String> },
    /// No answer: a timeout or a broken connection.
    NoAnswer(TransportErrorKind),
    /// Time passes (seconds).
    Wait(f64),
}

/// Parse `--events`: comma-separated `CODE[:retry-after=S][:reason=R]`, `timeout`,
/// `connection` (or `conn`) and `wait=S`.
pub fn parse_events(text: &str) -> std::result::Result<Vec<(String, Event)>, String> {
    let mut out = Vec::new();
    for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        out.push((token.to_string(), parse_event(token)?));
    }
    if out.is_empty() {
        return Err("no events; give e.g. --events 429,429:retry-after=30,401,200".into());
    }
    Ok(out)
}

fn parse_event(token: &str) -> std::result::Result<Event, String> {
    let lower = token.to_ascii_lowercase();
    let secs = |v: &str| -> std::result::Result<f64, String> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| format!("event {token:?}: {v:?} is not a number of seconds"))
    };
    if let Some(v) = lower.strip_prefix("wait=").or_else(|| lower.strip_prefix("wait:")) {
        return Ok(Event::Wait(secs(v.trim_end_matches('s'))?));
    }
    match lower.as_str() {
        "timeout" => return Ok(Event::NoAnswer(TransportErrorKind::Timeout)),
        "conn" | "connection" | "connection-error" => return Ok(Event::NoAnswer(TransportErrorKind::Connection)),
        _ => {}
    }
    let mut parts = token.split(':');
    let code_text = parts.next().unwrap_or_default().trim();
    let code: u16 = code_text
        .parse()
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| format!("event {token:?}: expected an HTTP status, timeout, connection or wait=SECONDS"))?;
    let (mut retry_after, mut reason) = (None, None);
    for opt in parts {
        let (k, v) = opt.split_once('=').ok_or_else(|| format!("event {token:?}: expected KEY=VALUE after ':'"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "retry-after" | "retry_after" | "ra" => retry_after = Some(secs(v)?),
            "reason" => reason = Some(v.trim().to_string()).filter(|r| !r.is_empty()),
            other => return Err(format!("event {token:?}: unknown option {other:?} (retry-after, reason)")),
        }
    }
    Ok(Event::Answer { code, retry_after, reason })
}

/// One line of the simulation.
#[derive(Debug, Clone)]
pub struct SimStep {
    /// The event as given.
    pub event: String,
    /// 1-based request number (0 for a `wait`).
    pub request: usize,
    /// Simulated time when the event happened.
    pub at: Epoch,
    /// The serving entry: (1-based index at pick time, id, label).
    pub entry: Option<(usize, String, String)>,
    pub outcome: Option<Class>,
    /// `reply`, `rotate`, `retry`, `fresh_retry`, `fallback`, `fail`, `wait` or `not_sent`.
    pub decision: &'static str,
    /// The serving entry's status after the event (when it was marked).
    pub marked: Option<String>,
    /// Its deadline, when it is cooling.
    pub until: Option<Epoch>,
    /// A sleep the runtime would take before the next attempt.
    pub sleep: Option<Duration>,
    /// The step the request moves to, when it falls back.
    pub fallback: Option<String>,
    /// A plain-words explanation.
    pub note: String,
}

/// An entry's state after the events.
#[derive(Debug, Clone)]
pub struct EntryAfter {
    /// 1-based position in list order.
    pub index: usize,
    pub id: String,
    pub label: String,
    /// As `auth list` shows it.
    pub describe: String,
    /// As `auth list --json` names it.
    pub status: &'static str,
    pub until: Option<Epoch>,
}

/// A whole simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub provider: String,
    pub strategy: Strategy,
    pub start: Epoch,
    pub end: Epoch,
    pub steps: Vec<SimStep>,
    /// Every entry after the events.
    pub after: Vec<EntryAfter>,
    /// The first configured fallback, if any.
    pub fallback: Option<String>,
}

/// The request being simulated.
#[derive(Default)]
struct Request {
    number: usize,
    open: bool,
    state: StepState,
    exclude: Vec<String>,
    /// The next attempt re-sends with this entry (a retry), without a new pick.
    resend: Option<String>,
}

/// Run `events` against an in-memory copy of `pool` from `now`. Never writes the store.
pub fn simulate(home: &Home, pool: &PoolRef, events: &[(String, Event)], now: Epoch) -> Result<Simulation> {
    let mut doc: AuthDoc = home.state().read()?;
    let clock = FixedClock::new(now);
    let strategy = home.strategy(&pool.key);
    let (fallbacks, _) = chain::fallbacks(home);
    let fallback = fallbacks.first().map(|s| s.name());
    let fallback_text = fallback.clone().map_or_else(
        || "no fallback configured: the request fails (exit 4)".to_string(),
        |f| format!("the request goes to fallback {f}"),
    );
    // A fixed seed: the same events give the same story, even for the random strategy.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut req = Request::default();
    let mut steps = Vec::with_capacity(events.len());
    for (token, event) in events {
        let at = clock.now();
        let mut step = SimStep {
            event: token.clone(),
            request: 0,
            at,
            entry: None,
            outcome: None,
            decision: "wait",
            marked: None,
            until: None,
            sleep: None,
            fallback: None,
            note: String::new(),
        };
        let answer: std::result::Result<HttpResponse, TransportError> = match event {
            Event::Wait(s) => {
                clock.advance(*s);
                step.note = format!("{} pass", time::format_wait(*s));
                steps.push(step);
                continue;
            }
            Event::NoAnswer(kind) => Err(TransportError { kind: *kind, message: token.clone() }),
            Event::Answer { code, retry_after, reason } => Ok(answer_for(*code, *retry_after, reason.as_deref())),
        };
        if !req.open {
            req = Request { number: req.number + 1, open: true, ..Request::default() };
        }
        step.request = req.number;

        let served = match req.resend.take() {
            Some(id) => Some(id),
            None => pick(home, &mut doc, pool, strategy, &req.exclude, at, &mut rng),
        };
        let Some(id) = served else {
            let view = home.view(&doc, &pool.key, at);
            step.decision = "not_sent";
            step.fallback = fallback.clone();
            step.note = match view.earliest_deadline() {
                Some(t) => format!(
                    "nothing usable in {} until {}: {fallback_text}; the event was not sent",
                    pool.key,
                    time::iso_z(t)
                ),
                None => format!("nothing usable in {}: {fallback_text}; the event was not sent", pool.key),
            };
            req.open = false;
            steps.push(step);
            continue;
        };

        let mut view = home.view(&doc, &pool.key, at);
        let Some(i) = view.position_of(&id) else { continue };
        let e: &ViewEntry = &view.entries[i];
        step.entry = Some((i + 1, id.clone(), e.entry.label.clone()));
        let credential = match e.entry.auth_type {
            AuthType::OAuth => Credential::OAuth { refreshable: view::is_refreshable_source(&e.entry.source) },
            AuthType::ApiKey => Credential::ApiKey,
        };
        let c = classify(&answer, at);
        step.outcome = Some(c.class);
        let siblings = view.entries.iter().any(|v| {
            v.entry.id != id && !req.exclude.contains(&v.entry.id) && v.status.selectable() && v.secret.is_some()
        });
        let facts = Facts { class: c.class, retry_in: c.retry_in, credential, siblings, state: req.state, jitter: 0.5 };
        let mut d = policy::decide(&facts);
        let mut notes: Vec<String> = Vec::new();
        if d.action == Action::Refresh {
            req.state.record(c.class, &Action::Refresh);
            d = policy::after_refresh(RefreshEnd::Refreshed, &Facts { state: req.state, ..facts });
            notes.push("refresh (assumed to succeed; a terminal refresh error would make it dead)".into());
        }
        if d.mark && ops::apply_outcome(&mut view, i, &c.outcome(), at, &crate::secret::Redactor::new()) {
            view.write(&mut doc);
            let v = &view.entries[i];
            step.until = v.status.until();
            step.marked = Some(v.status.describe(at));
            notes.push(match (&v.status, v.status.until()) {
                (_, Some(t)) => format!("benched until {} ({})", time::iso_z(t), time::format_wait(t - at)),
                (crate::pool::status::Status::Ok, None) => "its earlier status is cleared".to_string(),
                (status, None) => status.describe(at),
            });
        }
        req.state.record(c.class, &d.action);
        step.decision = d.action.as_str();
        match d.action {
            Action::Reply => {
                notes.push("the request gets its reply".into());
                req.open = false;
            }
            Action::Retry { delay } => {
                req.resend = Some(id.clone());
                if delay.is_zero() {
                    notes.push("retry the same entry at once".into());
                } else {
                    step.sleep = Some(delay);
                    clock.advance(delay.as_secs_f64());
                    notes.push(format!("sleep {} ms, then retry the same entry", delay.as_millis()));
                }
            }
            Action::FreshRetry => notes.push("sole credential rejected: one fresh pick, no backoff".into()),
            Action::Rotate => {
                req.exclude.push(id.clone());
                notes.push("rotate to another entry at once (no sleep)".into());
            }
            Action::Fallback | Action::Refresh => {
                step.fallback = fallback.clone();
                notes.push(fallback_text.clone());
                req.open = false;
            }
            Action::Fail(_) => {
                notes.push("the request fails (exit 1)".into());
                req.open = false;
            }
        }
        step.note = notes.join("; ");
        steps.push(step);
    }
    let end = clock.now();
    let view = home.view(&doc, &pool.key, end);
    let after = view
        .entries
        .iter()
        .enumerate()
        .map(|(i, v)| EntryAfter {
            index: i + 1,
            id: v.entry.id.clone(),
            label: v.entry.label.clone(),
            describe: v.status.describe(end),
            status: v.status.json_name(),
            until: v.status.until(),
        })
        .collect();
    Ok(Simulation { provider: pool.key.clone(), strategy, start: now, end, steps, after, fallback })
}

/// An answer carrying the event's code, `Retry-After` and reason, as a provider would send it.
fn answer_for(code: u16, retry_after: Option<f64>, reason: Option<&str>) -> HttpResponse {
    let headers = retry_after.map(|s| vec![("Retry-After".to_string(), format!("{s}"))]).unwrap_or_default();
    let body = reason.map(|r| json!({"error": {"code": r}}).to_string()).unwrap_or_default();
    HttpResponse { status: code, headers, body }
}

/// A pick on the in-memory document, as [`ops::pick`] makes it in the store: the strategy's
/// choice, round_robin's reordering and the request count.
fn pick(
    home: &Home,
    doc: &mut AuthDoc,
    pool: &PoolRef,
    strategy: Strategy,
    exclude: &[String],
    now: Epoch,
    rng: &mut rand::rngs::StdRng,
) -> Option<String> {
    let mut view = home.view(doc, &pool.key, now);
    view.strategy = strategy;
    let j = view.pick(exclude, rng)?;
    let id = view.entries[j].entry.id.clone();
    view.write(doc);
    Some(id)
}

impl Simulation {
    /// The text `auth simulate` prints on stdout.
    pub fn render(&self) -> String {
        let mut out = format!(
            "simulating {} ({}) from {}; the store is not touched\n",
            self.provider,
            self.strategy,
            time::iso_z(self.start)
        );
        for (n, s) in self.steps.iter().enumerate() {
            // Sleeps are fractions of a second: show elapsed time to the tenth, never rounded up.
            let t = format!("t+{:.1}s", s.at - self.start);
            if s.decision == "wait" {
                out.push_str(&format!("{:>2}. {t:<9} {}: {}\n", n + 1, s.event, s.note));
                continue;
            }
            let who = match &s.entry {
                Some((i, id, label)) => format!("#{i} {id} \"{label}\""),
                None => "no entry".to_string(),
            };
            let outcome = s.outcome.map(|c| format!(" ({})", c.as_str())).unwrap_or_default();
            out.push_str(&format!(
                "{:>2}. {t:<9} request {}: {who} ← {}{outcome} → {}: {}\n",
                n + 1,
                s.request,
                s.event,
                s.decision,
                s.note
            ));
        }
        out.push_str(&format!("after the events ({}):\n", time::iso_z(self.end)));
        if self.after.is_empty() {
            out.push_str(&format!("  no credentials in {}\n", self.provider));
        }
        for e in &self.after {
            out.push_str(&format!("  #{} {} \"{}\": {}\n", e.index, one_line(&e.id), one_line(&e.label), e.describe));
        }
        out
    }

    /// The `auth simulate --json` document.
    pub fn to_json(&self) -> Value {
        let iso = |t: Option<Epoch>| t.map(time::iso_z);
        json!({
            "provider": self.provider,
            "strategy": self.strategy.as_str(),
            "start": time::iso_z(self.start),
            "end": time::iso_z(self.end),
            "fallback": self.fallback,
            "steps": self.steps.iter().map(|s| json!({
                "event": s.event,
                "request": s.request,
                "at": time::iso_z(s.at),
                "entry": s.entry.as_ref().map(|(i, id, label)| json!({"index": i, "id": id, "label": label})),
                "outcome": s.outcome.map(Class::as_str),
                "decision": s.decision,
                "marked": s.marked,
                "until": iso(s.until),
                "sleep_ms": s.sleep.map(|d| d.as_millis() as u64),
                "fallback": s.fallback,
                "note": s.note,
            })).collect::<Vec<_>>(),
            "entries": self.after.iter().map(|e| json!({
                "index": e.index, "id": e.id, "label": e.label, "status": e.status, "describe": e.describe,
                "until": iso(e.until),
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse() {
        let ev =
            parse_events("429, 429:retry-after=30,401:reason=token_invalidated,200,timeout,conn,wait=90,503").unwrap();
        let kinds: Vec<Event> = ev.into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            kinds,
            vec![
                Event::Answer { code: 429, retry_after: None, reason: None },
                Event::Answer { code: 429, retry_after: Some(30.0), reason: None },
                Event::Answer { code: 401, retry_after: None, reason: Some("token_invalidated".into()) },
                Event::Answer { code: 200, retry_after: None, reason: None },
                Event::NoAnswer(TransportErrorKind::Timeout),
                Event::NoAnswer(TransportErrorKind::Connection),
                Event::Wait(90.0),
                Event::Answer { code: 503, retry_after: None, reason: None },
            ]
        );
        for bad in ["", "abc", "99", "429:retry-after=x", "429:foo=1", "429:30", "wait=-1"] {
            assert!(parse_events(bad).is_err(), "{bad:?}");
        }
    }
}
