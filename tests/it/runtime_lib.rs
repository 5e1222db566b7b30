//! The runtime as a library: many tokio tasks sharing one [`Runtime`], OAuth refresh through a
//! [`Refresher`], and sleeps observed through a [`RecordingSleeper`] with a fixed clock.
//!
//! The concurrency test talks to a wiremock server over real HTTP; the others use the scripted
//! transport so each answer can depend on the credential that sent it.

use crate::common::{Sealed, T0};
use hermes::context::{FixedClock, RecordingSleeper};
use hermes::home::{Home, PoolRef};
use hermes::model::entry;
use hermes::model::AuthDoc;
use hermes::ops;
use hermes::providers::Wire;
use hermes::runtime::{
    BoxFuture, ChatRequest, HttpResponse, RefreshOutcome, RefreshWhy, Refresher, Runtime, ScriptedTransport, Target,
};
use hermes::secret::Secret;
use hermes::store::state::MemoryState;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Env {
    _sealed: Sealed,
    backend: Backend,
    home: Arc<Home>,
    sleeper: RecordingSleeper,
    _clock: FixedClock,
}

/// A sealed home with `config` as config.yaml and `auth` (if any) as auth.json.
impl Drop for Env {
    fn drop(&mut self) {
        // The proof that the memory runs went through the trait alone: no file was touched.
        if matches!(self.backend, Backend::Memory) && !std::thread::panicking() {
            assert!(!self._sealed.auth_path().exists(), "a memory-backed run wrote auth.json");
        }
    }
}

/// Where a test's pools live.
#[derive(Debug, Clone, Copy)]
enum Backend {
    File,
    Memory,
}

