//! Refresh against mock token endpoints on 127.0.0.1 (docs/design.md#oauth-refresh):
//! refresh on pick, rotation written back, terminal errors make the entry dead, transient
//! errors leave it usable until it expires, adoption without a POST, `auth refresh` and
//! `auth status`.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANTHROPIC_CLIENT: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

fn sealed(var: &str, server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    s.var(var, &server.uri());
    s
}

/// One expiring anthropic login (60 s left: inside the 120 s skew), plus `more` entries.
fn expiring_anthropic(s: &Sealed, more: Vec<Value>) {
    let mut pool = vec![anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 60.0)];
    pool.extend(more);
    s.write_auth(&store(json!({"anthropic": pool})));
}

async fn anthropic_refresh_mock(server: &MockServer, resp: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(header("user-agent", concat!("hermes/", env!("CARGO_PKG_VERSION"))))
        .and(body_partial_json(
            json!({"grant_type": "refresh_token", "refresh_token": "rt-old", "client_id": ANTHROPIC_CLIENT}),
        ))
        .respond_with(resp)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn pick_refreshes_an_expiring_login_and_keeps_the_refresh_token() {
    let server = MockServer::start().await;
    anthropic_refresh_mock(&server, ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-new"})), 1)
        .await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    expiring_anthropic(&s, vec![]);
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("needs refresh (automatic)"), "{}", o.stdout);
    let o = s.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "at-new\n");
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["access_token"], "at-new");
    assert_eq!(e["refresh_token"], "rt-old", "no refresh_token in the answer keeps the old one");
    assert_eq!(e["expires_at_ms"], json!((T0 as i64 + 3600) * 1000));
    assert_eq!(e["request_count"], 1);
    // Fresh now: the next pick makes no POST (expect(1) above).
    assert_eq!(s.run(&["auth", "token", "anthropic"]).stdout, "at-new\n");
}

#[tokio::test]
async fn rotated_refresh_token_is_written_back() {
    let server = MockServer::start().await;
    anthropic_refresh_mock(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "at-new", "refresh_token": "rt-new", "expires_in": 1800})),
        1,
    )
    .await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let mut e = anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 60.0);
    e["last_status"] = json!("exhausted");
    e["last_status_at"] = json!(T0 - 100.0);
    e["last_error_code"] = json!(401);
    e["last_error_reset_at"] = json!(T0 - 1.0);
    e["hermes_agent_extra"] = json!({"kept": true});
    s.write_auth(&store(json!({"anthropic": [e]})));
    let o = s.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.stdout, "at-new\n", "{}", o.stderr);
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["refresh_token"], "rt-new");
    assert_eq!(e["expires_at_ms"], json!((T0 as i64 + 1800) * 1000));
    assert!(e["last_status"].is_null(), "a bench from an auth error is lifted by a refresh");
    assert_eq!(e["hermes_agent_extra"], json!({"kept": true}));
    let lock = s
        .home
        .join("locks")
        .read_dir()
        .unwrap()
        .map(|d| d.unwrap().file_name())
        .find(|n| n.to_string_lossy().starts_with("refresh-"))
        .expect("a refresh lock");
    assert!(lock.to_string_lossy().starts_with("refresh-anthropic-"), "{lock:?}");
    assert_eq!(mode(&s.home.join("locks").join(&lock)), 0o600);
}

#[tokio::test]
async fn invalid_grant_marks_dead_and_the_pick_moves_on() {
    let server = MockServer::start().await;
    anthropic_refresh_mock(
        &server,
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": "invalid_grant", "error_description": "Refresh token rt-old revoked"})),
        1,
    )
    .await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let mut key = key_entry("bbb222", "api", "sk-ant-api03-backupkey", 1);
    key["base_url"] = json!("https://api.anthropic.com");
    expiring_anthropic(&s, vec![key]);
    let o = s.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "sk-ant-api03-backupkey\n");
    assert!(o.stderr.contains("is dead (invalid_grant)"), "{}", o.stderr);
    assert!(!o.stderr.contains("rt-old"), "{}", o.stderr);
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["last_status"], "dead");
    assert_eq!(e["last_error_reason"], "invalid_grant");
    assert!(!e["last_error_message"].as_str().unwrap().contains("rt-old"), "the token is masked in the message");
    assert!(e["last_error_reset_at"].is_null());
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("dead: invalid_grant"), "{}", o.stdout);
    // Dead entries are never picked or refreshed again (expect(1)).
    assert_eq!(s.run(&["auth", "token", "anthropic"]).stdout, "sk-ant-api03-backupkey\n");
}

