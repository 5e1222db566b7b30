//! `hermes serve`: a local OpenAI-, Anthropic- and Responses-compatible gateway on the pools.
//!
//! Clients (Claude Code, Codex CLI, aider, any SDK program) set a base URL and send their
//! requests here; each request is routed to a provider and model, sent through the same runtime
//! as `hermes chat` (picks, marks, retries, rotation, OAuth refresh, fallback) and answered with
//! the provider's own response. Bodies pass through unchanged except `model`. The server holds
//! no pool rules: it maps the runtime's typed errors to HTTP statuses in the wire's error shape.
//! See docs/serve.md.

pub mod affinity;
pub mod auth;
pub mod metrics;
pub mod route;
pub mod wire;

use crate::error::Error;
use crate::home::Home;
use crate::runtime::{ChatRequest, RawBody, Runtime, StreamSlot, Streamed};
use crate::secret::Redactor;
use auth::ClientKeys;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::Api;

/// The default address: loopback, a port hermes-agent's own servers do not use.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8649";
/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;
/// How long in-flight requests may run after a stop signal.
pub const DRAIN: Duration = Duration::from_secs(10);

/// What the handlers share.
pub struct Gateway {
    pub home: Arc<Home>,
    pub runtime: Runtime,
    pub keys: ClientKeys,
    /// Every secret of the home plus the client keys, for anything quoted back.
    redactor: Redactor,
    /// Log records: one per request, one per benched entry, and the stop.
    pub log: Box<dyn Fn(&LogRecord) + Send + Sync>,
    pub metrics: metrics::Metrics,
    /// Session → entry, when `serve.affinity` is on.
    affinity: Option<affinity::Affinity>,
    /// The entries that were benched at the last check, to say when one comes back.
    benched: std::sync::Mutex<std::collections::BTreeSet<(String, String)>>,
    /// Where the models clients named went, by endpoint: routing reads only config.yaml and the
    /// environment, both fixed for the gateway's life, so each is worked out once.
    routes: std::sync::Mutex<std::collections::HashMap<Api, std::collections::HashMap<String, Route>>>,
}

/// A request's provider and model, and the chain it runs through.
type Route = (route::Routed, Arc<crate::runtime::Chain>);

/// Routes remembered per endpoint; past this many distinct models, new ones are worked out
/// per request (a client making up model names cannot grow the gateway).
const MAX_ROUTES: usize = 512;

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl Gateway {
    pub fn new(
        home: Arc<Home>,
        runtime: Runtime,
        keys: ClientKeys,
        log: Box<dyn Fn(&LogRecord) + Send + Sync>,
    ) -> Gateway {
        let mut redactor = home.redactor_now();
        for k in keys.secrets() {
            redactor.add_secret(k);
        }
        let affinity = home.config().serve.affinity.then(affinity::Affinity::default);
        Gateway {
            home,
            runtime,
            keys,
            redactor,
            log,
            metrics: metrics::Metrics::default(),
            affinity,
            benched: Default::default(),
            routes: Default::default(),
        }
    }

    /// Where a request of `api` naming `model` goes ([`route::route`]), and its chain.
    fn route(&self, api: Api, model: Option<&str>) -> crate::error::Result<Route> {
        let key = model.unwrap_or_default();
        let known = |routes: &std::collections::HashMap<Api, std::collections::HashMap<String, Route>>| {
            routes.get(&api).and_then(|m| m.get(key)).cloned()
        };
        if let Some(r) = known(&self.routes.lock().unwrap_or_else(|p| p.into_inner())) {
            return Ok(r);
        }
        let routed = route::route(&self.home, api, model)?;
        let chain = crate::runtime::chain::build_for_wires(
            &self.home,
            &routed.provider,
            &routed.model,
            api.wires(),
            api.path(),
        )?;
        let r: Route = (routed, Arc::new(chain));
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let of_api = routes.entry(api).or_default();
        if of_api.len() < MAX_ROUTES {
            of_api.insert(key.to_string(), r.clone());
        }
        Ok(r)
    }
}

