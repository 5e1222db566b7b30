//! Single-flight refresh across processes (docs/design.md#oauth-refresh): many processes asking for
//! the same expiring login make exactly one refresh POST and all get the new token; a refresh
//! in flight never holds the store lock, so `list` and `add` in other processes do not wait for
//! it; a process that finds the grant rotated while it waited adopts the new tokens.

use crate::common::*;
use crate::oauth_support::*;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn refresh_mock(server: &MockServer, delay: Duration) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(body_partial_json(json!({"grant_type": "refresh_token", "refresh_token": "rt-old"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600}))
                .set_delay(delay),
        )
        .expect(1)
        .mount(server)
        .await;
}

fn expiring_login(server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    s.var("HERMES_ANTHROPIC_OAUTH_URL", &server.uri());
    s.write_auth(&store(json!({"anthropic": [anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 60.0)]})));
    s
}

#[tokio::test]
async fn sixteen_processes_one_refresh_post() {
    let server = MockServer::start().await;
    refresh_mock(&server, Duration::from_millis(300)).await;
    let s = expiring_login(&server);
    let children: Vec<_> = (0..16).map(|_| spawn(&s, &["auth", "token", "anthropic"])).collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&o.stdout), "at-new\n", "{stderr}");
    }
    assert_eq!(posts(&server, "/v1/oauth/token").await.len(), 1, "exactly one refresh POST");
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["access_token"], "at-new");
    assert_eq!(e["refresh_token"], "rt-new");
    assert_eq!(e["request_count"], 16, "every pick counted");
}

/// Wait until the mock has received a POST (the refresh is in flight).
async fn wait_for_post(server: &MockServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while posts(server, "/v1/oauth/token").await.is_empty() {
        assert!(Instant::now() < deadline, "the refresh never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn refresh_in_flight_does_not_block_list_or_add() {
    let server = MockServer::start().await;
    refresh_mock(&server, Duration::from_secs(2)).await;
    let s = expiring_login(&server);
    let started = Instant::now();
    let token = spawn(&s, &["auth", "token", "anthropic"]);
    wait_for_post(&server).await;
    let t = Instant::now();
    let o = s.run(&["auth", "list", "anthropic"]);
    let list_took = t.elapsed();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let t = Instant::now();
    let o = s.run_stdin(&["auth", "add", "anthropic", "--api-key", "-"], "sk-ant-api03-addedwhilerefreshing");
    let add_took = t.elapsed();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = token.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "at-new\n", "{}", String::from_utf8_lossy(&o.stderr));
    assert!(started.elapsed() >= Duration::from_secs(2), "the POST really was in flight");
    assert!(list_took < Duration::from_secs(1), "list waited {list_took:?}");
    assert!(add_took < Duration::from_secs(1), "add waited {add_took:?}");
    let pool = s.pool("anthropic");
    assert_eq!(pool.len(), 2, "the add and the refresh both landed");
    assert_eq!(pool[0]["refresh_token"], "rt-new");
    assert_eq!(pool[1]["access_token"], "sk-ant-api03-addedwhilerefreshing");
}

#[tokio::test]
async fn a_process_that_finds_the_grant_rotated_adopts_without_posting() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    let s = expiring_login(&server);
    // Hold the grant lock of rt-old, as a refreshing process would.
    let hh = hermes::oauth::refresh::grant_hash(&hermes::secret::Secret::new("rt-old"));
    let lock = hermes::store::lock::refresh_lock_path(&s.home, "anthropic", &hh);
    let guard = hermes::store::lock::lock(&lock, Duration::from_secs(5)).unwrap();
    let child = spawn(&s, &["auth", "token", "anthropic"]);
    // Let the child pick and start waiting for the grant lock, then rotate the tokens "elsewhere".
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.pool("anthropic")[0]["request_count"] != 1 {
        assert!(Instant::now() < deadline, "the child never picked");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut rotated = anthropic_entry("aaa111", "work", "at-rotated", "rt-rotated", T0 + 3600.0);
    rotated["request_count"] = json!(1);
    // Atomically, as any writer of auth.json does: the child may be reading it right now.
    let tmp = s.home.join("auth.json.tmp-test");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&store(json!({"anthropic": [rotated]}))).unwrap()).unwrap();
    std::fs::rename(&tmp, s.auth_path()).unwrap();
    drop(guard);
    let o = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "at-rotated\n", "{}", String::from_utf8_lossy(&o.stderr));
}
