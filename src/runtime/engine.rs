//! The request runtime: one request through the chain, performing what [`super::policy`]
//! decides.
//!
//! I/O lives here and only here: picks and marks are store transactions ([`crate::ops`]) run on
//! tokio's blocking pool, attempts go through a [`Transport`], refreshes through a
//! [`Refresher`], sleeps through the context's sleeper and "now" through its clock. A
//! [`Runtime`] is `Send + Sync`: many tasks may share one (in an `Arc`), each request bound to
//! the exact entry (id and fingerprint) its pick returned.

use super::chain::{self, Chain, Step};
use super::classify::{classify, Class, Classified, HttpResponse};
use super::client::{self, ChatRequest, HttpTransport, Target, Transport};
use super::policy::{self, Action, Credential, Decision, Facts, FailKind, RefreshEnd, StepState};
use super::refresh::{OAuthRefresher, RefreshOutcome, RefreshWhy, Refresher};
use crate::context::Epoch;
use crate::error::{ChainFailed, Error, Holder, Refused, RefusedWhat, Result, Route, StepFailure};
use crate::home::{Home, PoolRef};
use crate::model::entry::AuthType;
use crate::ops::{self, Pick};
use crate::pool::cooldown::Outcome;
use crate::pool::headroom::Headroom;
use crate::pool::view::{self, PoolView};
use crate::secret::{self, Secret};
use crate::time;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts one step may make before it gives up, whatever happens: a guard against a store
/// that keeps changing under the step (each marked entry is left, so real pools stay far below).
const MAX_ATTEMPTS_PER_STEP: usize = 64;
/// Provider messages quoted in errors are cut to this many characters.
const QUOTE_MAX_CHARS: usize = 200;

/// One attempt, as `chat --json` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The pool key of the step.
    pub provider: String,
    pub model: String,
    /// The entry that served it; `None` for a fallback's own key.
    pub entry_id: Option<String>,
    pub label: Option<String>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub outcome: Class,
    /// What the policy decided (`reply`, `rotate`, `retry`, `fallback`, …).
    pub decision: &'static str,
    pub elapsed_ms: u64,
}

/// What happened during one request, for `-v`, `--json` and the fallback status line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestLog {
    /// A short id of this request: the gateway logs it, and the events it causes in the home's
    /// log (docs/guide.md#history) carry it.
    pub id: String,
    pub attempts: Vec<Attempt>,
    /// The decision trail: one line per pick, answer, mark, sleep and decision. No secrets.
    /// Empty when the runtime keeps none ([`Runtime::without_trail`]).
    pub trail: Vec<String>,
    /// Lines for stderr even without `-v` (the fallback status line, docs/design.md#fallback).
    pub notices: Vec<String>,
    /// Every sleep the runtime asked for, in order.
    pub sleeps: Vec<Duration>,
    /// No trail is kept ([`Runtime::without_trail`]).
    quiet: bool,
}

impl RequestLog {
    /// Add a line to the trail, built only when the trail is kept.
    fn note(&mut self, line: impl FnOnce() -> String) {
        if !self.quiet {
            self.trail.push(line());
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The reply text in the step's wire format, when the body has one; `None` for a passed-
    /// through (raw) request, whose body goes back as it is.
    pub text: Option<String>,
    /// The pool key and model of the step that answered.
    pub provider: String,
    pub model: String,
    /// The entry that served it; `None` for a fallback's own key.
    pub entry_id: Option<String>,
    pub label: Option<String>,
    /// The provider's answer, unchanged.
    pub response: HttpResponse,
    pub report: RequestLog,
}

/// A request that got no reply.
#[derive(Debug)]
pub struct Failure {
    /// [`Error::NothingUsable`] (exit 4) when no entry anywhere was selectable; otherwise the
    /// reason ([`Error::Failed`], exit 1, or a configuration error).
    pub error: Error,
    /// The provider's answer, unchanged, when it refused the request itself (400, 404, …).
    pub response: Option<HttpResponse>,
    pub report: RequestLog,
}

/// Many tasks may share one runtime: it holds the home, the transport and the refresher.
pub struct Runtime {
    home: Arc<Home>,
    transport: Arc<dyn Transport>,
    refresher: Arc<dyn Refresher>,
    /// Set by [`Runtime::record_answers_after_reply`].
    deferred: Option<Arc<Deferred>>,
    /// Cleared by [`Runtime::without_trail`].
    trail: bool,
}

/// Good answers waiting to be recorded ([`Runtime::record_answers_after_reply`]).
#[derive(Debug, Default)]
struct Deferred {
    queue: std::sync::Mutex<std::collections::VecDeque<ops::Mark>>,
    /// Held by a batch from taking the queue to its record: a record waits for the batch still
    /// recording, so when the last one returns no earlier batch is still on its way.
    recording: std::sync::Mutex<()>,
}

/// At most this many good answers wait for a record; past it (the state out of reach for a
/// long time) the oldest are dropped: their usage is lost, never their counts.
const MAX_DEFERRED: usize = 20_000;
/// A queue this long is recorded at once (on the blocking pool) rather than at the next
/// interval: under load the batches stay small and so does the memory they hold.
const BATCH_AT: usize = 256;

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("home", &self.home.dir).finish_non_exhaustive()
    }
}