/// A test run once over the file store and once over [`MemoryState`].
macro_rules! on_both_backends {
    ($(#[$attr:meta])* async fn $name:ident($b:ident: Backend) $body:block) => {
        mod $name {
            use super::*;
            $(#[$attr])*
            async fn file() {
                run(Backend::File).await
            }
            $(#[$attr])*
            async fn memory() {
                run(Backend::Memory).await
            }
            async fn run($b: Backend) $body
        }
    };
}

fn env(backend: Backend, config: &str, auth: Option<Value>) -> Env {
    env_with(backend, config, auth, &[])
}

/// [`env`] with extra environment variables.
fn env_with(backend: Backend, config: &str, auth: Option<Value>, extra: &[(&str, &str)]) -> Env {
    let mut s = Sealed::new();
    s.write_home_file("config.yaml", config);
    for (k, v) in extra {
        s.var(k, v);
    }
    let (ctx, clock, sleeper) = s.context();
    let home = match backend {
        Backend::File => {
            if let Some(a) = &auth {
                s.write_auth(a);
            }
            Home::open(ctx).unwrap()
        }
        // The same pools in memory: the runtime and the ops layer reach them only through the
        // PoolState trait, so every test below passes on both.
        Backend::Memory => {
            let doc = match &auth {
                Some(a) => AuthDoc::parse(a.to_string().as_bytes()).unwrap(),
                None => AuthDoc::empty(),
            };
            Home::with_state(ctx, Arc::new(MemoryState::with_doc(doc))).unwrap()
        }
    };
    Env { _sealed: s, backend, home: Arc::new(home), sleeper, _clock: clock }
}

fn custom_config(base_url: &str, extra: &str) -> String {
    format!("custom_providers:\n  - name: mock\n    base_url: {base_url}\n{extra}")
}

fn add_keys(home: &Home, pool: &str, keys: &[&str]) -> Vec<String> {
    let p = home.pool(pool).unwrap();
    keys.iter().map(|k| ops::add_api_key(home, &p, &Secret::new(*k), None).unwrap().id).collect()
}

fn stored(home: &Home, pool: &str) -> Vec<Value> {
    let doc = home.state().read().unwrap();
    doc.pool(pool).to_vec()
}

fn by_id<'a>(entries: &'a [Value], id: &str) -> &'a Value {
    entries.iter().find(|e| e["id"] == id).unwrap()
}

fn oauth_entry(id: &str, token: &str, priority: i64) -> Value {
    json!({"id": id, "label": format!("acct-{id}"), "auth_type": "oauth", "priority": priority,
           "source": "manual:hermes_pkce", "access_token": token, "refresh_token": format!("rt-{id}"),
           "last_status": null, "last_status_at": null, "last_error_code": null, "last_error_reason": null,
           "last_error_message": null, "last_error_reset_at": null, "request_count": 0})
}

fn err(status: u16, code: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({"error": {"code": code, "message": code}}))
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn thirty_two_tasks_share_one_runtime(backend: Backend) {
        let server = MockServer::start().await;
        let keys = ["sk-conc-1111aaaa", "sk-conc-2222bbbb", "sk-conc-3333cccc", "sk-conc-4444dddd"];
        for (i, k) in keys.iter().enumerate() {
            let answer = if i < 2 {
                ResponseTemplate::new(429).set_body_json(json!({"error": {"code": "rate_limit_exceeded"}}))
            } else {
                ResponseTemplate::new(200)
                    .set_body_json(json!({"choices": [{"message": {"content": format!("reply from key {}", i + 1)}}]}))
            };
            Mock::given(method("POST"))
                .and(path("/v1/chat/completions"))
                .and(header("authorization", format!("Bearer {k}")))
                .respond_with(answer)
                .mount(&server)
                .await;
        }
        let e = env(backend,
            &custom_config(&format!("{}/v1", server.uri()), "credential_pool_strategies:\n  custom:mock: round_robin\n"),
            None,
        );
        let ids = add_keys(&e.home, "custom:mock", &keys);
        let runtime = Arc::new(Runtime::new(e.home.clone()).unwrap());
        let chain = Arc::new(runtime.chain(Some("mock"), Some("m")).unwrap());

        let tasks: Vec<_> = (0..32)
            .map(|n| {
                let (rt, chain) = (runtime.clone(), chain.clone());
                tokio::spawn(async move { rt.complete(&chain, &ChatRequest::user(format!("task {n}"))).await })
            })
            .collect();
        let mut replies = 0;
        for t in tasks {
            let reply = t.await.unwrap().unwrap_or_else(|f| panic!("a task failed: {}", f.error));
            let text = reply.text.unwrap();
            assert!(text == "reply from key 3" || text == "reply from key 4", "{text}");
            assert!(reply.report.sleeps.is_empty(), "rotations never sleep");
            replies += 1;
        }
        assert_eq!(replies, 32);

        let pool = stored(&e.home, "custom:mock");
        for id in &ids[..2] {
            let entry = by_id(&pool, id);
            assert_eq!(entry["last_status"], "exhausted", "{entry}");
            assert_eq!(entry["last_error_code"], 429);
            assert!(entry["last_error_reset_at"].as_f64().unwrap() > T0);
        }
        for id in &ids[2..] {
            assert!(by_id(&pool, id)["last_status"].is_null());
        }
        // Every pick is one request and every request one pick: the counts add up.
        let received = server.received_requests().await.unwrap();
        let picks: i64 = pool.iter().map(|e| e["request_count"].as_i64().unwrap()).sum();
        assert_eq!(picks as usize, received.len());
        let limited = received.iter().filter(|r| {
            let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
            auth.ends_with(keys[0]) || auth.ends_with(keys[1])
        });
        assert_eq!(received.len(), 32 + limited.count());
        for (i, id) in ids.iter().enumerate() {
            let sent = received
                .iter()
                .filter(|r| r.headers.get("authorization").unwrap().to_str().unwrap().ends_with(keys[i]))
                .count();
            assert_eq!(by_id(&pool, id)["request_count"].as_i64().unwrap() as usize, sent, "key {}", i + 1);
        }
    }
}

