//! OAuth logins end to end against mock endpoints on 127.0.0.1: Anthropic PKCE (pasted code and local callback), Codex and Nous device codes (pending,
//! slow_down, expiry, denial), and a second login to the same account.

use crate::common::*;
use crate::oauth_support::*;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANTHROPIC_CLIENT: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

fn sealed_with(var: &str, server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    s.var(var, &server.uri()).var("BROWSER", "true");
    s
}

async fn anthropic_exchange_mock(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .and(header("user-agent", concat!("hermes/", env!("CARGO_PKG_VERSION"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn anthropic_pasted_code_exchange_stores_hermes_pkce() {
    let server = MockServer::start().await;
    anthropic_exchange_mock(&server, json!({"access_token": "sk-ant-oat01-new-access", "refresh_token": "rt-a1"}))
        .await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let mut run = Running::start(&s, &["auth", "add", "anthropic", "--type", "oauth", "--no-browser", "--code-stdin"]);
    let line = run.wait_line("https://claude.ai/oauth/authorize?");
    let url = word_starting(&line, "https://claude.ai/oauth/authorize?");
    // every parameter of the authorize URL.
    assert_eq!(query(&url, "code"), "true");
    assert_eq!(query(&url, "client_id"), ANTHROPIC_CLIENT);
    assert_eq!(query(&url, "response_type"), "code");
    assert_eq!(query(&url, "redirect_uri"), "https://console.anthropic.com/oauth/code/callback");
    assert_eq!(query(&url, "scope"), "org:create_api_key user:profile user:inference");
    assert_eq!(query(&url, "code_challenge_method"), "S256");
    let (challenge, state) = (query(&url, "code_challenge"), query(&url, "state"));
    assert_eq!(state.len(), 43);
    run.send_stdin(&format!("the-code#{state}\n"));
    let o = run.finish();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Added anthropic OAuth credential #1 (id "), "{}", o.stderr);
    assert!(!o.stderr.contains("sk-ant-oat01-new-access") && !o.stderr.contains("rt-a1"));

    // the six JSON fields, and a verifier that hashes to the challenge.
    let reqs = posts(&server, "/v1/oauth/token").await;
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["client_id"], ANTHROPIC_CLIENT);
    assert_eq!(body["code"], "the-code");
    assert_eq!(body["state"], state.as_str());
    assert_eq!(body["redirect_uri"], "https://console.anthropic.com/oauth/code/callback");
    let verifier = body["code_verifier"].as_str().unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    assert_eq!(b64.encode(Sha256::digest(verifier.as_bytes())), challenge);
    assert_eq!(body.as_object().unwrap().len(), 6);

    let a = s.auth();
    let e = &a["credential_pool"]["anthropic"][0];
    assert_eq!(e["source"], "manual:hermes_pkce");
    assert_eq!(e["auth_type"], "oauth");
    assert_eq!(e["label"], "anthropic-oauth-1");
    assert_eq!(e["access_token"], "sk-ant-oat01-new-access");
    assert_eq!(e["refresh_token"], "rt-a1");
    assert_eq!(e["expires_at_ms"], json!((T0 as i64 + 3600) * 1000), "expires_in absent means 3600");
    assert_eq!(a["active_provider"], "anthropic");
    assert!(a["providers"].as_object().unwrap().is_empty(), "a login never writes providers.*");
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("manual:hermes_pkce") && !o.stdout.contains("(read-only)"), "{}", o.stdout);
}

#[tokio::test]
async fn anthropic_wrong_state_aborts_and_writes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let o = s.run_stdin(
        &["auth", "add", "anthropic", "--type", "oauth", "--no-browser", "--code-stdin"],
        "the-code#wrongstate\n",
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("error: state mismatch"), "{}", o.stderr);
    assert!(!s.home.exists(), "nothing written");
}

#[test]
fn anthropic_without_terminal_or_code_stdin_exits_2() {
    let s = Sealed::new();
    let o = s.run(&["auth", "add", "anthropic", "--type", "oauth", "--no-browser"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--code-stdin"), "{}", o.stderr);
    assert!(!o.stderr.contains("claude.ai"), "fails before showing a URL");
}

/// GET `target` from 127.0.0.1:`port` and return the response text.
fn get(port: u16, target: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(c, "GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    resp
}

fn callback_port(url: &str) -> (u16, String) {
    let redirect = query(url, "redirect_uri");
    assert!(redirect.starts_with("http://localhost:") && redirect.ends_with("/callback"), "{redirect}");
    let port = url::Url::parse(&redirect).unwrap().port().unwrap();
    (port, query(url, "state"))
}

#[tokio::test]
async fn anthropic_browser_login_takes_the_local_callback() {
    let server = MockServer::start().await;
    let access = jwt(json!({"email": "Me@Example.com"}));
    anthropic_exchange_mock(&server, json!({"access_token": access, "refresh_token": "rt-cb", "expires_in": 7200}))
        .await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let mut run = Running::start(&s, &["auth", "add", "anthropic", "--type", "oauth"]);
    let line = run.wait_line("https://claude.ai/oauth/authorize?");
    let (port, state) = callback_port(&word_starting(&line, "https://"));
    assert!(get(port, "/favicon.ico").contains("404"));
    let resp = get(port, &format!("/callback?code=cb-code&state={state}"));
    assert!(resp.contains("200 OK") && resp.contains("Logged in"), "{resp}");
    let o = run.finish();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let body: Value = serde_json::from_slice(&posts(&server, "/v1/oauth/token").await[0].body).unwrap();
    assert_eq!(body["code"], "cb-code");
    assert_eq!(body["redirect_uri"], format!("http://localhost:{port}/callback"));
    let e = &s.pool("anthropic")[0];
    assert_eq!(e["label"], "Me@Example.com", "label from the token's claims");
    assert_eq!(e["expires_at_ms"], json!((T0 as i64 + 7200) * 1000));
}

#[tokio::test]
async fn anthropic_callback_with_wrong_state_or_denial_saves_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &server);
    // A denial is believed only with this login's state: anything on the machine can call the
    // listener.
    for (query_string, want) in [
        ("code=x&state=forged", "state mismatch"),
        ("error=access_denied&state=forged", "state mismatch"),
        ("error=access_denied&state={state}", "was denied"),
    ] {
        let mut run = Running::start(&s, &["auth", "add", "anthropic", "--type", "oauth"]);
        let line = run.wait_line("https://claude.ai/oauth/authorize?");
        let url = word_starting(&line, "https://");
        let (port, _) = callback_port(&url);
        let state = url.split("state=").nth(1).unwrap_or_default().split('&').next().unwrap_or_default().to_string();
        get(port, &format!("/callback?{}", query_string.replace("{state}", &state)));
        let o = run.finish();
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert!(o.stderr.contains(want), "{}", o.stderr);
    }
    assert!(!s.home.exists());
}

async fn codex_usercode(server: &MockServer, interval: &str) {
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/usercode"))
        .and(body_string_contains("app_EMoamEEZ73f0CkXaXp7hrann"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"user_code": "ABCD-1234", "device_auth_id": "dev-1", "interval": interval})),
        )
        .expect(1)
        .mount(server)
        .await;
}

/// A response for the `n`-th poll of a sequence: earlier mocks win while they have uses left.
async fn once(server: &MockServer, p: &str, priority: u8, resp: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(resp)
        .up_to_n_times(1)
        .with_priority(priority)
        .mount(server)
        .await;
}

#[tokio::test]
async fn codex_device_login_creates_owned_entry() {
    let server = MockServer::start().await;
    codex_usercode(&server, "5").await;
    let poll = "/api/accounts/deviceauth/token";
    once(&server, poll, 1, ResponseTemplate::new(403)).await;
    once(&server, poll, 2, ResponseTemplate::new(404)).await;
    once(
        &server,
        poll,
        3,
        ResponseTemplate::new(200).set_body_json(json!({"authorization_code": "ac-1", "code_verifier": "cv-1"})),
    )
    .await;
    let access = jwt(json!({"exp": T0 + 3600.0, "https://api.openai.com/profile": {"email": "dev@example.com"}}));
    let id_token = jwt(json!({"email": "dev@example.com"}));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": access, "refresh_token": "rt-c1", "id_token": id_token})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let s = sealed_with("HERMES_CODEX_AUTH_URL", &server);
    let o = s.run(&["auth", "add", "openai-codex", "--no-browser"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(&format!("open {}/codex/device and enter code ABCD-1234", server.uri())), "{}", o.stderr);
    let polls = posts(&server, poll).await;
    assert_eq!(polls.len(), 3, "403 and 404 mean pending");
    let p: Value = serde_json::from_slice(&polls[0].body).unwrap();
    assert_eq!(p, json!({"device_auth_id": "dev-1", "user_code": "ABCD-1234"}));
    let f = form(&posts(&server, "/oauth/token").await[0]);
    assert_eq!(f["code"], "ac-1");
    assert_eq!(f["code_verifier"], "cv-1");
    assert_eq!(f["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(f["redirect_uri"], format!("{}/deviceauth/callback", server.uri()));
    let a = s.auth();
    let e = &a["credential_pool"]["openai-codex"][0];
    assert_eq!(e["source"], "manual:device_code");
    assert_eq!(e["label"], "dev@example.com");
    assert_eq!(e["refresh_token"], "rt-c1");
    assert_eq!(e["base_url"], "https://chatgpt.com/backend-api/codex");
    assert!(e["last_refresh"].as_str().unwrap().ends_with('Z'));
    assert_eq!(a["active_provider"], "openai-codex");
    assert!(a["providers"].as_object().unwrap().is_empty());
}

#[tokio::test]
async fn codex_login_keeps_an_existing_active_provider() {
    let server = MockServer::start().await;
    codex_usercode(&server, "3").await;
    once(
        &server,
        "/api/accounts/deviceauth/token",
        1,
        ResponseTemplate::new(200).set_body_json(json!({"authorization_code": "ac", "code_verifier": "cv"})),
    )
    .await;
    once(
        &server,
        "/oauth/token",
        1,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-opaque", "refresh_token": "rt"})),
    )
    .await;
    let s = sealed_with("HERMES_CODEX_AUTH_URL", &server);
    s.write_auth(&json!({"version": 1, "active_provider": "nous", "providers": {}, "credential_pool": {}}));
    let o = s.run(&["auth", "add", "codex", "--no-browser"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(s.auth()["active_provider"], "nous");
    assert_eq!(s.pool("openai-codex")[0]["label"], "openai-codex-oauth-1", "no claims: default label");
}

#[tokio::test]
async fn codex_device_code_expires_after_15_minutes() {
    let server = MockServer::start().await;
    codex_usercode(&server, "60").await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/token"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let s = sealed_with("HERMES_CODEX_AUTH_URL", &server);
    let o = s.run(&["auth", "add", "openai-codex", "--no-browser"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("openai-codex login expired"), "{}", o.stderr);
    // 60 s polls on the test clock: 14 polls before the 15th minute runs out.
    assert_eq!(posts(&server, "/api/accounts/deviceauth/token").await.len(), 14);
    assert!(!s.home.exists());
}

#[tokio::test]
async fn codex_denial_and_usercode_rate_limit() {
    let server = MockServer::start().await;
    once(&server, "/api/accounts/deviceauth/usercode", 1, ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .await;
    codex_usercode(&server, "3").await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "access_denied"}})))
        .mount(&server)
        .await;
    let s = sealed_with("HERMES_CODEX_AUTH_URL", &server);
    let o = s.run(&["-v", "auth", "add", "openai-codex", "--no-browser"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("trying again in 2s"), "Retry-After honoured: {}", o.stderr);
    assert!(o.stderr.contains("error: openai-codex login was denied"), "{}", o.stderr);
    assert!(!s.home.exists());
}

async fn nous_device_code(server: &MockServer, expires_in: u32) {
    Mock::given(method("POST"))
        .and(path("/api/oauth/device/code"))
        .and(body_string_contains("client_id=hermes-cli"))
        .and(body_string_contains("scope=inference%3Ainvoke"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc-1", "user_code": "WXYZ-9876", "verification_uri": "https://portal.example/device",
            "verification_uri_complete": "https://portal.example/device?code=WXYZ-9876", "expires_in": expires_in,
            "interval": 1})))
        .expect(1)
        .mount(server)
        .await;
}

fn nous_error(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": code, "error_description": format!("{code} now")}))
}

#[tokio::test]
async fn nous_device_login_waits_slows_down_and_stores_device_code_entry() {
    let server = MockServer::start().await;
    nous_device_code(&server, 600).await;
    let poll = "/api/oauth/token";
    once(&server, poll, 1, nous_error("authorization_pending")).await;
    once(&server, poll, 2, nous_error("slow_down")).await;
    let access = jwt(json!({"email": "nous@example.com", "scope": "inference:invoke", "exp": T0 + 3600.0}));
    once(
        &server,
        poll,
        3,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": access, "refresh_token": "rt-n1",
            "expires_in": 3600, "scope": "inference:invoke", "token_type": "Bearer",
            "inference_base_url": "https://evil.example.com/v1"})),
    )
    .await;
    // The alias of HERMES_NOUS_PORTAL_URL.
    let s = sealed_with("HERMES_PORTAL_BASE_URL", &server);
    let o = s.run(&["-v", "auth", "add", "nous", "--type", "oauth", "--no-browser", "--label", "portal"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("open https://portal.example/device?code=WXYZ-9876 and confirm the code WXYZ-9876"));
    assert!(o.stderr.contains("authorization pending"), "{}", o.stderr);
    assert!(o.stderr.contains("slow_down: polling every 2s"), "{}", o.stderr);
    let polls = posts(&server, poll).await;
    assert_eq!(polls.len(), 3);
    let f = form(&polls[0]);
    assert_eq!(f["grant_type"], "urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(f["client_id"], "hermes-cli");
    assert_eq!(f["device_code"], "dc-1");
    let a = s.auth();
    assert!(
        a["providers"].get("nous").is_none(),
        "docs/design.md#owned-and-borrowed: providers.nous is hermes-agent's"
    );
    let pool = s.pool("nous");
    assert_eq!(pool.len(), 1);
    let e = &pool[0];
    assert_eq!(e["source"], "manual:device_code");
    assert_eq!(e["label"], "portal");
    assert_eq!(e["access_token"], access.as_str());
    assert_eq!(e["agent_key"], access.as_str());
    assert_eq!(e["refresh_token"], "rt-n1");
    assert_eq!(e["portal_base_url"], server.uri());
    assert_eq!(e["tls"], json!({"insecure": false, "ca_bundle": null}));
    assert_eq!(e["expires_in"], 3600);
    assert!(e["expires_at"].as_str().unwrap().ends_with('Z'));
    // an inference URL on an unknown host is ignored.
    assert!(e.get("inference_base_url").is_none());
    assert_eq!(e["base_url"], "https://inference-api.nousresearch.com/v1");
    assert_eq!(a["active_provider"], "nous");
    let o = s.run(&["auth", "token", "nous"]);
    assert_eq!(o.stdout.trim(), access, "the access token is the inference key");
}

#[tokio::test]
async fn nous_denial_and_expired_device_code() {
    for (answer, want) in [("access_denied", "nous login was denied"), ("expired_token", "nous login expired")] {
        let server = MockServer::start().await;
        nous_device_code(&server, 600).await;
        once(&server, "/api/oauth/token", 1, nous_error("authorization_pending")).await;
        once(&server, "/api/oauth/token", 2, nous_error(answer)).await;
        let s = sealed_with("HERMES_NOUS_PORTAL_URL", &server);
        let o = s.run(&["auth", "add", "nous", "--type", "oauth", "--no-browser"]);
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert!(o.stderr.contains(want), "{}", o.stderr);
        assert!(!s.home.exists());
    }
}

#[tokio::test]
async fn nous_device_code_runs_out_on_the_clock() {
    let server = MockServer::start().await;
    nous_device_code(&server, 30).await;
    Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .respond_with(nous_error("authorization_pending"))
        .mount(&server)
        .await;
    let s = sealed_with("HERMES_NOUS_PORTAL_URL", &server);
    let o = s.run(&["auth", "add", "nous", "--type", "oauth", "--no-browser"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("the device code expired"), "{}", o.stderr);
    assert_eq!(posts(&server, "/api/oauth/token").await.len(), 29, "1 s polls for the 30 s the code lives");
}

#[tokio::test]
async fn second_login_to_same_account_replaces_tokens_and_revives() {
    let server = MockServer::start().await;
    let access = jwt(json!({"email": "Same@Example.com"}));
    anthropic_exchange_mock(&server, json!({"access_token": access, "refresh_token": "rt-second"})).await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let old_access = jwt(json!({"email": "same@example.com", "n": 1}));
    let mut dead = anthropic_entry("aaa111", "mine", &old_access, "rt-first", T0 + 3600.0);
    dead["last_status"] = json!("dead");
    dead["last_error_reason"] = json!("invalid_grant");
    dead["last_status_at"] = json!(T0 - 10.0);
    let other = anthropic_entry("bbb222", "other", &jwt(json!({"email": "other@example.com"})), "rt-o", T0 + 3600.0);
    s.write_auth(&store(json!({"anthropic": [dead, other]})));
    let mut run = Running::start(&s, &["auth", "add", "anthropic", "--type", "oauth", "--no-browser", "--code-stdin"]);
    let line = run.wait_line("https://claude.ai/oauth/authorize?");
    let state = query(&word_starting(&line, "https://"), "state");
    run.send_stdin(&format!("c#{state}\n"));
    let o = run.finish();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("Updated anthropic OAuth credential #1 (id aaa111): \"mine\" (same account; tokens replaced)"),
        "{}",
        o.stderr
    );
    let pool = s.pool("anthropic");
    assert_eq!(pool.len(), 2, "no duplicate");
    assert_eq!(pool[0]["access_token"], access.as_str());
    assert_eq!(pool[0]["refresh_token"], "rt-second");
    assert!(pool[0]["last_status"].is_null(), "revived");
    assert_eq!(pool[1]["refresh_token"], "rt-o", "the other account is untouched");
}

#[tokio::test]
async fn exchange_errors_name_the_step_without_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "code the-secret-code is bad"})),
        )
        .mount(&server)
        .await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &server);
    let mut run = Running::start(&s, &["auth", "add", "anthropic", "--type", "oauth", "--no-browser", "--code-stdin"]);
    let line = run.wait_line("https://claude.ai/oauth/authorize?");
    let state = query(&word_starting(&line, "https://"), "state");
    run.send_stdin(&format!("the-secret-code#{state}\n"));
    let o = run.finish();
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("error: anthropic login (code exchange): HTTP 400 invalid_grant"), "{}", o.stderr);
    assert!(!o.stderr.contains("the-secret-code"), "the code is masked: {}", o.stderr);
    assert!(!s.home.exists());
}