/// Why a step handed the request on.
#[derive(Debug, Clone)]
struct Gone {
    /// When the step's provider can serve again, if known.
    until: Option<Epoch>,
    /// The code or reason for the status line: `429`, `503`, `timeout`, `dead`.
    why: String,
    /// No credential of the step could serve (counts toward exit 4); false after transient
    /// failures.
    exhausted: bool,
}

enum StepEnd {
    Reply(Reply),
    Next(Gone),
    Fail(Error, Option<HttpResponse>),
}

impl Runtime {
    /// A runtime over `home` with the reqwest transport (timeout from
    /// `HERMES_CHAT_TIMEOUT_SECONDS`, default 120 s) and no OAuth refresher.
    pub fn new(home: Arc<Home>) -> Result<Runtime> {
        let timeout = home
            .ctx()
            .var(crate::vars::CHAT_TIMEOUT)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(client::DEFAULT_TIMEOUT, Duration::from_secs_f64);
        let transport = HttpTransport::new(timeout)
            .map_err(|e| Error::System { what: "cannot start HTTP", detail: e.to_string() })?;
        Ok(Runtime::with_transport(home, Arc::new(transport)))
    }

    /// A runtime over `home` sending through `transport`.
    pub fn with_transport(home: Arc<Home>, transport: Arc<dyn Transport>) -> Runtime {
        Runtime { home, transport, refresher: Arc::new(OAuthRefresher), deferred: None, trail: true }
    }

    /// Use `refresher` for OAuth entries that need a refresh or get a 401.
    pub fn with_refresher(mut self, refresher: Arc<dyn Refresher>) -> Runtime {
        self.refresher = refresher;
        self
    }

    /// Record good answers in batches after their replies are handed back instead of one by one
    /// before (for a long-lived server): an answer whose record only adds figures (its usage,
    /// the headroom its provider announced) waits in memory for [`Runtime::record_answers`],
    /// which records every waiting answer as one transaction, each as of the time it came (a
    /// later announcement is not overwritten by an earlier one). An answer that lifts a status
    /// or a model bench, or announces nothing left, and every answer on a pool whose strategy
    /// is `headroom`, is recorded before its reply as before. The request's count is taken at
    /// the pick, as always. The caller must call [`Runtime::record_answers`] periodically and
    /// before the process exits; 256 waiting answers are recorded at once on the blocking pool.
    pub fn record_answers_after_reply(mut self) -> Runtime {
        self.deferred = Some(Arc::default());
        self
    }

    /// Keep no decision trail in the [`RequestLog`]s (for a server that never shows it: the
    /// lines are formatted per request, a few microseconds each time). Attempts, notices and
    /// sleeps are kept.
    pub fn without_trail(mut self) -> Runtime {
        self.trail = false;
        self
    }

    /// Record the good answers waiting since the last call (see
    /// [`Runtime::record_answers_after_reply`]) as one transaction; blocking store work. On
    /// failure they wait for the next call. Returns how many were recorded (an answer whose entry
    /// was removed or given another key meanwhile is not).
    pub fn record_answers(&self) -> Result<usize> {
        match &self.deferred {
            Some(d) => record_deferred(&self.home, d),
            None => Ok(0),
        }
    }

    /// How many good answers wait for [`Runtime::record_answers`].
    pub fn answers_waiting(&self) -> usize {
        self.deferred.as_ref().map_or(0, |d| d.queue.lock().unwrap_or_else(|p| p.into_inner()).len())
    }

    pub fn home(&self) -> &Arc<Home> {
        &self.home
    }

    /// The chain of a request (see [`chain::build`]).
    pub fn chain(&self, provider: Option<&str>, model: Option<&str>) -> Result<Chain> {
        chain::build(&self.home, provider, model)
    }