impl Gateway {
    /// Log an `available` line for every entry that was benched at the last check and can serve
    /// again now (its cooldown ran out, or someone reset it). The gateway calls this with its
    /// write-behind flush.
    pub fn check_returns(&self) {
        let Ok(doc) = self.home.state().read() else { return };
        let now = self.home.now();
        let mut cooling = std::collections::BTreeSet::new();
        let mut usable = std::collections::BTreeSet::new();
        for key in self.home.pool_keys(&doc) {
            for v in self.home.view(&doc, &key, now).entries {
                let id = (key.clone(), v.entry.id.clone());
                match v.status {
                    crate::pool::status::Status::Cooling { .. } => {
                        cooling.insert(id);
                    }
                    s if s.selectable() => {
                        usable.insert(id);
                    }
                    _ => {}
                }
            }
        }
        let mut before = self.benched.lock().unwrap_or_else(|p| p.into_inner());
        for (pool, id) in before.iter().filter(|e| usable.contains(*e)) {
            (self.log)(
                &LogRecord { event: "available", fields: Vec::new() }.field("provider", pool).field("entry", id),
            );
        }
        *before = cooling;
    }
}

/// The routes.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(|s, h, b| handle(s, h, b, Api::ChatCompletions)))
        .route("/v1/messages", post(|s, h, b| handle(s, h, b, Api::Messages)))
        .route("/v1/messages/count_tokens", post(|s, h, b| handle(s, h, b, Api::CountTokens)))
        .route("/v1/responses", post(|s, h, b| handle(s, h, b, Api::Responses)))
        .route("/v1/models", get(models))
        .route("/hermes/pools", get(pools))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(gateway)
}