on_both_backends! {
    #[tokio::test]
    async fn ten_entries_nine_rate_limited_succeeds_on_the_tenth(backend: Backend) {
        let e = env(backend, &custom_config("http://mock.invalid/v1", ""), None);
        let keys: Vec<String> = (0..10).map(|i| format!("sk-ten-key-{i:04}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        add_keys(&e.home, "custom:mock", &refs);
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| {
            Ok(if t.secret.expose().ends_with("0009") {
                HttpResponse::reply(t.wire, "ten")
            } else {
                err(429, "rate_limit")
            })
        }));
        let rt = Runtime::with_transport(e.home.clone(), transport.clone());
        let chain = rt.chain(Some("mock"), Some("m")).unwrap();
        let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(reply.text.as_deref(), Some("ten"));
        assert_eq!(transport.calls().len(), 10);
        assert_eq!(reply.report.attempts.len(), 10);
        assert!(reply.report.attempts[..9].iter().all(|a| a.decision == "rotate"));
        assert!(e.sleeper.slept.lock().unwrap().is_empty());
        let pool = stored(&e.home, "custom:mock");
        assert_eq!(pool.iter().filter(|e| e["last_status"] == "exhausted").count(), 9);
        assert!(reply.report.trail.iter().any(|l| l.starts_with("decision: rotate")), "{:?}", reply.report.trail);
        // A runtime that keeps no trail (the gateway's) decides the same and records every
        // attempt, without the lines.
        let quiet = Runtime::with_transport(e.home.clone(), transport.clone()).without_trail();
        let reply = quiet.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(reply.text.as_deref(), Some("ten"));
        assert!(reply.report.trail.is_empty(), "{:?}", reply.report.trail);
        assert_eq!(reply.report.attempts.last().map(|a| a.decision), Some("reply"));
    }
}

on_both_backends! {
    #[tokio::test]
    async fn sole_entry_sleeps_only_when_asked_for_at_most_five_seconds(backend: Backend) {
        for (retry_after, want_sleeps, want_calls) in
            [(Some("3"), vec![Duration::from_secs(3)], 2), (Some("30"), vec![], 1), (None, vec![], 1)]
        {
            let e = env(backend, &custom_config("http://mock.invalid/v1", ""), None);
            add_keys(&e.home, "custom:mock", &["sk-sole-key-0001"]);
            let calls = Arc::new(AtomicUsize::new(0));
            let c = calls.clone();
            let ra = retry_after.map(str::to_string);
            let transport = Arc::new(ScriptedTransport::new(move |t: &Target| {
                let n = c.fetch_add(1, Ordering::SeqCst);
                Ok(match (n, &ra) {
                    (0, Some(v)) => err(429, "rate_limit").with_header("Retry-After", v),
                    (0, None) => err(429, "rate_limit"),
                    _ => HttpResponse::reply(t.wire, "ok"),
                })
            }));
            let rt = Runtime::with_transport(e.home.clone(), transport);
            let chain = rt.chain(Some("mock"), Some("m")).unwrap();
            let result = rt.complete(&chain, &ChatRequest::user("hi")).await;
            assert_eq!(*e.sleeper.slept.lock().unwrap(), want_sleeps, "Retry-After {retry_after:?}");
            assert_eq!(calls.load(Ordering::SeqCst), want_calls, "Retry-After {retry_after:?}");
            // Without a fallback, a sole entry's long 429 ends the chain: nothing is usable (exit 4).
            match result {
                Ok(r) => assert_eq!(r.text.as_deref(), Some("ok")),
                Err(f) => assert_eq!(f.error.exit_code(), 4, "{}", f.error),
            }
        }
    }
}

on_both_backends! {
    #[tokio::test]
    async fn server_error_retries_the_same_entry_once_after_about_half_a_second(backend: Backend) {
        let e = env(backend, &custom_config("http://mock.invalid/v1", ""), None);
        add_keys(&e.home, "custom:mock", &["sk-five-xx-0001", "sk-five-xx-0002"]);
        let transport = Arc::new(ScriptedTransport::new(|_t: &Target| Ok(HttpResponse::json(503, &json!({})))));
        let rt = Runtime::with_transport(e.home.clone(), transport.clone());
        let chain = rt.chain(Some("mock"), Some("m")).unwrap();
        let f = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap_err();
        assert_eq!(f.error.exit_code(), 1);
        let calls = transport.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].secret, calls[1].secret, "the same entry, not its sibling");
        let slept = e.sleeper.slept.lock().unwrap().clone();
        assert_eq!(slept.len(), 1);
        assert!(slept[0] >= Duration::from_millis(400) && slept[0] <= Duration::from_millis(600), "{slept:?}");
        assert!(stored(&e.home, "custom:mock").iter().all(|e| e["last_status"].is_null()));
    }
}

/// A refresher that answers from a list and, on success, writes the new token as the OAuth
/// implementation would.
struct FakeRefresher {
    answers: Mutex<Vec<RefreshOutcome>>,
    calls: AtomicUsize,
    whys: Mutex<Vec<RefreshWhy>>,
}

impl FakeRefresher {
    fn new(answers: Vec<RefreshOutcome>) -> Arc<FakeRefresher> {
        Arc::new(FakeRefresher {
            answers: Mutex::new(answers),
            calls: AtomicUsize::new(0),
            whys: Mutex::new(Vec::new()),
        })
    }
}

