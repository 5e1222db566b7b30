//! `hermes auth check`: a cheap live probe of each credential (docs/recovery.md#checking-keys).
//!
//! The probe is the provider's model listing (`GET <base>/models`, Anthropic `GET
//! <base>/v1/models`), which costs no tokens. Its answer is classified like a request's and the
//! entry marked the same way (401 auth failed, 402 billing, 403 forbidden, 429 rate-limited, with
//! the provider's reset hint), so the pool knows at once what the probe found. A good answer lifts
//! a bench that auth evidence made (401/403), and nothing else: a listing that works says nothing
//! about a rate limit. Probes run a few at a time, each bounded by a timeout; never implicitly.

use super::classify::{classify, Class, HttpResponse, TransportError, TransportErrorKind};
use super::client;
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::model::entry::AuthType;
use crate::ops;
use crate::pool::cooldown::Outcome;
use crate::pool::status::Status;
use crate::providers::Wire;
use crate::secret::Secret;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most this many probes in flight.
pub const CONCURRENCY: usize = 4;

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Rejected,
    OutOfCredit,
    RateLimited,
    /// No answer, a 5xx, or an answer that says nothing about the key.
    Inconclusive,
    /// Not probed (no secret here, or no listing this provider offers).
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Rejected => "rejected",
            Verdict::OutOfCredit => "out of credit",
            Verdict::RateLimited => "rate-limited",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Skipped => "skipped",
        }
    }
}

/// One entry's probe.
#[derive(Debug, Clone)]
pub struct Probe {
    pub pool: String,
    /// 1-based list position.
    pub index: usize,
    pub id: String,
    pub label: String,
    pub verdict: Verdict,
    pub code: Option<u16>,
    /// The answer in words: `200`, `401 invalid_api_key`, `timeout after 5000 ms`, ….
    pub evidence: String,
    pub elapsed: Duration,
}

struct Job {
    pool: PoolRef,
    index: usize,
    id: String,
    label: String,
    fingerprint: Option<String>,
    secret: Option<Secret>,
    auth_type: AuthType,
    base_url: Option<String>,
    auth_bench: bool,
    /// An OAuth token due for a refresh: a probe would only prove that.
    due: bool,
}

/// The listing URL of a wire, or `None` where there is none to probe. OpenRouter lists models
/// without a key, so its key's own page (`/key`) is asked instead.
fn listing(pool: &str, wire: Wire, base: &str) -> Option<String> {
    let base = base.trim().trim_end_matches('/');
    if pool == "openrouter" {
        return Some(format!("{base}/key"));
    }
    match wire {
        Wire::OpenAi => Some(format!("{base}/models")),
        Wire::Anthropic => Some(format!("{base}/v1/models")),
        Wire::CodexResponses => None,
    }
}

