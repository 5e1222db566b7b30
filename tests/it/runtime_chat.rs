//! `hermes chat` end to end: wiremock servers on 127.0.0.1 stand in for providers, the real
//! binary runs in a sealed home, and each test checks stdout, stderr, the exit code, the requests
//! the providers received and the resulting auth.json together.
//!
//! Sleeps are recorded, not waited (`HERMES_TEST_NO_SLEEP`), and show in the `-v` trail as
//! `sleep N ms`; tests that assert "no sleep" also run without the hook and time the run.

use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KA: &str = "sk-mock-aaaa1111";
const KB: &str = "sk-mock-bbbb2222";
const KF: &str = "sk-fall-cccc3333";

fn reply(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"choices": [{"message": {"role": "assistant", "content": text}}]}))
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": code, "message": message}}))
}

/// A POST to `/v1/chat/completions` carrying `key`.
fn with_key(key: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions")).and(header("authorization", format!("Bearer {key}")))
}

/// config.yaml: primary `mock` (at `primary`), optionally a fallback `mock2` (at `fallback`)
/// whose key comes from custom_providers.
fn config(s: &Sealed, primary: &MockServer, fallback: Option<&MockServer>, extra: &str) {
    let mut y = format!(
        "model:\n  provider: mock\n  default: mock-model\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n",
        primary.uri()
    );
    if let Some(f) = fallback {
        y.push_str(&format!(
            "  - name: mock2\n    base_url: {}/v1\n    api_key: {KF}\nfallback_providers:\n  - provider: custom:mock2\n    model: fb-model\n",
            f.uri()
        ));
    }
    y.push_str(extra);
    s.write_home_file("config.yaml", &y);
}

fn entry<'a>(pool: &'a [Value], label: &str) -> &'a Value {
    pool.iter().find(|e| e["label"] == label).unwrap_or_else(|| panic!("no entry {label} in {pool:?}"))
}

async fn requests_with(server: &MockServer, key: &str) -> usize {
    let want = format!("Bearer {key}");
    let reqs: Vec<Request> = server.received_requests().await.unwrap_or_default();
    reqs.iter().filter(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())).count()
}