impl Refresher for FakeRefresher {
    fn refresh<'a>(
        &'a self,
        home: &'a Home,
        pool: &'a PoolRef,
        id: &'a str,
        why: RefreshWhy,
    ) -> BoxFuture<'a, RefreshOutcome> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.whys.lock().unwrap().push(why);
            let answer = self.answers.lock().unwrap().remove(0);
            if let RefreshOutcome::Refreshed(s) = &answer {
                home.state()
                    .update(home.now(), |doc| -> hermes::error::Result<()> {
                        for v in doc.pool_mut(&pool.key).iter_mut() {
                            if v["id"] == id {
                                entry::set(
                                    v.as_object_mut().unwrap(),
                                    "access_token",
                                    Value::String(s.expose().into()),
                                );
                            }
                        }
                        Ok(())
                    })
                    .unwrap();
            }
            answer
        })
    }
}

fn anthropic_auth(entries: Vec<Value>) -> Value {
    json!({"version": 1, "providers": {}, "credential_pool": {"anthropic": entries}})
}

on_both_backends! {
    #[tokio::test]
    async fn oauth_401_refreshes_once_and_retries_without_marking(backend: Backend) {
        let e = env(backend, "", Some(anthropic_auth(vec![oauth_entry("aaaaaa", "sk-ant-oat01-old-token", 0)])));
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| {
            assert_eq!(t.wire, Wire::Anthropic);
            Ok(if t.secret.expose().ends_with("new-token") {
                HttpResponse::reply(t.wire, "fresh")
            } else {
                err(401, "authentication_error")
            })
        }));
        let refresher = FakeRefresher::new(vec![RefreshOutcome::Refreshed(Secret::new("sk-ant-oat01-new-token"))]);
        let rt = Runtime::with_transport(e.home.clone(), transport.clone()).with_refresher(refresher.clone());
        let chain = rt.chain(Some("anthropic"), Some("claude")).unwrap();
        let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(reply.text.as_deref(), Some("fresh"));
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        assert_eq!(*refresher.whys.lock().unwrap(), [RefreshWhy::Rejected], "a 401 forces the refresh");
        let calls = transport.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].secret.expose(), "sk-ant-oat01-new-token");
        let decisions: Vec<&str> = reply.report.attempts.iter().map(|a| a.decision).collect();
        assert_eq!(decisions, ["retry", "reply"]);
        let pool = stored(&e.home, "anthropic");
        assert!(pool[0]["last_status"].is_null(), "nothing marked: {}", pool[0]);
        assert_eq!(pool[0]["request_count"], 1, "the retry is not a new pick");
    }
}

on_both_backends! {
    #[tokio::test]
    async fn oauth_401_after_refresh_benches_five_minutes_and_rotates(backend: Backend) {
        let e = env(backend,
            "",
            Some(anthropic_auth(vec![
                oauth_entry("aaaaaa", "token-a-000001", 0),
                oauth_entry("bbbbbb", "token-b-000002", 1),
            ])),
        );
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| {
            Ok(if t.secret.expose().starts_with("token-b") {
                HttpResponse::reply(t.wire, "from b")
            } else {
                err(401, "authentication_error")
            })
        }));
        let refresher = FakeRefresher::new(vec![RefreshOutcome::Refreshed(Secret::new("token-a-refreshed"))]);
        let rt = Runtime::with_transport(e.home.clone(), transport.clone()).with_refresher(refresher.clone());
        let chain = rt.chain(Some("anthropic"), Some("claude")).unwrap();
        let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(reply.text.as_deref(), Some("from b"));
        assert_eq!(transport.calls().len(), 3);
        let pool = stored(&e.home, "anthropic");
        let a = by_id(&pool, "aaaaaa");
        assert_eq!(a["last_status"], "exhausted");
        assert_eq!(a["last_error_code"], 401);
        assert_eq!(a["last_error_reset_at"].as_f64(), Some(T0 + 300.0));
        assert!(e.sleeper.slept.lock().unwrap().is_empty(), "auth errors never back off");
    }
}