    /// Send `request` through `chain`: the primary first, then each fallback, by the recovery
    /// rules. Must run inside a tokio runtime; store I/O runs off the scheduler (see
    /// [`blocking`]).
    pub async fn complete(&self, chain: &Chain, request: &ChatRequest) -> std::result::Result<Reply, Failure> {
        let mut report =
            RequestLog { id: format!("{:08x}", rand::random::<u32>()), quiet: !self.trail, ..RequestLog::default() };
        let mut gone: Vec<(&Step, Gone)> = Vec::new();
        // A sole credential the provider rejected twice (401/403): the request goes on to the
        // fallbacks at once, and this refusal is the answer if none of them can serve either.
        let mut rejected: Option<Error> = None;
        for (i, step) in chain.steps.iter().enumerate() {
            report.note(|| {
                format!(
                    "step {}/{}: {} ({}{})",
                    i + 1,
                    chain.steps.len(),
                    step.name(),
                    step.origin,
                    if step.fixed.is_some() { ", its own key" } else { "" }
                )
            });
            let end = match &step.fixed {
                Some(_) => self.run_fixed(step, request, &mut report).await,
                None => self.run_pool(step, request, &mut report, i == 0).await,
            };
            match end {
                StepEnd::Reply(mut r) => {
                    r.report = report;
                    return Ok(r);
                }
                StepEnd::Fail(Error::Refused(r), _)
                    if r.what == RefusedWhat::Credential && i + 1 < chain.steps.len() =>
                {
                    let next = &chain.steps[i + 1];
                    let role = if i == 0 { "primary" } else { "fallback" };
                    let code = r.status.map_or_else(|| r.class.to_string(), |c| c.to_string());
                    report.notices.push(format!(
                        "{role} {} rejected its only credential ({code}), using fallback {}",
                        step.provider(),
                        next.name()
                    ));
                    rejected.get_or_insert(Error::Refused(r));
                }
                StepEnd::Fail(error, response) => return Err(Failure { error, response, report }),
                StepEnd::Next(g) => {
                    if let Some(next) = chain.steps.get(i + 1) {
                        let role = if i == 0 { "primary" } else { "fallback" };
                        let line = match g.until {
                            Some(t) => format!(
                                "{role} {} unavailable until {} ({}), using fallback {}",
                                step.provider(),
                                time::iso_z(t),
                                g.why,
                                next.name()
                            ),
                            None => format!(
                                "{role} {} unavailable ({}), using fallback {}",
                                step.provider(),
                                g.why,
                                next.name()
                            ),
                        };
                        report.notices.push(line);
                    }
                    gone.push((step, g));
                }
            }
        }
        let error = match rejected {
            Some(refusal) => refusal,
            None => self.final_error(&gone).await,
        };
        Err(Failure { error, response: None, report })
    }

