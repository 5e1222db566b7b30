//! Headroom (docs/recovery.md#headroom): a loopback stand-in that gives each key a quota of
//! requests per minute and announces what is left on every answer, as OpenAI does. With the
//! headroom bench an entry is benched when it has nothing left, so the stand-in never has to say
//! 429; without it (`headroom_bench: false`) the 429s of a refusal-driven pool come back.

use crate::common::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Keys and their quotas; what each has served and how many 429s were answered.
struct Quota {
    limits: HashMap<String, u32>,
    used: Mutex<HashMap<String, u32>>,
    refused: AtomicUsize,
}

impl wiremock::Respond for Quota {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("")
            .to_string();
        let Some(&limit) = self.limits.get(&key) else { return ResponseTemplate::new(401) };
        let mut used = self.used.lock().unwrap();
        let n = used.entry(key).or_insert(0);
        if *n >= limit {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .set_body_json(json!({"error": {"code": "rate_limit_exceeded", "message": "quota"}}));
        }
        *n += 1;
        ResponseTemplate::new(200)
            .insert_header("x-ratelimit-limit-requests", limit.to_string().as_str())
            .insert_header("x-ratelimit-remaining-requests", (limit - *n).to_string().as_str())
            .insert_header("x-ratelimit-reset-requests", "60s")
            .set_body_json(json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}]}))
    }
}

fn key(i: usize) -> String {
    format!("sk-quota-key-{i}-0000000000")
}

async fn stand_in(limits: &[u32]) -> (MockServer, Arc<Quota>) {
    let server = MockServer::start().await;
    let quota = Arc::new(Quota {
        limits: limits.iter().enumerate().map(|(i, l)| (key(i), *l)).collect(),
        used: Mutex::new(HashMap::new()),
        refused: AtomicUsize::new(0),
    });
    Mock::given(wiremock::matchers::method("POST")).respond_with(QuotaRef(quota.clone())).mount(&server).await;
    (server, quota)
}

/// `n` one-shot chats, each of which must succeed.
fn chats(s: &Sealed, n: usize) {
    for i in 0..n {
        let o = s.run(&["chat", "-q", "hi"]);
        assert_eq!(o.code, 0, "request {i}: {}", o.stderr);
    }
}

struct QuotaRef(Arc<Quota>);

impl wiremock::Respond for QuotaRef {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.respond(req)
    }
}

fn quota_home(server: &MockServer, n: usize, extra: &str) -> Sealed {
    let s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        &format!(
            "model:\n  provider: custom:mock\n  default: m1\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n{extra}",
            server.uri()
        ),
    );
    for i in 0..n {
        s.add_key("mock", &key(i), Some(&format!("k{i}")));
    }
    s
}

fn served(q: &Quota) -> Vec<u32> {
    let used = q.used.lock().unwrap();
    (0..q.limits.len()).map(|i| used.get(&key(i)).copied().unwrap_or(0)).collect()
}

#[tokio::test]
async fn fifteen_chats_on_three_keys_of_five_never_meet_a_429() {
    let (server, quota) = stand_in(&[5, 5, 5]).await;
    let s = quota_home(&server, 3, "");
    chats(&s, 15);
    assert_eq!(quota.refused.load(Ordering::SeqCst), 0, "no 429 at all");
    assert_eq!(served(&quota), [5, 5, 5]);
    // The benched entries show why, with the announced reset as the deadline.
    let list = s.run(&["auth", "list", "custom:mock", "--json"]).json();
    let e = &list["providers"][0]["entries"][0];
    assert_eq!(e["status"], "cooling", "{e}");
    assert_eq!(e["class"], "quota", "{e}");
    assert_eq!(e["seconds_left"], 60, "{e}");
    let text = s.run(&["auth", "list", "custom:mock"]).stdout;
    assert!(text.contains("cooling: quota"), "{text}");
    // The history has the three headroom benches, each naming the request that caused it.
    let h = s.run(&["auth", "history", "custom:mock", "--json"]).json();
    let benches: Vec<&serde_json::Value> =
        h["events"].as_array().unwrap().iter().filter(|e| e["event"] == "headroom_bench").collect();
    assert_eq!(benches.len(), 3, "{h}");
    assert!(benches.iter().all(|e| e["request"].as_str().is_some_and(|r| r.len() == 8)), "{h}");
}