on_both_backends! {
    #[tokio::test]
    async fn terminal_refresh_makes_the_entry_dead_and_falls_back(backend: Backend) {
        let config = "fallback_providers:\n  - provider: mock\n    model: fb\ncustom_providers:\n  - name: mock\n    base_url: http://mock.invalid/v1\n    api_key: sk-fallback-0001\n";
        let e = env(backend, config, Some(anthropic_auth(vec![oauth_entry("aaaaaa", "token-a-000001", 0)])));
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| {
            Ok(if t.provider == "custom:mock" {
                HttpResponse::reply(t.wire, "fallback")
            } else {
                err(401, "authentication_error")
            })
        }));
        let refresher = FakeRefresher::new(vec![RefreshOutcome::Terminal("invalid_grant".into())]);
        let rt = Runtime::with_transport(e.home.clone(), transport).with_refresher(refresher);
        let chain = rt.chain(Some("anthropic"), Some("claude")).unwrap();
        let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(reply.text.as_deref(), Some("fallback"));
        assert_eq!(reply.provider, "custom:mock");
        assert!(
            reply.report.notices[0].starts_with("primary anthropic unavailable (dead), using fallback custom:mock/fb"),
            "{:?}",
            reply.report.notices
        );
        let a = stored(&e.home, "anthropic")[0].clone();
        assert_eq!(a["last_status"], "dead");
        assert_eq!(a["last_error_reason"], "invalid_grant");
    }
}

on_both_backends! {
    #[tokio::test]
    async fn static_oauth_token_401_is_handled_like_a_key(backend: Backend) {
        // An env token cannot be refreshed: one fresh retry, then fail fast with the login hint.
        let e = env_with(backend, "", None, &[("ANTHROPIC_TOKEN", "sk-ant-oat01-static-token")]);
        let (home, sleeper) = (e.home.clone(), e.sleeper.clone());
        let transport = Arc::new(ScriptedTransport::new(|_t: &Target| Ok(err(401, "authentication_error"))));
        let refresher = FakeRefresher::new(vec![]);
        let rt = Runtime::with_transport(home.clone(), transport.clone()).with_refresher(refresher.clone());
        let chain = rt.chain(Some("anthropic"), Some("claude")).unwrap();
        let f = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap_err();
        assert_eq!(f.error.exit_code(), 1);
        // The library's error is data; the fix is the CLI's wording.
        let hermes::error::Error::Refused(r) = &f.error else { panic!("{:?}", f.error) };
        assert_eq!((r.status, r.provider.as_str()), (Some(401), "anthropic"));
        let text = f.error.to_string();
        assert!(text.contains("rejected credential \"ANTHROPIC_TOKEN\" (sk-a…oken) with 401"), "{text}");
        assert!(!text.contains("hermes auth"), "no CLI advice in the library: {text}");
        let words = hermes::cli::errors::render(&f.error);
        assert!(words.contains("log in again: hermes auth add anthropic --type oauth"), "{words}");
        assert_eq!(transport.calls().len(), 2);
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 0);
        assert!(sleeper.slept.lock().unwrap().is_empty());
    }
}

on_both_backends! {
    #[tokio::test]
    async fn an_entry_near_expiry_is_refreshed_on_pick(backend: Backend) {
        let mut a = oauth_entry("aaaaaa", "token-old-0001", 0);
        a["expires_at_ms"] = json!((T0 as i64 + 30) * 1000);
        let e = env(backend, "", Some(anthropic_auth(vec![a])));
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| {
            Ok(if t.secret.expose() == "token-new-0002" { HttpResponse::reply(t.wire, "ok") } else { err(401, "expired") })
        }));
        let refresher = FakeRefresher::new(vec![RefreshOutcome::Refreshed(Secret::new("token-new-0002"))]);
        let rt = Runtime::with_transport(e.home.clone(), transport.clone()).with_refresher(refresher.clone());
        let chain = rt.chain(Some("anthropic"), Some("claude")).unwrap();
        let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(reply.text.as_deref(), Some("ok"));
        assert_eq!(refresher.calls.load(Ordering::SeqCst), 1);
        assert_eq!(transport.calls().len(), 1, "refreshed before the first attempt");
        assert_eq!(*refresher.whys.lock().unwrap(), [RefreshWhy::Expiring]);
        assert!(reply.report.trail.iter().any(|l| l.contains("refreshed anthropic aaaaaa before use")));
    }
}