#[tokio::test]
async fn server_error_keeps_the_entry_usable_until_expiry() {
    let server = MockServer::start().await;
    anthropic_refresh_mock(&server, ResponseTemplate::new(500), 2).await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    expiring_anthropic(&s, vec![]);
    let before = s.pool("anthropic")[0].clone();
    let o = s.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "at-old\n", "the current token still serves");
    assert!(o.stderr.contains("could not refresh"), "{}", o.stderr);
    let e = &s.pool("anthropic")[0];
    for k in ["last_status", "last_error_code", "last_error_reason", "last_error_reset_at"] {
        assert_eq!(e[k], before[k], "no mark for a transient failure: {k}");
    }
    // The next pick tries again (expect(2)).
    assert_eq!(s.run(&["auth", "token", "anthropic"]).stdout, "at-old\n");
}

#[tokio::test]
async fn expired_entry_with_a_transient_failure_is_skipped_unmarked() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).expect(2).mount(&server).await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let expired = anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 - 10.0);
    let key = key_entry("bbb222", "api", "sk-ant-api03-backupkey", 1);
    s.write_auth(&store(json!({"anthropic": [expired.clone(), key]})));
    let o = s.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.stdout, "sk-ant-api03-backupkey\n", "{}", o.stderr);
    assert!(s.pool("anthropic")[0]["last_status"].is_null());
    // Alone in its pool, an expired entry that cannot be refreshed leaves nothing usable.
    s.write_auth(&store(json!({"anthropic": [expired]})));
    let o = s.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(s.pool("anthropic")[0]["last_status"].is_null());
}

fn codex_entry(access: &str, refresh: &str) -> Value {
    json!({"id": "ccc333", "label": "dev", "auth_type": "oauth", "priority": 0, "source": "manual:device_code",
        "access_token": access, "refresh_token": refresh, "last_status": null, "last_status_at": null,
        "last_error_code": null, "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null,
        "base_url": "https://chatgpt.com/backend-api/codex", "last_refresh": "2026-07-01T08:00:00Z", "request_count": 0})
}

#[tokio::test]
async fn codex_refresh_rotates_and_429_is_transient() {
    let server = MockServer::start().await;
    let old = jwt(json!({"exp": T0 + 30.0}));
    let new = jwt(json!({"exp": T0 + 3600.0}));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("accept", "application/json"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-c1"))
        .and(body_string_contains("client_id=app_EMoamEEZ73f0CkXaXp7hrann"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": "rate_limited"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": new, "refresh_token": "rt-c2"})))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let s = sealed("HERMES_CODEX_AUTH_URL", &server);
    s.write_auth(&store(json!({"openai-codex": [codex_entry(&old, "rt-c1")]})));
    // As docs/design.md#oauth-refresh has it: a 429 marks nothing; the current token still serves.
    let o = s.run(&["auth", "token", "codex"]);
    assert_eq!(o.stdout.trim(), old, "{}", o.stderr);
    assert!(o.stderr.contains("codex_rate_limited"), "{}", o.stderr);
    assert!(s.pool("openai-codex")[0]["last_status"].is_null());
    let o = s.run(&["auth", "token", "codex"]);
    assert_eq!(o.stdout.trim(), new, "{}", o.stderr);
    let e = &s.pool("openai-codex")[0];
    assert_eq!(e["refresh_token"], "rt-c2");
    assert_eq!(e["last_refresh"], "2026-07-01T09:00:00Z");
}