/// How long a connection may take to send a request's headers, and how long a kept-alive
/// connection may sit idle between requests, before it is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve on `listener` until `stop` resolves; then stop accepting, let in-flight requests finish
/// for up to [`DRAIN`], and return. Each connection is HTTP/1.1 with keep-alive and a header
/// (and idle) timeout of `header_timeout` ([`HEADER_TIMEOUT`] unless a test shortens it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Arc<Gateway>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    header_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = router(gateway.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = Box::pin(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, out of descriptors for a
                // moment): the listener itself is fine.
                Err(_) => continue,
            },
            _ = &mut stop => break,
        };
        // Each event of a stream goes out as it comes: a small write must not wait for the
        // client's (delayed) acknowledgement of the previous one.
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        (gateway.log)(&LogRecord::note("stopped after waiting 10 s for requests still running"));
    }
    Ok(())
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed by this call (inside
/// a tokio runtime), so call it before announcing that the server listens: a signal that comes
/// right after the announcement then stops the server cleanly instead of killing it.
pub fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Whether `addr` is a loopback address.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

async fn handle(State(g): State<Arc<Gateway>>, headers: HeaderMap, body: Bytes, api: Api) -> Response {
    let started = Instant::now();
    let Some(client) = g.keys.check(&headers).map(str::to_string) else {
        (g.log)(&LogRecord::request(api.path(), 401).field("error", "no or wrong client key"));
        return wire::error(api, StatusCode::UNAUTHORIZED, "authentication_error", "missing or wrong client key");
    };
    // Kept as sent: only the top-level fields are read here, and only `model` is replaced.
    let Some(body) = RawBody::parse(body) else {
        return wire::error(api, StatusCode::BAD_REQUEST, "invalid_request_error", "the body is not a JSON object");
    };
    let model = body.field("model");
    let (routed, chain) = match g.route(api, model.as_ref().and_then(Value::as_str)) {
        Ok(r) => r,
        Err(e) => return error_response(&g, api, &e),
    };
    let streamed = body.field("stream").and_then(|v| v.as_bool()) == Some(true);
    let pool_key = chain.steps[0].pool.key.clone();
    let session = g.affinity.as_ref().and_then(|_| affinity::session_of(&headers, &body));
    let preferred = match (&g.affinity, &session) {
        (Some(a), Some(s)) => a.preferred(&pool_key, s),
        _ => None,
    };
    let slot = StreamSlot::new();
    let mut request = if streamed {
        ChatRequest::raw_streaming(api.upstream_path(), body, slot.clone())
    } else {
        ChatRequest::raw(api.upstream_path(), body)
    };
    request.prefer = preferred.clone();
    let pending =
        Pending { api, client, provider: routed.provider, pool_key, session, preferred, slot, started, streamed };
    let work = {
        let g = g.clone();
        async move { answer(&g, &chain, &request).await }
    };
    if !streamed {
        let result = work.await;
        return respond(&g, pending, result);
    }
    // A stream's opening is held until content (or an error to rotate on) arrives. If that takes
    // long, the response headers go out and SSE comments keep the client's connection alive.
    let mut task = AbortOnDrop(tokio::spawn(work));
    match tokio::time::timeout(KEEPALIVE_AFTER, &mut task.0).await {
        Ok(Ok(result)) => respond(&g, pending, result),
        Ok(Err(_)) => wire::error(api, StatusCode::INTERNAL_SERVER_ERROR, "api_error", "the request failed"),
        Err(_) => keep_alive(g, pending, task),
    }
}

/// How long a held stream opening waits before the headers are sent and keep-alive comments
/// start; then one comment per [`KEEPALIVE_EVERY`].
pub const KEEPALIVE_AFTER: Duration = Duration::from_secs(3);
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(5);
/// The SSE comment sent meanwhile (ignored by every SSE parser).
const KEEPALIVE_COMMENT: &str = ": keep-alive\n\n";

/// A spawned request that is cancelled when its client goes away.
struct AbortOnDrop(tokio::task::JoinHandle<std::result::Result<crate::runtime::Reply, crate::runtime::Failure>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a request's answer needs besides the runtime's result.
struct Pending {
    api: Api,
    client: String,
    provider: String,
    pool_key: String,
    session: Option<String>,
    preferred: Option<String>,
    slot: StreamSlot,
    started: Instant,
    streamed: bool,
}

/// Run the request through the chain; with `serve.wait_for_reset`, wait for a reset that close
/// and try once more instead of answering 429.
async fn answer(
    g: &Gateway,
    chain: &crate::runtime::Chain,
    request: &ChatRequest,
) -> std::result::Result<crate::runtime::Reply, crate::runtime::Failure> {
    let mut result = g.runtime.complete(chain, request).await;
    let wait_limit = g.home.config().serve.wait_for_reset;
    if let Err(f) = &result {
        let wait = f.error.retry_at().map(|t| t - g.home.now()).filter(|w| *w > 0.0 && *w <= wait_limit);
        if let Some(w) = wait {
            g.home.ctx().sleeper.sleep(Duration::from_secs_f64(w + 0.05)).await;
            result = g.runtime.complete(chain, request).await;
        }
    }
    result
}

/// A held stream whose opening is slow: 200 and the SSE headers now, a comment every
/// [`KEEPALIVE_EVERY`] until the runtime decides, then the chosen entry's stream, or, when
/// nothing could serve, the wire's error event (the status can no longer change).
fn keep_alive(g: Arc<Gateway>, pending: Pending, task: AbortOnDrop) -> Response {
    use futures_util::StreamExt;
    let api = pending.api;
    enum State {
        /// The headers are going out now: a first comment with them.
        Start(AbortOnDrop, Pending),
        Waiting(AbortOnDrop, Pending),
        Streaming(axum::body::BodyDataStream),
        Done,
    }
    let g2 = g.clone();
    let body = futures_util::stream::unfold(State::Start(task, pending), move |state| {
        let g = g2.clone();
        async move {
            match state {
                State::Start(task, pending) => {
                    Some((Ok(Bytes::from_static(KEEPALIVE_COMMENT.as_bytes())), State::Waiting(task, pending)))
                }
                State::Waiting(mut task, pending) => {
                    match tokio::time::timeout(KEEPALIVE_EVERY, &mut task.0).await {
                        Err(_) => {
                            Some((Ok(Bytes::from_static(KEEPALIVE_COMMENT.as_bytes())), State::Waiting(task, pending)))
                        }
                        Ok(joined) => {
                            let resp = match joined {
                                Ok(result) => respond(&g, pending, result),
                                Err(_) => wire::error(
                                    api,
                                    StatusCode::INTERNAL_SERVER_ERROR,
                                    "api_error",
                                    "the request failed",
                                ),
                            };
                            if resp.status().is_success() {
                                let mut data = resp.into_body().into_data_stream();
                                let first = data.next().await;
                                match first {
                                    Some(Ok(b)) => Some((Ok(b), State::Streaming(data))),
                                    Some(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), State::Done)),
                                    None => None,
                                }
                            } else {
                                // The headers went out as 200: the failure becomes the wire's error event.
                                let bytes =
                                    axum::body::to_bytes(resp.into_body(), BODY_LIMIT).await.unwrap_or_default();
                                let message = serde_json::from_slice::<Value>(&bytes)
                                    .ok()
                                    .and_then(|v| {
                                        let e = v.get("error")?;
                                        e.get("message").and_then(Value::as_str).map(str::to_string)
                                    })
                                    .unwrap_or_else(|| "the request failed".to_string());
                                Some((Ok(Bytes::from(wire::stream_error_event(api, &message))), State::Done))
                            }
                        }
                    }
                }
                State::Streaming(mut data) => match data.next().await {
                    Some(Ok(b)) => Some((Ok(b), State::Streaming(data))),
                    Some(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), State::Done)),
                    None => None,
                },
                State::Done => None,
            }
        }
    });
    let mut resp = Response::new(axum::body::Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/event-stream"));
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    resp
}