    /// One step over the pool.
    async fn run_pool(&self, step: &Step, request: &ChatRequest, report: &mut RequestLog, primary: bool) -> StepEnd {
        let pool = &step.pool;
        let mut exclude: Vec<String> = Vec::new();
        let mut state = StepState::default();
        let mut attempts = 0usize;
        loop {
            let picked = {
                let (home, pool, exclude) = (self.home.clone(), pool.clone(), exclude.clone());
                let model = step.model.clone();
                let tokens = self.home.config().headroom_bench.unwrap_or(true).then(|| request.token_estimate());
                // Affinity applies to the primary's pool, where the preferred entry lives.
                let prefer = request.prefer.clone().filter(|_| primary);
                blocking(&self.home, move || {
                    let p = ops::pick_preferring(&home, &pool, &exclude, prefer.as_deref(), Some(&model), tokens)?;
                    let dirty = p.has_status;
                    Ok((p, dirty))
                })
                .await
            };
            let (mut pick, mut dirty) = match picked {
                Ok(p) => p,
                Err(Error::NothingUsable(_)) => {
                    report.note(|| format!("{}: no selectable entry left", pool.key));
                    return StepEnd::Next(self.pool_gone(pool).await);
                }
                Err(e) => return StepEnd::Fail(e, None),
            };
            report.note(|| {
                format!(
                    "picked {} {} \"{}\" ({}, {})",
                    pool.key,
                    pick.id,
                    pick.label,
                    pick.secret.mask(),
                    pick.auth_type.as_str()
                )
            });
            if pick.needs_refresh && !self.refresh_on_pick(pool, &mut pick, &mut exclude, report).await {
                continue;
            }
            let Some(base_url) = step.base_url.clone().or_else(|| pick.base_url.clone()).filter(|u| !u.is_empty())
            else {
                return StepEnd::Fail(no_base_url(pool), None);
            };
            let credential = match pick.auth_type {
                AuthType::OAuth => Credential::OAuth { refreshable: view::is_refreshable_source(&pick.source) },
                AuthType::ApiKey => Credential::ApiKey,
            };
            let mut target = Target {
                provider: pool.key.clone(),
                wire: step.wire,
                base_url,
                model: step.model.clone(),
                secret: pick.secret.clone(),
                auth_type: pick.auth_type,
            };
            // Attempts with this entry: a retry loops here, `break` goes back to pick again.
            loop {
                attempts += 1;
                if attempts > MAX_ATTEMPTS_PER_STEP {
                    return StepEnd::Next(Gone { until: None, why: "too many attempts".into(), exhausted: false });
                }
                let (answer, c, elapsed) = self.send(&target, request, report).await;
                let siblings = if needs_siblings(c.class) {
                    let (home, pool, id, exclude) = (self.home.clone(), pool.clone(), pick.id.clone(), exclude.clone());
                    match blocking(&self.home, move || other_selectable(&home, &pool, &id, &exclude)).await {
                        Ok(s) => s,
                        Err(e) => return StepEnd::Fail(e, None),
                    }
                } else {
                    false
                };
                let facts =
                    Facts { class: c.class, retry_in: c.retry_in, credential, siblings, state, jitter: rand::random() };
                let mut decision = policy::decide(&facts);
                let mut outcome = c.outcome();
                // A good answer that announces the key's limits: kept on the entry, and an entry
                // with nothing left is benched now rather than refused next time.
                // Every good answer is counted on its entry (the request, and the tokens a whole
                // body reports; a stream's are counted when it ends).
                let answered = match (&answer, c.class) {
                    (Ok(resp), Class::Success) => Some(Outcome::Answered {
                        headroom: Headroom::from_headers(&resp.headers, self.home.now()),
                        usage: crate::pool::usage::of_body(&resp.body),
                        bench: self.home.config().headroom_bench.unwrap_or(true),
                        clear: dirty,
                        model: Some(target.model.clone()),
                    }),
                    _ => None,
                };
                if let Some(a) = answered.clone() {
                    outcome = a;
                }
                // Evidence that names the model benches the entry for this model only.
                let model_scoped = c.code.filter(|code| {
                    c.class != Class::Success
                        && crate::pool::scoped::is_model_scoped(*code, c.reason.as_deref(), c.message.as_deref())
                });
                if let Some(code) = model_scoped {
                    let default = if code == 404 {
                        crate::pool::scoped::NOT_FOUND_SECS
                    } else {
                        crate::pool::scoped::RATE_LIMIT_SECS
                    };
                    outcome = Outcome::ModelBench {
                        model: target.model.clone(),
                        code,
                        reason: c.reason.clone(),
                        until: c
                            .reset_at
                            .unwrap_or(self.home.now() + default)
                            .min(self.home.now() + crate::pool::hints::MAX_HINT_SECS),
                    };
                    report
                        .note(|| format!("the answer names the model: {} benched for {} only", pick.id, target.model));
                }
                if decision.action == Action::Refresh {
                    state.record(c.class, &Action::Refresh);
                    let (end, terminal) = self.refresh_after_401(pool, &mut pick, &mut target, report).await;
                    if let Some(reason) = terminal {
                        outcome = Outcome::RefreshTerminal { reason, message: None };
                    }
                    decision = policy::after_refresh(end, &Facts { state, ..facts });
                }
                // Every success is one transaction (usage, headroom, a status to clear), made
                // after the reply in a batch when it cannot change the next pick and the runtime
                // records answers that way; failures are marked as docs/design.md#cooldowns says.
                let later = self.deferred.is_some()
                    && decision.mark
                    && matches!(decision.action, Action::Reply)
                    && model_scoped.is_none()
                    && !dirty
                    && !pick.model_benches
                    && self.home.strategy(&pool.key) != crate::pool::strategy::Strategy::Headroom
                    && matches!(&outcome, Outcome::Answered { headroom, .. }
                        if headroom.as_ref().and_then(|h| h.exhausted_until(self.home.now())).is_none());
                if later {
                    self.mark_after_reply(pool, &pick, outcome.clone(), report);
                } else if model_scoped.is_some()
                    || (decision.mark && (c.class != Class::Success || dirty || answered.is_some()))
                {
                    if let Err(e) = self.mark(pool, &pick, &outcome, report).await {
                        return StepEnd::Fail(e, None);
                    }
                    // This request's own mark (a sole 429 retried) is something to clear later.
                    dirty = true;
                }
                self.note_decision(step, Some(&pick), &c, &decision, elapsed, report);
                state.record(c.class, &decision.action);
                match decision.action {
                    Action::Reply => return StepEnd::Reply(reply(step, Some(&pick), answer, request.raw.is_some())),
                    Action::Retry { delay } => self.sleep(delay, &c, report).await,
                    Action::FreshRetry => break,
                    Action::Rotate => {
                        exclude.push(pick.id.clone());
                        break;
                    }
                    // after_refresh never asks for another refresh; treat it as the end of the step.
                    Action::Fallback | Action::Refresh => {
                        return StepEnd::Next(if c.class.is_transient() {
                            Gone { until: None, why: c.short(), exhausted: false }
                        } else {
                            self.pool_gone(pool).await
                        })
                    }
                    Action::Fail(kind) => {
                        let who = Who::Entry { pick: &pick };
                        return fail(kind, step, who, &c, &target.secret, answer);
                    }
                }
            }
        }
    }

