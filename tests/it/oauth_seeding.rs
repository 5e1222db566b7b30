//! OAuth state another tool wrote (docs/design.md#owned-and-borrowed, docs/design.md#seeding): hermes-agent's
//! `providers` section and Claude Code's credentials file are used read-only and never
//! refreshed; `--import claude-code|hermes-agent` copies them into owned entries that hermes
//! then refreshes.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that fails the test if anything is POSTed to it.
async fn no_posts() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    server
}

fn with_all_urls(server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    for v in ["HERMES_ANTHROPIC_OAUTH_URL", "HERMES_CODEX_AUTH_URL", "HERMES_NOUS_PORTAL_URL"] {
        s.var(v, &server.uri());
    }
    s
}

fn claude_file(s: &Sealed, expires_at: f64) -> std::path::PathBuf {
    let dir = s.user_home.join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(".credentials.json");
    let body = json!({"claudeAiOauth": {"accessToken": "sk-ant-oat01-claude-code-access", "refreshToken": "rt-claude",
        "expiresAt": (expires_at * 1000.0) as i64, "scopes": ["user:inference"], "subscriptionType": "max"}});
    std::fs::write(&p, body.to_string()).unwrap();
    p
}

fn hermes_agent_store() -> Value {
    let nous_access = jwt(json!({"email": "agent@nous.example", "scope": "inference:invoke", "exp": T0 + 60.0}));
    let codex_access = jwt(json!({"exp": T0 + 30.0}));
    json!({
        "version": 1,
        "active_provider": "nous",
        "providers": {
            "nous": {"portal_base_url": "https://portal.nousresearch.com",
                "inference_base_url": "https://inference-api.nousresearch.com/v1", "client_id": "hermes-cli",
                "scope": "inference:invoke", "token_type": "Bearer", "access_token": nous_access,
                "refresh_token": "rt-agent-nous", "obtained_at": "2026-07-01T08:01:00Z",
                "expires_at": "2026-07-01T09:01:00Z", "expires_in": 3600, "tls": {"insecure": false, "ca_bundle": null},
                "agent_key": nous_access, "agent_key_expires_at": "2026-07-01T09:01:00Z", "agent_key_id": "k1"},
            "openai-codex": {"tokens": {"access_token": codex_access, "refresh_token": "rt-agent-codex",
                "id_token": jwt(json!({"email": "agent@openai.example"}))},
                "last_refresh": "2026-07-01T08:00:00Z", "auth_mode": "chatgpt"},
            "xai-oauth": {"whatever": 1}
        },
        "credential_pool": {}
    })
}