on_both_backends! {
    #[tokio::test]
    async fn answers_recorded_after_the_reply_wait_for_one_batch(backend: Backend) {
        let e = env(backend, &custom_config("http://mock.invalid/v1", ""), None);
        let ids = add_keys(&e.home, "custom:mock", &["sk-batch-key-0001"]);
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let transport = Arc::new(ScriptedTransport::new(move |_t: &Target| {
            let body = json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": 2}});
            let left = if c.fetch_add(1, Ordering::SeqCst) < 3 { "5" } else { "0" };
            Ok(HttpResponse::json(200, &body)
                .with_header("x-ratelimit-remaining-requests", left)
                .with_header("x-ratelimit-reset-requests", "60s"))
        }));
        let rt = Runtime::with_transport(e.home.clone(), transport).record_answers_after_reply();
        let chain = rt.chain(Some("mock"), Some("m")).unwrap();
        let usage = |home: &Home| {
            let pool = stored(home, "custom:mock");
            let days = by_id(&pool, &ids[0])["usage"].as_object().cloned().unwrap_or_default();
            let sum = |k: &str| days.values().map(|d| d[k].as_i64().unwrap_or(0)).sum::<i64>();
            (sum("requests"), sum("input"), by_id(&pool, &ids[0])["request_count"].as_i64().unwrap())
        };
        for _ in 0..3 {
            let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
            assert!(reply.report.trail.iter().any(|l| l.contains("recorded with the next batch")), "{:?}", reply.report.trail);
        }
        // Counted at the pick; usage and headroom wait for the batch.
        assert_eq!(usage(&e.home), (0, 0, 3));
        assert_eq!(rt.answers_waiting(), 3);
        assert_eq!(rt.record_answers().unwrap(), 3);
        assert_eq!(usage(&e.home), (3, 30, 3));
        assert_eq!(rt.answers_waiting(), 0);
        assert_eq!(rt.record_answers().unwrap(), 0);
        // An answer that says nothing is left benches its key at once: it changes the next pick.
        rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(rt.answers_waiting(), 0);
        assert_eq!(usage(&e.home), (4, 40, 4));
        let pool = stored(&e.home, "custom:mock");
        assert!(!by_id(&pool, &ids[0])["last_status"].is_null(), "{pool:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_of_answers_is_recorded_without_waiting_for_the_interval() {
    let e = env(Backend::Memory, &custom_config("http://mock.invalid/v1", ""), None);
    let ids = add_keys(&e.home, "custom:mock", &["sk-queue-key-0001"]);
    let transport = Arc::new(ScriptedTransport::new(|t: &Target| Ok(HttpResponse::reply(t.wire, "ok"))));
    let rt = Runtime::with_transport(e.home.clone(), transport).record_answers_after_reply();
    let chain = rt.chain(Some("mock"), Some("m")).unwrap();
    for _ in 0..300 {
        rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
    }
    let requests = |home: &Home| {
        let pool = stored(home, "custom:mock");
        let days = by_id(&pool, &ids[0])["usage"].as_object().cloned().unwrap_or_default();
        days.values().map(|d| d["requests"].as_i64().unwrap_or(0)).sum::<i64>()
    };
    // The 256th answer sent the queue to be recorded (with whatever joined it meanwhile); the
    // rest wait for the next call.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while requests(&e.home) < 256 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (recorded, waiting) = (requests(&e.home), rt.answers_waiting());
    assert!(recorded >= 256, "{recorded}");
    assert_eq!(recorded + waiting as i64, 300);
    assert_eq!(rt.record_answers().unwrap(), waiting);
    assert_eq!(requests(&e.home), 300);
}

on_both_backends! {
    #[tokio::test]
    async fn a_late_record_keeps_a_newer_model_bench_and_newer_figures(backend: Backend) {
        use hermes::pool::cooldown::Outcome;
        use hermes::pool::headroom::Headroom;
        let e = env(backend, &custom_config("http://mock.invalid/v1", ""), None);
        let ids = add_keys(&e.home, "custom:mock", &["sk-late-key-0001"]);
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| {
            Ok(HttpResponse::reply(t.wire, "ok")
                .with_header("x-ratelimit-limit-requests", "10")
                .with_header("x-ratelimit-remaining-requests", "5"))
        }));
        let rt = Runtime::with_transport(e.home.clone(), transport).record_answers_after_reply();
        let chain = rt.chain(Some("mock"), Some("m")).unwrap();
        rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(rt.answers_waiting(), 1);
        // Before the batch, other requests on the same key: model m is benched, and a newer
        // answer says 2 requests are left.
        e._clock.advance(1.0);
        let pool = e.home.pool("custom:mock").unwrap();
        let bench = Outcome::ModelBench { model: "m".into(), code: 429, reason: None, until: T0 + 60.0 };
        ops::mark(&e.home, &pool, &ids[0], None, &bench).unwrap();
        let newer = Headroom { requests_limit: Some(10), requests_remaining: Some(2), ..Headroom::default() };
        let answered = Outcome::Answered { headroom: Some(newer), usage: None, bench: true, clear: false, model: None };
        ops::mark(&e.home, &pool, &ids[0], None, &answered).unwrap();
        assert_eq!(rt.record_answers().unwrap(), 1);
        let entry = by_id(&stored(&e.home, "custom:mock"), &ids[0]).clone();
        assert!(entry["model_benches"]["m"].is_object(), "the later bench stays: {entry}");
        assert_eq!(entry["headroom"]["requests_remaining"], 2, "the later figures stay: {entry}");
        let days = entry["usage"].as_object().unwrap();
        assert_eq!(days.values().map(|d| d["requests"].as_i64().unwrap()).sum::<i64>(), 2, "{entry}");
    }
}