    /// One step served by a fallback's own key: the same rules, never marked.
    async fn run_fixed(&self, step: &Step, request: &ChatRequest, report: &mut RequestLog) -> StepEnd {
        let fixed = step.fixed.as_ref().expect("a fixed step has a key");
        let pool = &step.pool;
        let Some(base_url) = step
            .base_url
            .clone()
            .or_else(|| self.home.default_base_url(pool, Some(fixed.secret.expose())))
            .filter(|u| !u.is_empty())
        else {
            return StepEnd::Fail(no_base_url(pool), None);
        };
        report.note(|| format!("using the key from {} ({})", fixed.origin, fixed.secret.mask()));
        let target = Target {
            provider: pool.key.clone(),
            wire: step.wire,
            base_url,
            model: step.model.clone(),
            secret: fixed.secret.clone(),
            auth_type: fixed.auth_type,
        };
        let mut state = StepState::default();
        for _ in 0..MAX_ATTEMPTS_PER_STEP {
            let (answer, c, elapsed) = self.send(&target, request, report).await;
            let facts = Facts {
                class: c.class,
                retry_in: c.retry_in,
                credential: Credential::Fixed,
                siblings: false,
                state,
                jitter: rand::random(),
            };
            let decision = policy::decide(&facts);
            self.note_decision(step, None, &c, &decision, elapsed, report);
            state.record(c.class, &decision.action);
            match decision.action {
                Action::Reply => return StepEnd::Reply(reply(step, None, answer, request.raw.is_some())),
                Action::Retry { delay } => self.sleep(delay, &c, report).await,
                Action::FreshRetry => {}
                Action::Rotate | Action::Refresh | Action::Fallback => {
                    return StepEnd::Next(Gone {
                        until: c.reset_at,
                        why: c.code.map_or_else(|| c.class.as_str().to_string(), |n| n.to_string()),
                        exhausted: !c.class.is_transient(),
                    })
                }
                Action::Fail(kind) => {
                    let who = Who::Fixed { origin: &fixed.origin };
                    return fail(kind, step, who, &c, &target.secret, answer);
                }
            }
        }
        StepEnd::Next(Gone { until: None, why: "too many attempts".into(), exhausted: false })
    }

    /// Send one attempt and classify the answer.
    async fn send(
        &self,
        target: &Target,
        request: &ChatRequest,
        report: &mut RequestLog,
    ) -> (std::result::Result<HttpResponse, super::classify::TransportError>, Classified, Duration) {
        let started = Instant::now();
        let answer = self.transport.send(target, request).await;
        let elapsed = started.elapsed();
        let mut c = classify(&answer, self.home.now());
        if c.reason.is_some() || c.message.is_some() {
            // Provider text is untrusted: mask every secret this home knows (the key just sent
            // included) and strip control characters before it is logged, stored or shown.
            let home = self.home.clone();
            let known = blocking(&self.home, move || Ok(home.redactor_now())).await.unwrap_or_default();
            let r = known.with(Some(&target.secret));
            c.reason = r.reason(c.reason.as_deref());
            c.message = r.message(c.message.as_deref());
        }
        report.note(|| {
            let mut line = match c.code {
                Some(code) => {
                    format!("POST {} → {code} {} in {} ms", request.url(target), c.class.as_str(), elapsed.as_millis())
                }
                None => {
                    format!(
                        "POST {} → no answer ({}) after {} ms",
                        request.url(target),
                        c.class.as_str(),
                        elapsed.as_millis()
                    )
                }
            };
            if let Some(r) = &c.reason {
                line.push_str(&format!(", reason {r}"));
            }
            if let Some(t) = c.reset_at {
                line.push_str(&format!(", reset {}", time::iso_z(t)));
            }
            if let Some(m) = &c.message {
                line.push_str(&format!(", \"{}\"", quote(m, &target.secret)));
            }
            line
        });
        (answer, c, elapsed)
    }

    async fn sleep(&self, delay: Duration, c: &Classified, report: &mut RequestLog) {
        if delay.is_zero() {
            report.note(|| "retrying the same entry at once".into());
            return;
        }
        report.note(|| {
            format!(
                "sleep {} ms before retrying the same entry ({})",
                delay.as_millis(),
                if c.class == Class::RateLimited { "the provider asked to wait" } else { "jittered backoff" }
            )
        });
        report.sleeps.push(delay);
        self.home.ctx().sleeper.sleep(delay).await;
    }

    /// Mark the picked entry (bound to its id and fingerprint) as one store transaction.
    async fn mark(&self, pool: &PoolRef, pick: &Pick, outcome: &Outcome, report: &mut RequestLog) -> Result<()> {
        let (home, p, id, fp, o, rid) = (
            self.home.clone(),
            pool.clone(),
            pick.id.clone(),
            pick.fingerprint.clone(),
            outcome.clone(),
            report.id.clone(),
        );
        let now = self.home.now();
        match blocking(&self.home, move || ops::mark_for(&home, &p, &id, Some(&fp), &o, Some(&rid))).await? {
            Some(e) => report.note(|| format!("{} {} is now {}", pool.key, pick.id, e.status.describe(now))),
            None => report.note(|| format!("not marked: {} {} is gone or its key changed", pool.key, pick.id)),
        }
        Ok(())
    }

