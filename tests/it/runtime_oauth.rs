//! The runtime with hermes's own OAuth entries: a 401 gets one forced refresh and one retry
//!; a 401 that persists benches the entry for 5 min and rotates; an
//! entry inside the refresh skew is refreshed before the request is sent.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OLD: &str = "sk-ant-oat01-old-access-0001";
const NEW: &str = "sk-ant-oat01-new-access-0002";
const R1: &str = "sk-ant-ort01-refresh-one-0001";
const R2: &str = "sk-ant-ort01-refresh-two-0002";
const KEY: &str = "sk-ant-api03-sibling-key-03";

fn oauth_entry(expires_in: f64) -> Value {
    json!({"id": "aaaaaa", "label": "max", "auth_type": "oauth", "priority": 0, "source": "manual:hermes_pkce",
           "access_token": OLD, "refresh_token": R1, "last_status": null, "last_status_at": null,
           "last_error_code": null, "last_error_reason": null, "last_error_message": null,
           "last_error_reset_at": null, "expires_at_ms": ((T0 + expires_in) * 1000.0) as i64, "request_count": 0})
}

fn ok(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"content": [{"type": "text", "text": text}]}))
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .set_body_json(json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid token"}}))
}

async fn token_endpoint(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": NEW, "refresh_token": R2, "expires_in": 3600})),
        )
        .expect(1)
        .mount(server)
        .await;
}

fn sealed(server: &MockServer, entries: Vec<Value>) -> Sealed {
    let mut s = Sealed::new();
    s.var("ANTHROPIC_BASE_URL", &server.uri());
    s.var("HERMES_ANTHROPIC_OAUTH_URL", &server.uri());
    s.write_auth(&json!({"version": 1, "credential_pool": {"anthropic": entries}}));
    s
}

fn chat(s: &Sealed) -> Out {
    s.run(&["-v", "chat", "-q", "hi", "--provider", "anthropic", "--model", "claude-sonnet-4"])
}

#[tokio::test]
async fn a_401_gets_one_refresh_and_one_retry() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {OLD}")))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {NEW}")))
        .respond_with(ok("refreshed reply"))
        .expect(1)
        .mount(&server)
        .await;
    let s = sealed(&server, vec![oauth_entry(3600.0)]);
    let o = chat(&s);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "refreshed reply\n");
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["access_token"], NEW);
    assert_eq!(e["refresh_token"], R2, "the rotated refresh token is written back");
    assert!(e["last_status"].is_null(), "a successful refresh marks nothing: {e}");
    for secret in [OLD, NEW, R1, R2] {
        assert!(!o.stderr.contains(secret), "-v trail leaked a token");
    }
}

#[tokio::test]
async fn a_401_that_persists_benches_for_five_minutes_and_rotates() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {OLD}")))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {NEW}")))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .respond_with(ok("sibling reply"))
        .expect(1)
        .mount(&server)
        .await;
    let sibling = json!({"id": "bbbbbb", "label": "key", "auth_type": "api_key", "priority": 1, "source": "manual",
                         "access_token": KEY, "last_status": null, "request_count": 0});
    let s = sealed(&server, vec![oauth_entry(3600.0), sibling]);
    let o = chat(&s);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "sibling reply\n");
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["last_status"], "exhausted");
    assert_eq!(e["last_error_code"], 401);
    assert_eq!(e["last_error_reset_at"].as_f64().unwrap(), T0 + 300.0);
}

#[tokio::test]
async fn an_expiring_entry_is_refreshed_before_the_request() {
    let server = MockServer::start().await;
    token_endpoint(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {NEW}")))
        .respond_with(ok("fresh"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {OLD}")))
        .respond_with(ok("stale"))
        .expect(0)
        .mount(&server)
        .await;
    let s = sealed(&server, vec![oauth_entry(60.0)]);
    let o = chat(&s);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "fresh\n");
    assert_eq!(s.pool("anthropic")[0]["access_token"], NEW);
}