/// The runtime's result as the client's answer, with the metrics, the log line and affinity.
fn respond(
    g: &Arc<Gateway>,
    p: Pending,
    result: std::result::Result<crate::runtime::Reply, crate::runtime::Failure>,
) -> Response {
    let api = p.api;
    if let (Some(a), Some(s), Ok(reply)) = (&g.affinity, &p.session, &result) {
        if let (Some(entry), true) = (reply.entry_id.as_deref(), reply.provider == p.pool_key) {
            a.served(&p.pool_key, s, p.preferred.as_deref(), entry);
        }
    }
    let ms = p.started.elapsed().as_millis();
    match result {
        Ok(reply) => {
            g.metrics.record(
                api.path(),
                &reply.provider,
                reply.entry_id.as_deref(),
                reply.response.status,
                &reply.report,
            );
            log_benched(g, &reply.report);
            (g.log)(
                &LogRecord::request(api.path(), reply.response.status)
                    .field("id", &reply.report.id)
                    .field("client", &p.client)
                    .field("provider", &reply.provider)
                    .field("entry", reply.entry_id.as_deref().unwrap_or("-"))
                    .field("attempts", &reply.report.attempts.len().to_string())
                    .field("ms", &ms.to_string()),
            );
            match p.slot.take().filter(|_| p.streamed) {
                Some(live) => stream_through(g, &reply, live, api),
                None => passthrough(reply),
            }
        }
        Err(f) => {
            let status = error_status(&f.error, f.response.as_ref());
            g.metrics.record(api.path(), &p.provider, None, status, &f.report);
            log_benched(g, &f.report);
            (g.log)(
                &LogRecord::request(api.path(), status)
                    .field("id", &f.report.id)
                    .field("client", &p.client)
                    .field("provider", &p.provider)
                    .field("attempts", &f.report.attempts.len().to_string())
                    .field("ms", &ms.to_string())
                    .field("error", &f.error.to_string()),
            );
            // A request the provider itself refused (400, 404, 422) goes back as it answered.
            if let (Error::Refused(r), Some(resp)) = (&f.error, &f.response) {
                if r.what == crate::error::RefusedWhat::Request {
                    return plain(resp.status, &resp.headers, resp.body.clone());
                }
            }
            error_response(g, api, &f.error)
        }
    }
}