    /// [`Runtime::mark`] for a good answer, left for the next [`Runtime::record_answers`].
    fn mark_after_reply(&self, pool: &PoolRef, pick: &Pick, outcome: Outcome, report: &mut RequestLog) {
        let Some(d) = &self.deferred else { return };
        report.note(|| format!("{} {} answered; recorded with the next batch", pool.key, pick.id));
        // The entry had no model bench when picked, so the answer has none to lift; one set
        // since (by another request) must survive this late record.
        let outcome = match outcome {
            Outcome::Answered { headroom, usage, bench, clear, .. } => {
                Outcome::Answered { headroom, usage, bench, clear, model: None }
            }
            other => other,
        };
        let mark = ops::Mark {
            pool: pool.key.clone(),
            id: pick.id.clone(),
            // An OAuth login's token may be refreshed before the batch: its answers still count
            // for it. A key is bound to the key that served.
            fingerprint: (pick.auth_type == AuthType::ApiKey).then(|| pick.fingerprint.clone()),
            outcome,
            at: self.home.now(),
            request: Some(report.id.clone()),
        };
        let full = {
            let mut q = d.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.len() >= MAX_DEFERRED {
                q.pop_front();
            }
            q.push_back(mark);
            q.len() == BATCH_AT
        };
        if full {
            let (home, d) = (self.home.clone(), d.clone());
            // A failure leaves the answers queued for the next interval, which reports it.
            tokio::task::spawn_blocking(move || record_deferred(&home, &d));
        }
    }

    /// A pick returned an entry that needs a refresh (docs/design.md#strategies). Returns whether it can serve now; if
    /// not, the entry is left out of this request (marked dead only on a terminal reason). A
    /// refresh that fails for now leaves the current token in use until it expires (docs/design.md#oauth-refresh).
    async fn refresh_on_pick(
        &self,
        pool: &PoolRef,
        pick: &mut Pick,
        exclude: &mut Vec<String>,
        report: &mut RequestLog,
    ) -> bool {
        match self.refresher.refresh(&self.home, pool, &pick.id, RefreshWhy::Expiring).await {
            RefreshOutcome::Refreshed(s) => {
                report.note(|| format!("refreshed {} {} before use", pool.key, pick.id));
                pick.fingerprint = s.fingerprint();
                pick.secret = s;
                true
            }
            RefreshOutcome::Terminal(reason) => {
                report.note(|| format!("refresh of {} {} failed for good: {reason}", pool.key, pick.id));
                let outcome = Outcome::RefreshTerminal { reason, message: None };
                // A failed mark is not worth failing the request over: the entry is left anyway.
                let _ = self.mark(pool, pick, &outcome, report).await;
                exclude.push(pick.id.clone());
                false
            }
            // docs/design.md#oauth-refresh: nothing is marked; the entry keeps serving its current token while that
            // has not expired, and is skipped (unmarked) once it has.
            RefreshOutcome::Transient(why) if !pick.expired => {
                report.note(|| format!("refresh of {} {} failed ({why}); using its current token", pool.key, pick.id));
                true
            }
            RefreshOutcome::NotRefreshable if !pick.expired => {
                report.note(|| format!("{} {} cannot be refreshed here; using its current token", pool.key, pick.id));
                true
            }
            RefreshOutcome::Transient(why) => {
                report.note(|| {
                    format!("refresh of {} {} failed ({why}) and its token expired; skipped", pool.key, pick.id)
                });
                exclude.push(pick.id.clone());
                false
            }
            RefreshOutcome::NotRefreshable => {
                report.note(|| format!("{} {} needs a refresh hermes cannot do here; skipped", pool.key, pick.id));
                exclude.push(pick.id.clone());
                false
            }
        }
    }

    /// The one refresh after a 401 on a refreshable OAuth entry. Returns how it ended and, for a
    /// terminal failure, the reason to mark the entry dead with.
    async fn refresh_after_401(
        &self,
        pool: &PoolRef,
        pick: &mut Pick,
        target: &mut Target,
        report: &mut RequestLog,
    ) -> (RefreshEnd, Option<String>) {
        match self.refresher.refresh(&self.home, pool, &pick.id, RefreshWhy::Rejected).await {
            RefreshOutcome::Refreshed(s) => {
                report.note(|| format!("refreshed {} {} after 401", pool.key, pick.id));
                pick.fingerprint = s.fingerprint();
                target.secret = s.clone();
                pick.secret = s;
                (RefreshEnd::Refreshed, None)
            }
            RefreshOutcome::Terminal(reason) => {
                report.note(|| format!("refresh of {} {} failed for good: {reason}", pool.key, pick.id));
                (RefreshEnd::Terminal, Some(reason))
            }
            RefreshOutcome::Transient(why) => {
                report.note(|| format!("refresh of {} {} failed ({why})", pool.key, pick.id));
                (RefreshEnd::Transient, None)
            }
            RefreshOutcome::NotRefreshable => {
                report.note(|| format!("{} {} cannot be refreshed", pool.key, pick.id));
                (RefreshEnd::NotRefreshable, None)
            }
        }
    }