#[tokio::test]
async fn without_the_headroom_bench_the_429s_come_back() {
    let (server, quota) = stand_in(&[5, 5, 5]).await;
    let s = quota_home(&server, 3, "headroom_bench: false\n");
    for _ in 0..15 {
        let _ = s.run(&["chat", "-q", "hi"]);
    }
    let refused = quota.refused.load(Ordering::SeqCst);
    eprintln!("headroom_bench: false: {refused} answers were 429 in 15 chats");
    assert!(refused >= 2, "each exhausted key is refused once before it is benched: {refused}");
}

#[tokio::test]
async fn the_gateway_meets_no_429_either() {
    let (server, quota) = stand_in(&[5, 5, 5]).await;
    let mut s = quota_home(&server, 3, "");
    s.var("HERMES_SERVE_KEY", "hsk-headroom-client-0001");
    let g = crate::serve::Gateway::start(&s);
    let c = reqwest::Client::new();
    for i in 0..15 {
        let r = c
            .post(format!("{}/v1/chat/completions", g.base))
            .bearer_auth("hsk-headroom-client-0001")
            .json(&json!({"model": "custom:mock:m1", "messages": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "request {i}");
    }
    let (code, lines) = g.stop();
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(quota.refused.load(Ordering::SeqCst), 0, "no 429 at all");
    assert_eq!(served(&quota), [5, 5, 5]);
}

#[tokio::test]
async fn the_headroom_strategy_spreads_load_by_what_is_left() {
    // k2 announces half the quota of the others.
    let (server, quota) = stand_in(&[20, 20, 10]).await;
    let s = quota_home(&server, 3, "credential_pool_strategies:\n  custom:mock: headroom\n");
    chats(&s, 25);
    let got = served(&quota);
    assert_eq!(got.iter().sum::<u32>(), 25);
    assert_eq!(quota.refused.load(Ordering::SeqCst), 0);
    // Each key is used while its announced fraction is the largest: about 10/10/5.
    assert!(got[2] * 2 <= got[0] + 1 && got[2] * 2 <= got[1] + 1, "proportional to the quotas: {got:?}");
    assert!(got[2] >= 3, "the small key is still used: {got:?}");
    let explain = s.run(&["auth", "explain", "custom:mock"]).stdout;
    assert!(explain.contains("headroom") && explain.contains("requests left"), "{explain}");
}

#[tokio::test]
async fn a_key_with_fewer_tokens_left_than_the_request_needs_is_passed_over() {
    let server = MockServer::start().await;
    let ok = |tokens_left: &str| {
        ResponseTemplate::new(200)
            .insert_header("x-ratelimit-limit-tokens", "100000")
            .insert_header("x-ratelimit-remaining-tokens", tokens_left)
            .insert_header("x-ratelimit-reset-tokens", "60s")
            .set_body_json(json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}]}))
    };
    Mock::given(wiremock::matchers::header("authorization", format!("Bearer {}", key(0)).as_str()))
        .respond_with(ok("300"))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::header("authorization", format!("Bearer {}", key(1)).as_str()))
        .respond_with(ok("90000"))
        .mount(&server)
        .await;
    let s = quota_home(&server, 2, "");
    // The first answer says key 0 has 300 tokens left; a request for up to 1024 goes to key 1.
    for _ in 0..2 {
        assert_eq!(s.run(&["chat", "-q", "hi"]).code, 0);
    }
    // A small one still fits key 0.
    assert_eq!(s.run(&["chat", "-q", "hi", "--max-tokens", "100"]).code, 0);
    let keys: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers.get("authorization").unwrap().to_str().unwrap().trim_start_matches("Bearer ").to_string())
        .collect();
    assert_eq!(keys, [key(0), key(1), key(0)]);
}

#[tokio::test]
async fn when_no_key_has_the_tokens_the_request_still_goes_out() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit-tokens", "8000")
                .insert_header("x-ratelimit-remaining-tokens", "300")
                .insert_header("x-ratelimit-reset-tokens", "60s")
                .set_body_json(json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}]})),
        )
        .mount(&server)
        .await;
    let s = quota_home(&server, 1, "");
    // The estimate is a preference: with no key that can take it, the provider decides.
    chats(&s, 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