on_both_backends! {
    #[tokio::test]
    async fn a_login_refreshed_before_the_batch_still_counts_its_answers(backend: Backend) {
        let e = env(backend, "", Some(anthropic_auth(vec![oauth_entry("aaaaaa", "sk-ant-oat01-old-token", 0)])));
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| Ok(HttpResponse::reply(t.wire, "ok"))));
        let rt = Runtime::with_transport(e.home.clone(), transport).record_answers_after_reply();
        let chain = rt.chain(Some("anthropic"), Some("claude")).unwrap();
        rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        assert_eq!(rt.answers_waiting(), 1);
        // The login's tokens rotate before the batch.
        e.home
            .state()
            .update(T0, |doc| {
                doc.pool_mut("anthropic")[0]["access_token"] = json!("sk-ant-oat01-new-token");
                Ok::<_, hermes::store::StoreError>(())
            })
            .unwrap();
        assert_eq!(rt.record_answers().unwrap(), 1);
        let entry = by_id(&stored(&e.home, "anthropic"), "aaaaaa").clone();
        let days = entry["usage"].as_object().unwrap();
        assert_eq!(days.values().map(|d| d["requests"].as_i64().unwrap()).sum::<i64>(), 1, "{entry}");
    }
}

on_both_backends! {
    #[tokio::test]
    async fn a_late_record_causes_no_event_of_its_own(backend: Backend) {
        use hermes::pool::cooldown::Outcome;
        let e = env(backend, &custom_config("http://mock.invalid/v1", ""), None);
        let ids = add_keys(&e.home, "custom:mock", &["sk-event-key-0001", "sk-event-key-0002"]);
        let transport = Arc::new(ScriptedTransport::new(|t: &Target| Ok(HttpResponse::reply(t.wire, "ok"))));
        let rt = Runtime::with_transport(e.home.clone(), transport).record_answers_after_reply();
        let chain = rt.chain(Some("mock"), Some("m")).unwrap();
        let reply = rt.complete(&chain, &ChatRequest::user("hi")).await.unwrap();
        let served = reply.entry_id.clone().unwrap();
        // After the answer, another request's 429 benches the key for a second, and the batch
        // runs once that bench is over: nothing about the key changed as of now.
        e._clock.advance(0.5);
        let pool = e.home.pool("custom:mock").unwrap();
        let limited = Outcome::Http { code: 429, reason: None, message: None, hint: Some(T0 + 1.5) };
        ops::mark(&e.home, &pool, &served, None, &limited).unwrap();
        e._clock.advance(30.0);
        assert_eq!(rt.record_answers().unwrap(), 1);
        let log = std::fs::read_to_string(e.home.dir.join("hermes-events.jsonl")).unwrap();
        assert!(log.lines().any(|l| l.contains("\"benched\"")), "the 429's own event: {log}");
        let from_batch: Vec<&str> = log.lines().filter(|l| l.contains(&reply.report.id)).collect();
        assert!(from_batch.is_empty(), "{from_batch:?}");
        assert!(ids.contains(&served));
    }
}