/// One line of the gateway's log: an event and its fields, shown as text or as JSON by the
/// front end. Field values are data (sanitised where they quote a provider).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub event: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

impl LogRecord {
    fn request(path: &str, status: u16) -> LogRecord {
        LogRecord {
            event: "request",
            fields: vec![("method", "POST".into()), ("path", path.into()), ("status", status.to_string())],
        }
    }

    fn note(text: &str) -> LogRecord {
        LogRecord { event: "note", fields: vec![("message", text.into())] }
    }

    fn field(mut self, name: &'static str, value: &str) -> LogRecord {
        self.fields.push((name, crate::text::one_line(value).into_owned()));
        self
    }

    /// `event k=v k=v`.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(160);
        out.push_str(self.event);
        for (k, v) in &self.fields {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!(" {k}={v}"));
        }
        out
    }

    /// One JSON object: `{"event": …, fields…}`.
    pub fn json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("event".into(), Value::String(self.event.into()));
        for (k, v) in &self.fields {
            m.insert((*k).into(), Value::String(v.clone()));
        }
        Value::Object(m).to_string()
    }
}

/// A line for every entry a request's attempts benched (a refusal that moved the request on).
fn log_benched(g: &Gateway, report: &crate::runtime::RequestLog) {
    for a in report.attempts.iter().filter(|a| matches!(a.decision, "rotate" | "fallback") && !a.outcome.is_transient())
    {
        let mut r = LogRecord { event: "benched", fields: Vec::new() }
            .field("provider", &a.provider)
            .field("entry", a.entry_id.as_deref().unwrap_or("-"))
            .field("outcome", a.outcome.as_str());
        if let Some(s) = a.status {
            r = r.field("status", &s.to_string());
        }
        (g.log)(&r);
    }
}

/// The provider's answer, with its status and content type, plus which pool and entry served it.
fn passthrough(mut reply: crate::runtime::Reply) -> Response {
    let body = std::mem::take(&mut reply.response.body);
    let mut resp = plain(reply.response.status, &reply.response.headers, body);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&reply.provider) {
        h.insert("x-hermes-provider", v);
    }
    if let Some(v) = reply.entry_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
        h.insert("x-hermes-entry", v);
    }
    resp
}

/// What a streamed answer reported, counted on the entry that served it when the stream is
/// done with, however it ends (docs/guide.md#usage).
struct UsageTap {
    seen: crate::pool::usage::StreamUsage,
    home: Arc<Home>,
    provider: String,
    entry: String,
}

impl UsageTap {
    /// The recording to make, once: nothing when nothing was reported (or it was made).
    fn take(&mut self) -> Option<impl FnOnce() -> crate::error::Result<()> + Send + 'static> {
        let u = self.seen.total()?;
        if self.entry.is_empty() {
            return None;
        }
        self.seen = crate::pool::usage::StreamUsage::default();
        let (home, provider, entry) =
            (self.home.clone(), std::mem::take(&mut self.provider), std::mem::take(&mut self.entry));
        Some(move || {
            let pool = home.pool(&provider)?;
            crate::ops::record_usage(&home, &pool, &entry, u)
        })
    }
}

impl Drop for UsageTap {
    /// A stream that did not end normally (a break, a client gone mid-stream): count what it
    /// reported so far, in the background.
    fn drop(&mut self) {
        if let (Some(record), Ok(rt)) = (self.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn_blocking(record);
        }
    }
}