#[tokio::test]
async fn nous_refresh_sends_the_header_and_updates_agent_key() {
    let server = MockServer::start().await;
    let new = jwt(json!({"scope": "inference:invoke", "exp": T0 + 3600.0}));
    Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .and(header("x-nous-refresh-token", "rt-n1"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("client_id=hermes-cli"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": new, "refresh_token": "rt-n2",
            "expires_in": 3600, "token_type": "Bearer", "scope": "inference:invoke",
            "inference_base_url": "http://127.0.0.1:9/v1"})))
        .expect(1)
        .mount(&server)
        .await;
    let s = sealed("HERMES_NOUS_PORTAL_URL", &server);
    let old = jwt(json!({"scope": "inference:invoke", "exp": T0 + 60.0}));
    let e = json!({"id": "ddd444", "label": "n", "auth_type": "oauth", "priority": 0, "source": "manual:device_code",
        "access_token": old, "refresh_token": "rt-n1", "last_status": null, "last_status_at": null,
        "last_error_code": null, "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null,
        "base_url": "https://inference-api.nousresearch.com/v1", "expires_at": "2026-07-01T09:01:00Z",
        "agent_key": old, "agent_key_expires_at": "2026-07-01T09:01:00Z", "portal_base_url": "https://elsewhere.example",
        "request_count": 0});
    s.write_auth(&store(json!({"nous": [e]})));
    let o = s.run(&["auth", "token", "nous", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = o.json();
    assert_eq!(v["secret"], new.as_str());
    assert_eq!(v["base_url"], "http://127.0.0.1:9/v1", "a loopback http inference URL passes the check");
    let e = &s.pool("nous")[0];
    assert_eq!(e["agent_key"], new.as_str());
    assert_eq!(e["refresh_token"], "rt-n2");
    assert_eq!(e["expires_at"], "2026-07-01T10:00:00Z");
    assert_eq!(e["agent_key_expires_at"], "2026-07-01T10:00:00Z");
    assert_eq!(e["inference_base_url"], "http://127.0.0.1:9/v1");
}

#[tokio::test]
async fn auth_refresh_forces_one_post_and_reports() {
    let server = MockServer::start().await;
    anthropic_refresh_mock(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-new", "refresh_token": "rt-new"})),
        1,
    )
    .await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    // Valid for an hour: a pick would not refresh it, `auth refresh` does.
    let login = anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 3600.0);
    let key = key_entry("bbb222", "api", "sk-ant-api03-backupkey", 1);
    s.write_auth(&store(json!({"anthropic": [login, key]})));
    let o = s.run(&["auth", "refresh", "anthropic"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Refreshed anthropic credential #1 (id aaa111) \"work\"; expires"), "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(s.pool("anthropic")[0]["refresh_token"], "rt-new");
    // An API key is not refreshed; naming it says why, and that is not a failure.
    let o = s.run(&["auth", "refresh", "anthropic", "api"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("Nothing to refresh: anthropic credential #2 (id bbb222) \"api\" is an API key"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("failed"), "{}", o.stderr);
}

#[test]
fn auth_refresh_with_nothing_to_refresh_exits_zero_without_a_false_hint() {
    let s = Sealed::new();
    s.write_auth(&store(json!({
        "openrouter": [key_entry("aaa111", "main", "sk-or-v1-refreshnothing", 0)],
        "anthropic": [key_entry("bbb222", "api", "sk-ant-api03-refreshnothing", 0)],
    })));
    // openrouter has no OAuth at all: no advice to log in with a command that exits 2.
    let o = s.run(&["auth", "refresh", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Nothing to refresh: openrouter takes API keys only"), "{}", o.stderr);
    assert!(!o.stderr.contains("--type oauth"), "{}", o.stderr);
    // anthropic takes logins too: the hint to log in is true there.
    let o = s.run(&["auth", "refresh", "anthropic"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Nothing to refresh: no OAuth login in anthropic"), "{}", o.stderr);
    assert!(o.stderr.contains("hermes auth add anthropic --type oauth"), "{}", o.stderr);
    let o = s.run(&["auth", "refresh", "anthropic", "1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("refreshes failed"), "{}", o.stderr);
}

#[tokio::test]
async fn auth_refresh_reports_terminal_and_transient_failures() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "refresh_token_reused"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(502)).with_priority(2).mount(&server).await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let a = anthropic_entry("aaa111", "one", "at-1", "rt-1", T0 + 3600.0);
    let mut b = anthropic_entry("bbb222", "two", "at-2", "rt-2", T0 + 3600.0);
    b["priority"] = json!(1);
    s.write_auth(&store(json!({"anthropic": [a, b]})));
    let o = s.run(&["auth", "refresh", "anthropic"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("#1 (id aaa111) \"one\" is dead (refresh_token_reused)"), "{}", o.stderr);
    assert!(o
        .stderr
        .contains("could not refresh anthropic credential #2 (id bbb222) \"two\": anthropic refresh: HTTP 502"));
    assert!(o.stderr.contains("error: 2 of 2 refreshes failed"), "{}", o.stderr);
    let pool = s.pool("anthropic");
    assert_eq!(pool[0]["last_status"], "dead");
    assert!(pool[1]["last_status"].is_null());
}

#[tokio::test]
async fn status_shows_expiry_refresh_due_and_dead_reason() {
    let s = Sealed::new();
    let soon = anthropic_entry("aaa111", "soon", "at-1", "rt-1", T0 + 60.0);
    let mut later = anthropic_entry("bbb222", "later", "at-2", "rt-2", T0 + 3600.0);
    later["priority"] = json!(1);
    later["last_refresh"] = json!("2026-07-01T08:00:00Z");
    let mut dead = anthropic_entry("ccc333", "gone", "at-3", "rt-3", T0 + 3600.0);
    dead["priority"] = json!(2);
    dead["last_status"] = json!("dead");
    dead["last_error_reason"] = json!("invalid_grant");
    let mut agent = anthropic_entry("ddd444", "agent", "at-4", "rt-4", T0 + 30.0);
    agent["priority"] = json!(3);
    agent["source"] = json!("hermes_pkce");
    s.write_auth(&store(json!({"anthropic": [soon, later, dead, agent]})));
    let before = s.auth_bytes();
    let v = s.run(&["auth", "status", "anthropic", "--json"]).json();
    let e = &v["entries"];
    assert_eq!(v["provider"], "anthropic");
    assert_eq!(e[0]["expires_at"], "2026-07-01T09:01:00Z");
    assert_eq!(e[0]["seconds_left"], 60);
    assert_eq!(e[0]["refresh_due"], true);
    assert_eq!(e[0]["refreshable"], true);
    assert_eq!(e[1]["refresh_due"], false);
    assert_eq!(e[1]["last_refresh"], "2026-07-01T08:00:00Z");
    assert_eq!(e[2]["dead_reason"], "invalid_grant");
    assert_eq!(e[2]["status"], "dead");
    assert_eq!(e[3]["read_only"], true);
    assert_eq!(e[3]["refresh_due"], true);
    assert_eq!(e[3]["refreshable"], false);
    let o = s.run(&["auth", "status", "anthropic"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("anthropic (4 credentials)"), "{}", o.stdout);
    assert!(
        lines[2].contains("2026-07-01T09:01:00Z (in 1m 0s)") && lines[2].contains("due (automatic)"),
        "{}",
        o.stdout
    );
    assert!(lines[3].contains("in 58m 0s (automatic)"), "{}", o.stdout);
    assert!(lines[4].contains("dead: invalid_grant"), "{}", o.stdout);
    assert!(
        lines[5].contains("hermes_pkce (read-only)")
            && lines[5]
                .contains("due: run hermes-agent, or take it over: hermes auth add anthropic --import hermes-agent"),
        "{}",
        o.stdout
    );
    assert_eq!(s.auth_bytes(), before, "status never writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_entry_adopts_a_valid_token_unless_forced() {
    use hermes::oauth::{refresh_entry, RefreshResult};
    let server = MockServer::start().await;
    anthropic_refresh_mock(&server, ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-new"})), 1)
        .await;
    let s = sealed("HERMES_ANTHROPIC_OAUTH_URL", &server);
    s.write_auth(&store(json!({"anthropic": [anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 3600.0)]})));
    let (ctx, _clock, _sleeper) = s.context();
    let home = hermes::home::Home::open(ctx).unwrap();
    let pool = home.pool("anthropic").unwrap();
    // valid beyond the skew, unforced → adopted, no POST.
    match refresh_entry(&home, &pool, "aaa111", false).await.unwrap() {
        RefreshResult::Adopted(f) => assert_eq!(f.secret.expose(), "at-old"),
        other => panic!("{other:?}"),
    }
    // Forced (the runtime's 401 handler, `auth refresh`) → one POST.
    match refresh_entry(&home, &pool, "aaa111", true).await.unwrap() {
        RefreshResult::Refreshed(f) => {
            assert_eq!(f.secret.expose(), "at-new");
            assert_eq!(f.expires_at, Some(T0 + 3600.0));
        }
        other => panic!("{other:?}"),
    }
    assert!(refresh_entry(&home, &pool, "nosuch", false).await.is_err());
}