#[tokio::test]
async fn rate_limited_key_rotates_to_its_sibling_at_once() {
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(error(429, "rate_limit_exceeded", "Rate limit exceeded").insert_header("Retry-After", "120"))
        .expect(1)
        .mount(&server)
        .await;
    with_key(KB).respond_with(reply("hello from B")).expect(1).mount(&server).await;
    let mut s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));

    let o = s.run(&["chat", "-q", "hi", "-v"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "hello from B\n");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(!o.stderr.contains("hermes: sleep"), "no sleep on rotation: {}", o.stderr);
    assert!(o.stderr.contains("decision: rotate"), "{}", o.stderr);
    assert!(!o.stderr.contains(KA) && !o.stderr.contains(KB), "a secret leaked: {}", o.stderr);

    let pool = s.pool("custom:mock");
    let a = entry(&pool, "a");
    assert_eq!(a["last_status"], "exhausted");
    assert_eq!(a["last_error_code"], 429);
    assert_eq!(a["last_error_reason"], "rate_limit_exceeded");
    // Retry-After is honoured and written as the reset time.
    assert_eq!(a["last_error_reset_at"].as_f64(), Some(T0 + 120.0));
    assert_eq!(a["request_count"], 1);
    let b = entry(&pool, "b");
    assert!(b["last_status"].is_null());
    assert_eq!(b["request_count"], 1);

    // Without the test hook the rotation is still immediate: no real sleep either.
    server.reset().await;
    with_key(KB).respond_with(reply("again")).mount(&server).await;
    s.unset("HERMES_TEST_NO_SLEEP");
    let mut c = s.cmd();
    c.env_remove("HERMES_TEST_NO_SLEEP").args(["chat", "-q", "hi"]);
    let started = Instant::now();
    let o = Out::from(c.output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(started.elapsed() < Duration::from_secs(2));
    // A is still cooling (pinned clock): the request went straight to B.
    assert_eq!(requests_with(&server, KA).await, 0);
}

#[tokio::test]
async fn payment_required_benches_for_an_hour_and_rotates() {
    let server = MockServer::start().await;
    with_key(KA).respond_with(error(402, "insufficient_credits", "Out of credit")).expect(1).mount(&server).await;
    with_key(KB).respond_with(reply("from B")).expect(1).mount(&server).await;
    let s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));

    let o = s.run(&["chat", "-q", "hi", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc = o.json();
    assert_eq!(doc["reply"], "from B");
    let attempts = doc["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["label"], "a");
    assert_eq!(attempts[0]["status"], 402);
    assert_eq!(attempts[0]["outcome"], "billing");
    assert_eq!(attempts[0]["decision"], "rotate");
    assert_eq!(attempts[0]["provider"], "custom:mock");
    assert!(attempts[0]["elapsed_ms"].is_u64());
    assert_eq!(attempts[1]["label"], "b");
    assert_eq!(attempts[1]["decision"], "reply");
    assert_eq!(doc["entry"]["label"], "b");

    let a = entry(&s.pool("custom:mock"), "a").clone();
    assert_eq!(a["last_error_code"], 402);
    assert_eq!(a["last_error_reset_at"].as_f64(), Some(T0 + 3600.0));
}

#[tokio::test]
async fn sole_key_rejected_twice_fails_fast() {
    let server = MockServer::start().await;
    with_key(KA).respond_with(error(401, "invalid_api_key", "Invalid API key")).expect(2).mount(&server).await;
    let s = Sealed::new();
    // No fallback: the refusal ends the request, naming the fix.
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("work"));
    let id = s.pool("custom:mock")[0]["id"].as_str().unwrap().to_string();

    let mut c = s.cmd();
    c.env_remove("HERMES_TEST_NO_SLEEP").args(["chat", "-q", "hi"]);
    let started = Instant::now();
    let o = Out::from(c.output().unwrap());
    let elapsed = started.elapsed();
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(
        o.stderr.contains(&format!(
            "error: custom:mock rejected credential \"work\" (sk-m…1111) with 401: the key is invalid or revoked; \
             add a new one with: hermes auth add custom:mock, then remove the old one with: hermes auth remove custom:mock {id}"
        )),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("provider message: Invalid API key"), "{}", o.stderr);
    assert!(!o.stderr.contains(KA));
    assert_eq!(o.stdout, "");
    let e = s.pool("custom:mock")[0].clone();
    assert_eq!(e["last_error_code"], 401);
    // The sole-entry cap: 60 s.
    assert_eq!(e["last_error_reset_at"].as_f64(), Some(T0 + 60.0));
}

/// #14 item 12: with a fallback configured, the same request falls back after the one fresh
/// retry; a second call is not needed.
#[tokio::test]
async fn sole_key_rejected_twice_falls_back_in_the_same_request() {
    for (status, code) in [(401, "invalid_api_key"), (403, "forbidden")] {
        let server = MockServer::start().await;
        with_key(KA).respond_with(error(status, code, "no")).expect(2).mount(&server).await;
        let fallback = MockServer::start().await;
        with_key(KF).respond_with(reply("from the fallback")).expect(1).mount(&fallback).await;
        let s = Sealed::new();
        config(&s, &server, Some(&fallback), "");
        s.add_key("mock", KA, Some("work"));
        let o = s.run(&["chat", "-q", "hi", "--json"]);
        assert_eq!(o.code, 0, "{status}: {}", o.stderr);
        assert_eq!(o.json()["reply"], "from the fallback");
        assert!(
            o.stderr.contains(&format!("primary custom:mock rejected its only credential ({status}), using fallback")),
            "{}",
            o.stderr
        );
        let statuses: Vec<u64> =
            o.json()["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, [status as u64, status as u64, 200]);
        assert_eq!(s.pool("custom:mock")[0]["last_error_code"], status);
    }
}

/// #14 item 11: `chat --json` on failure carries the attempts and the upstream status.
#[tokio::test]
async fn chat_json_failure_has_the_attempts_and_the_status() {
    let server = MockServer::start().await;
    with_key(KA).respond_with(error(400, "invalid_request_error", "messages: field required")).mount(&server).await;
    let s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["chat", "-q", "hi", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let doc = o.json();
    assert_eq!(doc["error"]["kind"], "error");
    assert_eq!(doc["error"]["status"], 400);
    assert!(doc["error"]["message"].as_str().unwrap().contains("rejected the request with 400"), "{doc}");
    let attempts = doc["error"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status"], 400);
    assert_eq!(attempts[0]["label"], "a");
    assert_eq!(attempts[0]["decision"], "fail");
    assert!(!o.stdout.contains(KA));
}

#[tokio::test]
async fn sole_key_forbidden_twice_fails_fast_too() {
    let server = MockServer::start().await;
    with_key(KA).respond_with(error(403, "forbidden", "Key disabled")).expect(2).mount(&server).await;
    let s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("work"));
    let o = s.run(&["chat", "-q", "hi", "-v", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("rejected credential \"work\" (sk-m…1111) with 403"), "{}", o.stderr);
    assert!(!o.stderr.contains("hermes: sleep"), "{}", o.stderr);
    assert_eq!(o.json()["error"]["kind"], "error");
    assert_eq!(s.pool("custom:mock")[0]["last_error_code"], 403);
}

#[tokio::test]
async fn sole_key_rate_limited_goes_to_the_fallback_at_once() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    with_key(KA)
        .respond_with(error(429, "insufficient_quota", "You exceeded your current quota (daily limit)"))
        .expect(1)
        .mount(&primary)
        .await;
    with_key(KF).respond_with(reply("from the fallback")).expect(1).mount(&fallback).await;
    let s = Sealed::new();
    config(&s, &primary, Some(&fallback), "");
    s.add_key("mock", KA, Some("only"));

    let o = s.run(&["chat", "-q", "hi", "-v"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "from the fallback\n");
    assert_eq!(primary.received_requests().await.unwrap().len(), 1, "no second request to the primary");
    assert!(!o.stderr.contains("hermes: sleep"), "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "primary custom:mock unavailable until 2026-07-01T09:01:00Z (429), using fallback custom:mock2/fb-model"
        ),
        "{}",
        o.stderr
    );
    // The fallback was called with its model.
    let body: Value = serde_json::from_slice(&fallback.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["model"], "fb-model");
    assert_eq!(body["messages"][0]["content"], "hi");
    let e = s.pool("custom:mock")[0].clone();
    assert_eq!(e["last_error_code"], 429);
    assert_eq!(e["last_error_reset_at"].as_f64(), Some(T0 + 60.0), "sole cap without a hint");
}

#[tokio::test]
async fn sole_key_short_retry_after_sleeps_and_retries_once() {
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(error(429, "rate_limit_exceeded", "slow down").insert_header("Retry-After", "3"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    with_key(KA).respond_with(reply("after the wait")).expect(1).mount(&server).await;
    let s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("only"));
    let o = s.run(&["chat", "-q", "hi", "-v"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "after the wait\n");
    assert!(o.stderr.contains("sleep 3000 ms before retrying the same entry"), "{}", o.stderr);
    // The success cleared the mark.
    assert!(s.pool("custom:mock")[0]["last_status"].is_null());
}

#[tokio::test]
async fn benched_primary_sends_the_request_to_the_fallback_first() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    with_key(KF).respond_with(reply("fallback reply")).expect(1).mount(&fallback).await;
    let mut s = Sealed::new();
    config(&s, &primary, Some(&fallback), "");
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));
    for label in ["a", "b"] {
        let o = s.run(&["auth", "report", "mock", label, "--status", "429", "--retry-after", "300"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }

    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "fallback reply\n");
    assert_eq!(primary.received_requests().await.unwrap().len(), 0, "no request to the primary");
    assert!(
        o.stderr.contains(
            "primary custom:mock unavailable until 2026-07-01T09:05:00Z (429), using fallback custom:mock2/fb-model"
        ),
        "{}",
        o.stderr
    );
    // The fallback's key came from config.yaml: stored as a fingerprint only.
    let fb = s.pool("custom:mock2");
    assert_eq!(fb.len(), 1);
    assert!(fb[0].get("access_token").is_none());
    assert!(!String::from_utf8(s.auth_bytes().unwrap()).unwrap().contains(KF));

    // Once the primary's cooldown is over, the next request goes back to it.
    with_key(KA).respond_with(reply("primary again")).expect(1).mount(&primary).await;
    s.now = T0 + 301.0;
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "primary again\n");
    assert!(!o.stderr.contains("using fallback"), "{}", o.stderr);
}

#[tokio::test]
async fn nothing_usable_anywhere_exits_4_listing_each_provider() {
    let primary = MockServer::start().await;
    let s = Sealed::new();
    let extra =
        "fallback_providers:\n  - provider: deepseek\n    model: deepseek-chat\n  - provider: mock\n    model: other\n";
    config(&s, &primary, None, extra);
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["auth", "report", "mock", "a", "--status", "402"]);
    assert_eq!(o.code, 0, "{}", o.stderr);

    let o = s.run(&["chat", "-q", "hi", "--json"]);
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert_eq!(primary.received_requests().await.unwrap().len(), 0);
    let err = &o.stderr;
    assert!(err.contains("error: no usable credential"), "{err}");
    assert!(err.contains("custom:mock: 1 cooling"), "{err}");
    assert!(err.contains("\"a\": cooling: billing"), "{err}");
    assert!(err.contains("deepseek: no credentials (add one: hermes auth add deepseek)"), "{err}");
    assert!(err.contains("next usable: custom:mock at 2026-07-01T10:00:00Z (in 1h 0m)"), "{err}");
    assert!(err.contains(
        "primary custom:mock unavailable until 2026-07-01T10:00:00Z (402), using fallback deepseek/deepseek-chat"
    ));
    let doc = o.json();
    assert_eq!(doc["error"]["kind"], "no_usable_credential");
}

#[tokio::test]
async fn server_errors_retry_once_then_fall_back_without_benching() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    with_key(KA).respond_with(ResponseTemplate::new(500).set_body_string("boom")).expect(2).mount(&primary).await;
    with_key(KF).respond_with(reply("fallback after 500s")).expect(1).mount(&fallback).await;
    let s = Sealed::new();
    config(&s, &primary, Some(&fallback), "");
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));
    let o = s.run(&["chat", "-q", "hi", "-v"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "fallback after 500s\n");
    // The same entry twice (a 5xx says nothing about the key), never the sibling.
    assert_eq!(requests_with(&primary, KA).await, 2);
    assert_eq!(requests_with(&primary, KB).await, 0);
    let sleeps: Vec<&str> = o.stderr.lines().filter(|l| l.starts_with("hermes: sleep")).collect();
    assert_eq!(sleeps.len(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("primary custom:mock unavailable (500), using fallback custom:mock2/fb-model"));
    for e in s.pool("custom:mock") {
        assert!(e["last_status"].is_null(), "not benched: {e}");
    }
}

#[tokio::test]
async fn bad_request_fails_without_rotating() {
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(error(400, "invalid_request_error", "messages: field required"))
        .expect(1)
        .mount(&server)
        .await;
    let s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("error: custom:mock/mock-model rejected the request with 400 (invalid_request_error)"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("messages: field required"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    for e in s.pool("custom:mock") {
        assert!(e["last_status"].is_null());
    }
}

#[tokio::test]
async fn transient_failures_everywhere_exit_1() {
    let primary = MockServer::start().await;
    with_key(KA).respond_with(ResponseTemplate::new(503)).expect(2).mount(&primary).await;
    let s = Sealed::new();
    config(&s, &primary, None, "");
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("error: no provider could answer"), "{}", o.stderr);
    assert!(o.stderr.contains("custom:mock/mock-model: failed (503)"), "{}", o.stderr);
}

#[tokio::test]
async fn timeouts_count_as_transient() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    with_key(KA).respond_with(reply("late").set_delay(Duration::from_secs(3))).mount(&primary).await;
    with_key(KF).respond_with(reply("fast fallback")).expect(1).mount(&fallback).await;
    let mut s = Sealed::new();
    s.var("HERMES_CHAT_TIMEOUT_SECONDS", "0.3");
    config(&s, &primary, Some(&fallback), "");
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["chat", "-q", "hi", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc = o.json();
    let outcomes: Vec<&str> =
        doc["attempts"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["timeout", "timeout", "ok"]);
    assert!(s.pool("custom:mock")[0]["last_status"].is_null());
}

#[tokio::test]
async fn anthropic_wire_with_an_api_key_and_an_oauth_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-api03-aaaa1111"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"content": [{"type": "text", "text": "hi from claude"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", "Bearer sk-ant-oat01-bbbb2222"))
        .and(header("anthropic-beta", "oauth-2025-04-20"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"content": [{"type": "text", "text": "hi via oauth"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut s = Sealed::new();
    s.var("ANTHROPIC_BASE_URL", &server.uri());
    s.var("ANTHROPIC_API_KEY", "sk-ant-api03-aaaa1111");
    let o = s.run(&["chat", "-q", "hi", "--provider", "claude", "--model", "claude-sonnet-4"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "hi from claude\n");
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none(), "an API key never goes in Authorization");
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4");
    assert_eq!(body["max_tokens"], 1024);

    let mut s = Sealed::new();
    s.var("ANTHROPIC_BASE_URL", &server.uri());
    s.var("ANTHROPIC_TOKEN", "sk-ant-oat01-bbbb2222");
    let o = s.run(&["chat", "-q", "hi", "--provider", "anthropic", "--model", "claude-sonnet-4"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "hi via oauth\n");
}

#[tokio::test]
async fn fallback_with_its_own_key_is_never_written() {
    let primary = MockServer::start().await;
    let deepseek = MockServer::start().await;
    with_key(KA).respond_with(error(402, "no_credit", "pay up")).mount(&primary).await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(header("authorization", "Bearer sk-own-key-9999"))
        .respond_with(reply("own key"))
        .expect(1)
        .mount(&deepseek)
        .await;
    let s = Sealed::new();
    let extra = format!(
        "fallback_model:\n  provider: deepseek\n  model: deepseek-chat\n  base_url: {}\n  api_key: sk-own-key-9999\n\
         fallback_providers: []\n",
        deepseek.uri()
    );
    config(&s, &primary, None, &extra);
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "own key\n");
    let text = String::from_utf8(s.auth_bytes().unwrap()).unwrap();
    assert!(!text.contains("sk-own-key-9999"));
    assert!(s.auth()["credential_pool"].get("deepseek").is_none());
}

#[tokio::test]
async fn fallback_entries_without_a_model_are_skipped_with_a_warning() {
    let primary = MockServer::start().await;
    with_key(KA).respond_with(error(402, "no_credit", "pay up")).mount(&primary).await;
    let s = Sealed::new();
    config(&s, &primary, None, "fallback_providers:\n  - provider: deepseek\n  - model: x\n");
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stderr.contains("warning: config.yaml fallback_providers[0] has no model; skipped"), "{}", o.stderr);
    assert!(o.stderr.contains("warning: config.yaml fallback_providers[1] has no provider; skipped"), "{}", o.stderr);
}

#[test]
fn codex_is_not_a_chat_target_and_missing_settings_are_usage_errors() {
    let s = Sealed::new();
    let o = s.run(&["chat", "-q", "hi", "--provider", "openai-codex", "--model", "gpt-5"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("openai-codex is not a chat target"), "{}", o.stderr);
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--provider"), "{}", o.stderr);
    let o = s.run(&["chat", "-q", "hi", "--provider", "openrouter", "--json"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.json()["error"]["kind"], "usage");
    let o = s.run(&["chat", "-q", "hi", "--provider", "nosuch", "--model", "m"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!s.home.exists(), "chat created the home");
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_key_never_reaches_another_host() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"content": [{"type": "text", "text": "stolen"}]})),
        )
        .expect(0)
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", format!("{}/v1/messages", elsewhere.uri())))
        .mount(&server)
        .await;
    let mut s = Sealed::new();
    s.var("ANTHROPIC_BASE_URL", &server.uri());
    s.var("ANTHROPIC_API_KEY", "sk-ant-api03-redirected-key-1");
    let o = s.run(&["chat", "-q", "hi", "--provider", "anthropic", "--model", "m"]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(elsewhere.received_requests().await.unwrap().is_empty(), "the request followed the redirect");
}

#[tokio::test]
async fn a_sole_revoked_key_is_dead_and_the_request_falls_back() {
    let primary = MockServer::start().await;
    let fallback = MockServer::start().await;
    with_key(KA).respond_with(error(401, "token_invalidated", "revoked")).expect(1).mount(&primary).await;
    with_key(KF).respond_with(reply("from the fallback")).expect(1).mount(&fallback).await;
    let s = Sealed::new();
    config(&s, &primary, Some(&fallback), "");
    s.add_key("mock", KA, Some("work"));
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "from the fallback\n");
    let e = entry(&s.pool("custom:mock"), "work").clone();
    assert_eq!(e["last_status"], "dead");
    assert_eq!(e["last_error_reason"], "token_invalidated");

    let lone = MockServer::start().await;
    with_key(KB).respond_with(error(401, "token_invalidated", "revoked")).expect(1).mount(&lone).await;
    let s = Sealed::new();
    config(&s, &lone, None, "");
    s.add_key("mock", KB, Some("only"));
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stderr.contains("dead: token_invalidated (401)"), "{}", o.stderr);
}