/// A streamed answer: the opening the runtime judged, then the provider's chunks as they arrive
/// (nothing buffered). If the provider's stream breaks off, the client's ends with the wire's
/// error event. A client that goes away drops this body, and with it the upstream connection.
fn stream_through(g: &Arc<Gateway>, reply: &crate::runtime::Reply, live: Streamed, api: Api) -> Response {
    use futures_util::StreamExt;
    let Streamed { prefix, rest } = live;
    let prefix_copy = prefix.clone();
    let opening = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(prefix)) });
    let (gw, provider, entry) = (g.clone(), reply.provider.clone(), reply.entry_id.clone().unwrap_or_default());
    let mut counted = UsageTap {
        seen: crate::pool::usage::StreamUsage::default(),
        home: g.home.clone(),
        provider: reply.provider.clone(),
        entry: entry.clone(),
    };
    counted.seen.feed(&prefix_copy);
    let chunks = futures_util::stream::unfold(Some((rest, counted)), move |state| {
        let (gw, provider, entry) = (gw.clone(), provider.clone(), entry.clone());
        async move {
            let (mut r, mut counted) = state?;
            match r.chunk().await {
                Ok(Some(b)) => {
                    counted.seen.feed(&b);
                    Some((Ok(b), Some((r, counted))))
                }
                // The end: counted before the client sees the stream close. (At a break, or when
                // the client goes away mid-stream, the tap counts what it saw when dropped.)
                Ok(None) => {
                    if let Some(record) = counted.take() {
                        let _ = tokio::task::spawn_blocking(record).await;
                    }
                    None
                }
                Err(e) => {
                    // Recorded on the entry's counters and in the log; nothing is benched for a
                    // break after content (it says nothing certain about the key).
                    gw.metrics.stream_broken(&provider, &entry);
                    (gw.log)(
                        &LogRecord { event: "stream_broken", fields: Vec::new() }
                            .field("provider", &provider)
                            .field("entry", &entry)
                            .field("error", &gw.redactor.clean(&e.to_string(), 300).unwrap_or_default()),
                    );
                    Some((Ok(Bytes::from(wire::stream_error_event(api, "the provider's stream broke off"))), None))
                }
            }
        }
    });
    let body = axum::body::Body::from_stream(opening.chain(chunks));
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(reply.response.status).unwrap_or(StatusCode::OK);
    let content_type = reply
        .response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| HeaderValue::from_str(v).ok())
        .unwrap_or(HeaderValue::from_static("text/event-stream"));
    let h = resp.headers_mut();
    h.insert("content-type", content_type);
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&reply.provider) {
        h.insert("x-hermes-provider", v);
    }
    if let Some(v) = reply.entry_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
        h.insert("x-hermes-entry", v);
    }
    resp
}

fn plain(status: u16, headers: &[(String, String)], body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = (status, body).into_response();
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| HeaderValue::from_str(v).ok())
        .unwrap_or(HeaderValue::from_static("application/json"));
    resp.headers_mut().insert("content-type", content_type);
    resp
}