/// Probe every entry of `pools` (or only `target` in them), at most [`CONCURRENCY`] at a time,
/// each within `timeout`, and mark what the answers prove. Results in list order.
pub async fn check(
    home: Arc<Home>,
    pools: Vec<PoolRef>,
    target: Option<String>,
    timeout: Duration,
) -> Result<Vec<Probe>> {
    let now = home.now();
    let doc = {
        let h = home.clone();
        tokio::task::spawn_blocking(move || h.state().read())
            .await
            .map_err(|e| Error::System { what: "cannot read the pools", detail: e.to_string() })??
    };
    let mut jobs = Vec::new();
    for pool in pools {
        let view = home.view(&doc, &pool.key, now);
        let picked: Vec<usize> = match &target {
            Some(t) => vec![view.find(t).map_err(|e| ops::target_error(&view, t, e))?],
            None => (0..view.entries.len()).collect(),
        };
        for i in picked {
            let v = &view.entries[i];
            let auth_bench = matches!(&v.status, Status::Cooling { code: Some(401 | 403), .. });
            jobs.push(Job {
                index: i + 1,
                id: v.entry.id.clone(),
                label: v.entry.label.clone(),
                fingerprint: v.fingerprint(),
                secret: v.secret.clone(),
                auth_type: v.entry.auth_type,
                base_url: home.base_url_of(&pool, v),
                pool: pool.clone(),
                auth_bench,
                due: matches!(v.status, Status::NeedsRefresh { .. }),
            });
        }
    }
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::System { what: "cannot build the HTTP client", detail: e.to_string() })?;
    let gate = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for (n, job) in jobs.into_iter().enumerate() {
        let (home, http, gate) = (home.clone(), http.clone(), gate.clone());
        set.spawn(async move {
            let _permit = gate.acquire().await;
            (n, probe(&home, &http, job, timeout).await)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok((n, Ok(p))) => out.push((n, p)),
            // A probe whose mark failed still reports what it found, and the others go on.
            Ok((n, Err((mut p, e)))) => {
                p.evidence = format!("{}; cannot mark it: {e}", p.evidence);
                out.push((n, p));
            }
            Err(_) => {}
        }
    }
    out.sort_by_key(|(n, _)| *n);
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

async fn probe(
    home: &Arc<Home>,
    http: &reqwest::Client,
    job: Job,
    timeout: Duration,
) -> std::result::Result<Probe, (Probe, Error)> {
    let mut p = Probe {
        pool: job.pool.key.clone(),
        index: job.index,
        id: job.id.clone(),
        label: job.label.clone(),
        verdict: Verdict::Skipped,
        code: None,
        evidence: String::new(),
        elapsed: Duration::ZERO,
    };
    let Some(secret) = job.secret.clone() else {
        p.evidence = "no secret available here".into();
        return Ok(p);
    };
    let wire = super::chain::wire_of(&job.pool);
    if job.due {
        p.evidence = format!("its access token is due for a refresh; run: hermes auth refresh {}", job.pool.key);
        return Ok(p);
    }
    let Some(url) = job.base_url.as_deref().and_then(|b| listing(&job.pool.key, wire, b)) else {
        p.evidence = "this provider has no listing to probe cheaply".into();
        return Ok(p);
    };
    let headers = match client::auth_headers(wire, job.auth_type, &secret) {
        Ok(h) => h,
        Err(e) => {
            p.verdict = Verdict::Inconclusive;
            p.evidence = e.message;
            return Ok(p);
        }
    };
    let started = Instant::now();
    let sent = http.get(&url).headers(headers).send().await;
    let answer: std::result::Result<HttpResponse, TransportError> = match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let body = resp.text().await.unwrap_or_default();
            Ok(HttpResponse { status, headers, body })
        }
        Err(e) => Err(TransportError {
            kind: if e.is_timeout() { TransportErrorKind::Timeout } else { TransportErrorKind::Connection },
            message: if e.is_timeout() {
                format!("no answer within {} ms", timeout.as_millis())
            } else {
                "cannot connect".to_string()
            },
        }),
    };
    p.elapsed = started.elapsed();
    let now = home.now();
    let mut c = classify(&answer, now);
    let known = home.redactor_now().with(Some(&secret));
    c.reason = known.reason(c.reason.as_deref());
    p.code = c.code;
    p.evidence = match (&answer, c.code) {
        (Err(e), _) => e.message.clone(),
        (Ok(_), Some(code)) => match &c.reason {
            Some(r) => format!("{code} {r}"),
            None => code.to_string(),
        },
        (Ok(_), None) => c.class.as_str().to_string(),
    };
    p.verdict = match (c.class, c.code) {
        (Class::Success, _) => Verdict::Valid,
        (_, Some(401 | 403)) => Verdict::Rejected,
        (_, Some(402)) => Verdict::OutOfCredit,
        (_, Some(429)) => Verdict::RateLimited,
        _ => Verdict::Inconclusive,
    };
    // Mark what the answer proves: a refusal as a request's would be; a good answer lifts only
    // a bench that auth evidence made.
    let outcome = match p.verdict {
        // A 403 on a listing may only mean the key lacks that one permission.
        Verdict::Rejected if c.code == Some(403) => {
            p.evidence.push_str(" (not marked: the listing may need a permission the key does not have)");
            None
        }
        Verdict::Rejected | Verdict::OutOfCredit | Verdict::RateLimited => Some(c.outcome()),
        Verdict::Valid if job.auth_bench => Some(Outcome::Success),
        _ => None,
    };
    if let Some(o) = outcome {
        let (h, pool, id, fp) = (home.clone(), job.pool.clone(), job.id.clone(), job.fingerprint.clone());
        let marked = tokio::task::spawn_blocking(move || ops::mark(&h, &pool, &id, fp.as_deref(), &o))
            .await
            .map_err(|e| Error::System { what: "cannot mark the entry", detail: e.to_string() })
            .and_then(|r| r);
        if let Err(e) = marked {
            return Err((p, e));
        }
    }
    Ok(p)
}
