//! A refresh whose write-back meets a busy store tries again while it still holds the grant
//! lock: the provider already rotated the refresh token, so dropping the new tokens would leave a
//! spent token in the entry and lose the login on its next use.

use crate::common::*;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn write_back_retries_a_busy_store() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "sk-ant-oat01-new-0002", "refresh_token": "rt-new-0002", "expires_in": 3600}))
                .set_delay(Duration::from_millis(800)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut s = Sealed::new();
    s.var("HERMES_ANTHROPIC_OAUTH_URL", &server.uri());
    s.var("HERMES_TEST_LOCK_TIMEOUT", "1");
    s.write_auth(&json!({"version": 1, "credential_pool": {"anthropic": [
        {"id": "aaaaaa", "label": "max", "auth_type": "oauth", "priority": 0, "source": "manual:hermes_pkce",
         "access_token": "sk-ant-oat01-old-0001", "refresh_token": "rt-old-0001", "last_status": null,
         "expires_at_ms": ((T0 + 60.0) * 1000.0) as i64}]}}));
    let child = s
        .process()
        .args(["auth", "refresh", "anthropic"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // While the POST is in flight, another process holds the store for longer than one lock wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lock = hermes::store::lock::LockFile::open(s.home.join("auth.lock")).unwrap();
    let guard = lock.acquire(Duration::from_secs(5), Duration::from_millis(5)).unwrap();
    tokio::time::sleep(Duration::from_millis(1700)).await;
    drop(guard);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["refresh_token"], "rt-new-0002", "the rotated refresh token was saved");
    assert_eq!(e["access_token"], "sk-ant-oat01-new-0002");
}