#[tokio::test]
async fn max_tokens_is_a_flag_with_a_documented_default_and_blank_prompts_are_refused() {
    let server = MockServer::start().await;
    with_key(KA)
        .and(body_partial_json(json!({"max_tokens": 64})))
        .respond_with(reply("short"))
        .expect(1)
        .mount(&server)
        .await;
    with_key(KA)
        .and(body_partial_json(json!({"max_tokens": 1024})))
        .respond_with(reply("default"))
        .expect(1)
        .mount(&server)
        .await;
    let s = Sealed::new();
    config(&s, &server, None, "");
    s.add_key("mock", KA, Some("a"));
    let o = s.run(&["chat", "-q", "hi", "--max-tokens", "64"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "short\n"), "{}", o.stderr);
    let o = s.run(&["chat", "-q", "hi"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "default\n"), "{}", o.stderr);
    assert!(s.run(&["chat", "--help"]).stdout.contains("[default: 1024]"));
    for bad in [vec!["chat", "-q", ""], vec!["chat", "-q", "  "], vec!["chat", "-q", "hi", "--max-tokens", "0"]] {
        let o = s.run(&bad);
        assert_eq!(o.code, 2, "{bad:?}: {}", o.stderr);
    }
    // Refused before any request: only the two above reached the server.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