#[tokio::test]
async fn relabelled_login_with_opaque_tokens_is_still_matched_by_account() {
    let s_server = MockServer::start().await;
    let s = sealed_with("HERMES_ANTHROPIC_OAUTH_URL", &s_server);
    let login = |rt: &'static str| {
        let s = &s;
        let server = &s_server;
        async move {
            server.reset().await;
            anthropic_exchange_mock(
                server,
                json!({"access_token": format!("sk-ant-oat01-opaque-{rt}"), "refresh_token": rt,
                       "account": {"email_address": "Me@X.io"}}),
            )
            .await;
            let mut run = Running::start(
                s,
                &["auth", "add", "anthropic", "--type", "oauth", "--no-browser", "--code-stdin", "--label", "work"],
            );
            let line = run.wait_line("https://claude.ai/oauth/authorize?");
            let state = query(&word_starting(&line, "https://"), "state");
            run.send_stdin(&format!("c#{state}\n"));
            run.finish()
        }
    };
    let o = login("rt-first-0001").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = login("rt-second-0002").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("(same account; tokens replaced)"), "{}", o.stderr);
    let pool = s.pool("anthropic");
    assert_eq!(pool.len(), 1, "no duplicate: {pool:?}");
    assert_eq!(pool[0]["label"], "work");
    assert_eq!(pool[0]["refresh_token"], "rt-second-0002");
    assert_eq!(pool[0]["account_email"], "me@x.io");
}