    fn note_decision(
        &self,
        step: &Step,
        pick: Option<&Pick>,
        c: &Classified,
        d: &Decision,
        elapsed: Duration,
        report: &mut RequestLog,
    ) {
        let why = match d.action {
            Action::Reply => "reply",
            Action::Retry { .. } if c.class.is_transient() => "retry the same entry once (no mark)",
            Action::Retry { .. } if c.class == Class::RateLimited => {
                "retry the sole entry once after the wait asked for"
            }
            Action::Retry { .. } => "retry the same entry",
            Action::Refresh => "refresh, then retry",
            Action::FreshRetry => "sole credential rejected: re-read the store and retry once, without backoff",
            Action::Rotate => "rotate to another entry at once, without waiting",
            Action::Fallback if c.class.is_transient() => "retry budget spent: next fallback (no mark)",
            Action::Fallback => "no other entry can serve: next fallback",
            Action::Fail(FailKind::AuthRejected) => "sole credential rejected again: fall back, else fail fast",
            Action::Fail(_) => "the request itself was refused: return it unchanged",
        };
        report.note(|| format!("decision: {} — {why}", d.action.as_str()));
        report.attempts.push(Attempt {
            provider: step.provider().to_string(),
            model: step.model.clone(),
            entry_id: pick.map(|p| p.id.clone()),
            label: pick.map(|p| p.label.clone()),
            status: c.code,
            outcome: c.class,
            decision: d.action.as_str(),
            elapsed_ms: elapsed.as_millis() as u64,
        });
    }

    /// Why the pool cannot serve, from a fresh read: the earliest deadline and its code, or the
    /// state of its entries.
    async fn pool_gone(&self, pool: &PoolRef) -> Gone {
        let (home, p) = (self.home.clone(), pool.clone());
        let view = blocking(&self.home, move || {
            let doc = home.state().read()?;
            Ok(home.view(&doc, &p.key, home.now()))
        })
        .await;
        match view {
            Ok(v) => gone_from_view(&v),
            Err(_) => Gone { until: None, why: "unreadable store".into(), exhausted: true },
        }
    }

    /// The error when the chain ran out: exit 4 when no credential anywhere could serve,
    /// otherwise every step's reason (exit 1).
    async fn final_error(&self, gone: &[(&Step, Gone)]) -> Error {
        let mut keys: Vec<String> = Vec::new();
        for (s, _) in gone.iter().filter(|(s, _)| s.fixed.is_none()) {
            if !keys.contains(&s.pool.key) {
                keys.push(s.pool.key.clone());
            }
        }
        let home = self.home.clone();
        let views = blocking(&self.home, move || {
            let doc = home.state().read()?;
            let now = home.now();
            Ok(keys.iter().map(|k| (k.clone(), home.view(&doc, k, now))).collect::<Vec<_>>())
        })
        .await;
        let views = match views {
            Ok(v) => v,
            Err(e) => return e,
        };
        let now = self.home.now();
        if gone.iter().all(|(_, g)| g.exhausted) {
            let mut summary = ops::nothing_usable_summary(&views, now);
            summary.refused_fixed = gone
                .iter()
                .filter_map(|(s, g)| {
                    let f = s.fixed.as_ref()?;
                    Some((s.provider().to_string(), f.origin.clone(), g.why.clone()))
                })
                .collect();
            return Error::NothingUsable(Box::new(summary));
        }
        Error::ChainFailed(ChainFailed {
            steps: gone
                .iter()
                .map(|(s, g)| StepFailure {
                    step: s.name(),
                    exhausted: g.exhausted,
                    why: g.why.clone(),
                    until: g.until,
                })
                .collect(),
        })
    }
}

/// Record the answers `d` holds as one transaction (see [`Runtime::record_answers`]).
fn record_deferred(home: &Home, d: &Deferred) -> Result<usize> {
    let _turn = d.recording.lock().unwrap_or_else(|p| p.into_inner());
    let marks: Vec<ops::Mark> = std::mem::take(&mut *d.queue.lock().unwrap_or_else(|p| p.into_inner())).into();
    if marks.is_empty() {
        return Ok(0);
    }
    match ops::mark_many(home, &marks) {
        Ok(applied) => Ok(applied),
        Err(e) => {
            let mut q = d.queue.lock().unwrap_or_else(|p| p.into_inner());
            let newer = std::mem::replace(&mut *q, marks.into());
            q.extend(newer);
            let excess = q.len().saturating_sub(MAX_DEFERRED);
            q.drain(..excess);
            Err(e)
        }
    }
}