/// A typed error as an HTTP answer in the endpoint's wire shape. Nothing usable is a 429 with
/// `Retry-After` (seconds to the earliest reset).
fn error_response(g: &Gateway, api: Api, e: &Error) -> Response {
    let message = g.redactor.clean(&e.to_string(), 2000).unwrap_or_default();
    let status = StatusCode::from_u16(error_status(e, None)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = match status.as_u16() {
        429 => "rate_limit_error",
        400 => "invalid_request_error",
        _ => "api_error",
    };
    let mut resp = wire::error(api, status, kind, &message);
    if let Error::NothingUsable(n) = e {
        if let Some((_, t)) = &n.next {
            let secs = (t - g.home.now()).max(0.0).ceil() as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
    }
    resp
}

/// The 401 for a request without a valid client key (the local endpoints answer in the OpenAI
/// shape), or `None` when the key is good.
fn unauthorized(g: &Gateway, headers: &HeaderMap) -> Option<Response> {
    g.keys.check(headers).is_none().then(|| {
        wire::error(
            Api::ChatCompletions,
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "missing or wrong client key",
        )
    })
}

async fn models(State(g): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Some(refused) = unauthorized(&g, &headers) {
        return refused;
    }
    let data: Vec<Value> = route::models(&g.home)
        .into_iter()
        .map(|(id, owner)| json!({"id": id, "object": "model", "created": 0, "owned_by": owner}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// The status a failed request is answered with (the same mapping as [`error_response`]).
fn error_status(e: &Error, response: Option<&crate::runtime::classify::HttpResponse>) -> u16 {
    match (e, response) {
        (Error::Refused(r), Some(resp)) if r.what == crate::error::RefusedWhat::Request => resp.status,
        (Error::NothingUsable(_), _) => 429,
        (Error::Route(_) | Error::UnknownProvider(_) | Error::Usage(_), _) => 400,
        (Error::Refused(_) | Error::Network { .. } | Error::ChainFailed(_), _) => 502,
        // The fleet's state server is out of reach under `state.on_unavailable: fail`.
        (Error::Store(crate::store::StoreError::Unavailable { .. }), _) => 503,
        _ => 500,
    }
}

async fn metrics_text(State(g): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Some(refused) = unauthorized(&g, &headers) {
        return refused;
    }
    let gw = g.clone();
    match tokio::task::spawn_blocking(move || gw.metrics.render(&gw.home)).await {
        Ok(text) => {
            let mut resp = text.into_response();
            resp.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            resp
        }
        Err(_) => wire::error(Api::ChatCompletions, StatusCode::INTERNAL_SERVER_ERROR, "api_error", "internal error"),
    }
}

async fn pools(State(g): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Some(refused) = unauthorized(&g, &headers) {
        return refused;
    }
    let home = g.home.clone();
    let doc = tokio::task::spawn_blocking(move || {
        let doc = home.state().read()?;
        let now = home.now();
        let providers: Vec<Value> = home
            .pool_keys(&doc)
            .iter()
            .map(|k| home.view(&doc, k, now))
            .filter(|v| !v.entries.is_empty())
            .map(|v| v.to_json(now))
            .collect();
        Ok::<Value, Error>(json!({"providers": providers}))
    })
    .await;
    match doc {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => error_response(&g, Api::ChatCompletions, &e),
        Err(_) => wire::error(Api::ChatCompletions, StatusCode::INTERNAL_SERVER_ERROR, "api_error", "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(config: &str) -> (tempfile::TempDir, Gateway) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        let home_dir = dir.path().to_string_lossy().to_string();
        let (ctx, _, _) = crate::context::Context::for_test([("HERMES_HOME", home_dir.as_str())], 1000.0);
        let home = Arc::new(Home::open(ctx).unwrap());
        let runtime = Runtime::new(home.clone()).unwrap();
        let keys = ClientKeys::new(vec![("t".into(), crate::secret::Secret::new("hsk-test"))]);
        (dir, Gateway::new(home, runtime, keys, Box::new(|_| {})))
    }

    #[test]
    fn routes_are_worked_out_once_per_model_and_errors_each_time() {
        let (_dir, g) = gateway("serve:\n  models:\n    fast: openrouter:vendor/fast\n");
        let (routed, chain) = g.route(Api::ChatCompletions, Some("fast")).unwrap();
        assert_eq!((routed.provider.as_str(), routed.model.as_str()), ("openrouter", "vendor/fast"));
        let (again, same) = g.route(Api::ChatCompletions, Some("fast")).unwrap();
        assert_eq!(again, routed);
        assert!(Arc::ptr_eq(&chain, &same), "the chain was built once");
        // Per endpoint: the same name elsewhere is routed by that endpoint's rules.
        let (messages, _) = g.route(Api::Messages, Some("claude-x")).unwrap();
        assert_eq!(messages.provider, "anthropic");
        assert!(g.route(Api::ChatCompletions, None).is_err());
        assert!(g.route(Api::Messages, Some("openrouter:vendor/m")).is_err(), "another wire");
        let remembered = |api| g.routes.lock().unwrap().get(&api).map_or(0, |m| m.len());
        assert_eq!((remembered(Api::ChatCompletions), remembered(Api::Messages)), (1, 1), "no error kept");
        // A client making up names fills the memo only so far.
        for i in 0..MAX_ROUTES + 10 {
            g.route(Api::Messages, Some(&format!("claude-{i}"))).unwrap();
        }
        assert_eq!(remembered(Api::Messages), MAX_ROUTES);
    }
}