#[tokio::test]
async fn hermes_agent_providers_seed_read_only_rows_that_are_never_refreshed() {
    let server = no_posts().await;
    let s = with_all_urls(&server);
    s.write_auth(&hermes_agent_store());
    let before = s.auth()["providers"].clone();
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("device_code (read-only)"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("needs refresh: run hermes-agent, or take it over: hermes auth add nous --import hermes-agent"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(
            "needs refresh: run hermes-agent, or take it over: hermes auth add openai-codex --import hermes-agent"
        ),
        "{}",
        o.stdout
    );
    // Both expire within the 60 s read-only margin: neither is selectable, and nothing is
    // refreshed (expect(0)).
    assert_eq!(s.run(&["auth", "token", "nous"]).code, 4);
    assert_eq!(s.run(&["auth", "token", "openai-codex"]).code, 4);
    let o = s.run(&["auth", "refresh", "nous"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("read-only") && o.stderr.contains("--import claude-code|hermes-agent"), "{}", o.stderr);
    let o = s.run(&["auth", "refresh", "nous", "1"]);
    assert!(o.stderr.contains("its tokens belong to another tool (source device_code)"), "{}", o.stderr);
    assert!(o.stderr.contains("--import hermes-agent"), "{}", o.stderr);
    assert_eq!(s.auth()["providers"], before, "providers.* is never written");
}

#[tokio::test]
async fn hermes_agent_tokens_are_used_while_valid() {
    let server = no_posts().await;
    let s = with_all_urls(&server);
    let mut doc = hermes_agent_store();
    let fresh = jwt(json!({"email": "agent@nous.example", "scope": "inference:invoke", "exp": T0 + 3600.0}));
    doc["providers"]["nous"]["access_token"] = json!(fresh);
    doc["providers"]["nous"]["expires_at"] = json!("2026-07-01T10:00:00Z");
    s.write_auth(&doc);
    let o = s.run(&["auth", "token", "nous"]);
    assert_eq!(o.stdout.trim(), fresh, "{}", o.stderr);
    let row = &s.pool("nous")[0];
    assert_eq!(row["source"], "device_code");
    assert_eq!(row["label"], "agent@nous.example");
    assert_eq!(row["portal_base_url"], "https://portal.nousresearch.com");
}

#[tokio::test]
async fn claude_code_file_is_read_only_and_never_written() {
    let server = no_posts().await;
    let s = with_all_urls(&server);
    let file = claude_file(&s, T0 + 30.0);
    let before = std::fs::read(&file).unwrap();
    s.write_auth(&json!({"version": 1, "active_provider": "anthropic", "providers": {}, "credential_pool": {}}));
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("claude_code (read-only)"), "{}", o.stdout);
    assert!(o
        .stdout
        .contains("needs refresh: run Claude Code, or: hermes auth add anthropic --type oauth --import claude-code"));
    assert_eq!(s.run(&["auth", "token", "anthropic"]).code, 4, "never picked, never refreshed");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[tokio::test]
async fn import_claude_code_owns_the_tokens_and_refreshes_them() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(body_partial_json(json!({"grant_type": "refresh_token", "refresh_token": "rt-claude"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "at-hermes", "refresh_token": "rt-hermes"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = with_all_urls(&server);
    let file = claude_file(&s, T0 + 30.0);
    let before = std::fs::read(&file).unwrap();
    s.write_auth(&json!({"version": 1, "active_provider": "anthropic", "providers": {}, "credential_pool": {}}));
    // Store the borrowed row first (a mark materialises the pool), so the import must replace it.
    assert_eq!(s.run(&["auth", "report", "anthropic", "claude_code", "--status", "429"]).code, 0);
    assert_eq!(s.pool("anthropic")[0]["source"], "claude_code");
    let o = s.run(&["auth", "add", "anthropic", "--import", "claude-code"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "warning: hermes now owns this refresh token; Claude Code will need /login after hermes refreshes it"
        ),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("Added anthropic OAuth credential #1"), "{}", o.stderr);
    assert!(!o.stderr.contains("re-enabled claude_code"));
    let a = s.auth();
    assert_eq!(a["suppressed_sources"]["anthropic"], json!(["claude_code"]));
    let pool = s.pool("anthropic");
    assert_eq!(pool.len(), 1, "one entry for the grant: {pool:?}");
    let e = &pool[0];
    assert_eq!(e["source"], "manual:claude_code_import");
    assert_eq!(e["access_token"], "sk-ant-oat01-claude-code-access");
    assert_eq!(e["refresh_token"], "rt-claude");
    assert_eq!(e["expires_at_ms"], json!((T0 as i64 + 30) * 1000));
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("manual:claude_code_import") && !o.stdout.contains("read-only"), "{}", o.stdout);
    // Now hermes refreshes it on pick; Claude Code's file is still never written.
    assert_eq!(s.run(&["auth", "token", "anthropic"]).stdout, "at-hermes\n");
    assert_eq!(s.pool("anthropic")[0]["refresh_token"], "rt-hermes");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // Importing again without a Claude Code login says so.
    std::fs::remove_file(&file).unwrap();
    let o = s.run(&["auth", "add", "anthropic", "--import", "claude-code"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no Claude Code login found"), "{}", o.stderr);
}

#[tokio::test]
async fn import_hermes_agent_nous_and_codex() {
    let server = no_posts().await;
    let s = with_all_urls(&server);
    s.write_auth(&hermes_agent_store());
    let providers_before = s.auth()["providers"].clone();
    let o = s.run(&["auth", "add", "nous", "--import", "hermes-agent"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("hermes-agent will need to log in again"), "{}", o.stderr);
    let pool = s.pool("nous");
    assert_eq!(pool.len(), 1, "{pool:?}");
    let e = &pool[0];
    assert_eq!(e["source"], "manual:device_code");
    assert_eq!(e["label"], "agent@nous.example");
    assert_eq!(e["refresh_token"], "rt-agent-nous");
    assert_eq!(e["agent_key"], e["access_token"]);
    assert_eq!(e["portal_base_url"], "https://portal.nousresearch.com");
    assert_eq!(e["expires_at"], "2026-07-01T09:01:00Z");
    assert_eq!(e["tls"], json!({"insecure": false, "ca_bundle": null}));
    assert_eq!(s.auth()["suppressed_sources"]["nous"], json!(["device_code"]));

    let o = s.run(&["auth", "add", "codex", "--import", "hermes-agent", "--label", "agent-codex"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let e = &s.pool("openai-codex")[0];
    assert_eq!(e["source"], "manual:device_code");
    assert_eq!(e["label"], "agent-codex");
    assert_eq!(e["refresh_token"], "rt-agent-codex");
    assert_eq!(e["last_refresh"], "2026-07-01T08:00:00Z");
    assert_eq!(e["base_url"], "https://chatgpt.com/backend-api/codex");
    let a = s.auth();
    assert_eq!(a["providers"], providers_before, "imports never write providers.*");
    assert_eq!(a["active_provider"], "nous");
    let o = s.run(&["auth", "status", "nous", "--json"]);
    assert_eq!(o.json()["entries"][0]["refreshable"], true);
    // Importing the same login again updates the entry instead of adding one.
    let o = s.run(&["auth", "add", "nous", "--import", "hermes-agent"]);
    assert!(o.stderr.contains("Updated nous OAuth credential #1"), "{}", o.stderr);
    assert_eq!(s.pool("nous").len(), 1);
}

#[tokio::test]
async fn import_hermes_agent_anthropic_pkce_row() {
    let server = no_posts().await;
    let s = with_all_urls(&server);
    let mut row = anthropic_entry("abc123", "hermes_pkce", "sk-ant-oat01-agent-access", "rt-agent-a", T0 + 3600.0);
    row["source"] = json!("hermes_pkce");
    s.write_auth(&store(json!({"anthropic": [row]})));
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("hermes_pkce (read-only)"), "{}", o.stdout);
    let o = s.run(&["auth", "add", "anthropic", "--type", "oauth", "--import", "hermes-agent"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let pool = s.pool("anthropic");
    assert_eq!(pool.len(), 1, "{pool:?}");
    assert_eq!(pool[0]["source"], "manual:hermes_pkce");
    assert_eq!(pool[0]["refresh_token"], "rt-agent-a");
    assert_eq!(pool[0]["label"], "anthropic-oauth-1");
    assert_eq!(s.auth()["suppressed_sources"]["anthropic"], json!(["hermes_pkce"]));
}

#[test]
fn import_usage_errors() {
    let s = Sealed::new();
    let o = s.run(&["auth", "add", "nous", "--import", "claude-code"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--import claude-code is for anthropic"), "{}", o.stderr);
    let o = s.run(&["auth", "add", "nous", "--import", "hermes-agent"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("hermes-agent has no nous login in auth.json (providers.nous)"), "{}", o.stderr);
    let o = s.run(&["auth", "add", "openrouter", "--import", "hermes-agent"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(!s.home.exists());
}