/// Run blocking store work (file reads, lock polling, fsync) off the async scheduler. A state
/// kept in memory ([`crate::store::state::PoolState::in_memory`]) runs in place: it moves its own rare blocking part
/// (a write-through) off the scheduler.
///
/// On a multi-thread runtime the work runs in place and tokio moves this worker's other tasks to
/// another thread ([`tokio::task::block_in_place`]): no hand-off to the blocking pool and back,
/// which is most of the runtime's own overhead per request on a busy machine. A current-thread
/// runtime cannot do that, so there the work goes to the blocking pool.
async fn blocking<T: Send + 'static>(home: &Home, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    // Pools kept in memory (the gateway's write-behind state) are a mutex and a few map
    // operations: handing them to another thread would cost more than the work.
    if home.state().in_memory() {
        return f();
    }
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(f);
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::System { what: "a blocking task failed", detail: e.to_string() })?
}

/// Classes whose decision depends on whether a sibling can serve.
fn needs_siblings(class: Class) -> bool {
    matches!(
        class,
        Class::RateLimited
            | Class::UsageExhausted
            | Class::Billing
            | Class::Auth
            | Class::AuthPermanent
            | Class::Forbidden
    )
}

/// Whether another entry of the pool (not `id`, not excluded) is selectable now.
fn other_selectable(home: &Home, pool: &PoolRef, id: &str, exclude: &[String]) -> Result<bool> {
    let doc = home.state().read()?;
    let view = home.view(&doc, &pool.key, home.now());
    Ok(view
        .entries
        .iter()
        .any(|v| v.entry.id != id && !exclude.contains(&v.entry.id) && v.status.selectable() && v.secret.is_some()))
}

fn gone_from_view(v: &PoolView) -> Gone {
    let earliest = v.entries.iter().filter_map(|e| e.status.until().map(|t| (t, e))).min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((t, e)) = earliest {
        let why = e.status.code().map_or_else(|| e.status.class().unwrap_or("cooling").to_string(), |c| c.to_string());
        return Gone { until: Some(t), why, exhausted: true };
    }
    let why = match v.entries.first() {
        None => "no credentials".to_string(),
        Some(e) => e.status.json_name().replace('_', " "),
    };
    Gone { until: None, why, exhausted: true }
}

/// The answer as a [`Reply`]. A passed-through request (`raw`, the gateway's) goes back to its
/// client as it came, so its text is not extracted.
fn reply(
    step: &Step,
    pick: Option<&Pick>,
    answer: std::result::Result<HttpResponse, super::classify::TransportError>,
    raw: bool,
) -> Reply {
    let response = answer.expect("a reply is an HTTP answer");
    Reply {
        text: if raw { None } else { client::reply_text(step.wire, &response.body) },
        provider: step.provider().to_string(),
        model: step.model.clone(),
        entry_id: pick.map(|p| p.id.clone()),
        label: pick.map(|p| p.label.clone()),
        response,
        report: RequestLog::default(),
    }
}

fn no_base_url(pool: &PoolRef) -> Error {
    Error::Route(Route::NoBaseUrl { pool: pool.key.clone(), url_var: pool.provider.and_then(|p| p.url_var) })
}

/// Who a failure is about.
enum Who<'a> {
    Entry { pick: &'a Pick },
    Fixed { origin: &'a str },
}

/// The error a `Fail` decision ends the request with: the refusal as data (the provider's text
/// is already sanitised).
fn fail(
    kind: FailKind,
    step: &Step,
    who: Who<'_>,
    c: &Classified,
    secret: &Secret,
    answer: std::result::Result<HttpResponse, super::classify::TransportError>,
) -> StepEnd {
    let holder = match who {
        Who::Entry { pick, .. } => {
            Holder::Entry { id: pick.id.clone(), label: pick.label.clone(), oauth: pick.auth_type == AuthType::OAuth }
        }
        Who::Fixed { origin } => Holder::Fixed { origin: origin.to_string() },
    };
    let refused = |what: RefusedWhat| Refused {
        provider: step.provider().to_string(),
        step: step.name(),
        what,
        status: c.code,
        class: c.class.as_str(),
        holder: holder.clone(),
        masked: secret.mask(),
        reason: c.reason.clone(),
        message: c.message.as_deref().map(|m| quote(m, secret)),
        permanent: c.class == Class::AuthPermanent,
    };
    match kind {
        FailKind::AuthRejected => StepEnd::Fail(Error::Refused(Box::new(refused(RefusedWhat::Credential))), None),
        FailKind::ClientError => StepEnd::Fail(Error::Refused(Box::new(refused(RefusedWhat::Request))), answer.ok()),
        FailKind::Invalid => {
            let why = c.message.as_deref().map(|m| quote(m, secret)).unwrap_or_default();
            StepEnd::Fail(Error::Network { provider: step.provider().to_string(), detail: why }, None)
        }
    }
}

/// A provider message for display: the key masked, one line, at most 200 characters.
fn quote(message: &str, secret: &Secret) -> String {
    let one_line = secret::redact_in(message, secret).split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > QUOTE_MAX_CHARS {
        let cut: String = one_line.chars().take(QUOTE_MAX_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}
