//! Sharing a home with hermes-agent 0.19: its 429 marks, the `fallback_providers` shapes it
//! accepts, a suppressed source it saved again, and the reason hermes stores when a provider
//! gave none. The auth.json fixtures under `tests/fixtures/hermes-agent-0.19/` were written by
//! the real hermes-agent 0.19.0 (`regenerate.sh` there rebuilds them).

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const K1: &str = "sk-or-v1-agent-fixture-key-1111";
const K2: &str = "sk-or-v1-agent-fixture-key-2222";
const KE: &str = "sk-or-v1-agent-fixture-env-3333";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hermes-agent-0.19").join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A sealed home holding fixture `name` as its auth.json, and the parsed fixture.
fn home_with(name: &str) -> (Sealed, Value) {
    let s = Sealed::new();
    let text = fixture(name);
    s.write_home_file("auth.json", &text);
    (s, serde_json::from_str(&text).unwrap())
}

#[test]
fn a_429_hermes_agent_marked_without_reset_time_benches_for_its_hour() {
    let (mut s, doc) = home_with("429-without-reset.json");
    let marked = &doc["credential_pool"]["openrouter"][0];
    assert!(marked.get("rate_limit_streak").is_none() && marked["last_error_reset_at"].is_null());
    let at = marked["last_status_at"].as_f64().unwrap();

    // 61 s later: hermes's own ladder would free it; hermes-agent still skips it for an hour.
    s.now = at + 61.0;
    let list = s.run(&["auth", "list", "openrouter", "--json"]).json();
    let first = &list["providers"][0]["entries"][0];
    assert_eq!(first["status"], "cooling", "{first}");
    let o = s.run(&["auth", "list", "openrouter"]);
    assert!(o.stdout.contains("58m 59s left"), "{}", o.stdout);
    for _ in 0..3 {
        assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), K2);
    }
    // When hermes-agent's hour is over, both tools hand it out again.
    s.now = at + 3600.5;
    assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), K1);
}

#[test]
fn a_suppressed_source_stays_suppressed_when_hermes_agent_saved_it_again() {
    let (mut s, doc) = home_with("suppressed-env-resaved.json");
    assert_eq!(doc["credential_pool"]["openrouter"][0]["source"], "env:OPENROUTER_API_KEY");
    assert_eq!(doc["suppressed_sources"]["openrouter"][0], "env:OPENROUTER_API_KEY");
    s.var("OPENROUTER_API_KEY", KE);
    let before = s.auth_bytes();

    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 4, "the removed key was handed out: {}", o.stdout);
    assert!(!o.stdout.contains(KE));
    let list = s.run(&["auth", "list", "openrouter", "--json"]).json();
    let e = &list["providers"][0]["entries"][0];
    assert_eq!(e["status"], "source_missing", "{e}");
    let o = s.run(&["auth", "list", "openrouter"]);
    assert!(o.stdout.contains("suppressed"), "{}", o.stdout);
    assert_eq!(s.auth_bytes(), before, "reads write nothing");

    // A write to another pool leaves hermes-agent's row and the suppression as they were.
    assert_eq!(s.run_stdin(&["auth", "add", "deepseek", "--api-key", "-"], "sk-ds-other-key-0000").code, 0);
    let after = s.auth();
    assert_eq!(after["credential_pool"]["openrouter"], doc["credential_pool"]["openrouter"]);
    assert_eq!(after["suppressed_sources"], doc["suppressed_sources"]);
}

/// config.yaml with a primary custom pool that is rate-limited and `fallback` as written.
async fn chain_home(fallback: &str) -> (Sealed, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer sk-primary-key-0000"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"message": "slow down"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer sk-backup-key-1111"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"choices": [{"message": {"role": "assistant", "content": "from backup"}}]})),
        )
        .mount(&server)
        .await;
    let s = Sealed::new();
    let url = format!("{}/v1", server.uri());
    s.write_home_file(
        "config.yaml",
        &format!(
            "model:\n  provider: custom:main\n  default: m0\ncustom_providers:\n  - name: main\n    base_url: {url}\n    api_key: sk-primary-key-0000\n  - name: backup\n    base_url: {url}\n    api_key: sk-backup-key-1111\n{fallback}"
        ),
    );
    (s, server)
}

#[tokio::test]
async fn fallback_providers_in_every_shape_hermes_agent_accepts() {
    for fallback in [
        // One mapping: one step.
        "fallback_providers: {provider: 'custom:backup', model: fb-model}\n",
        // A string holding the list, as `hermes config set fallback_providers '[...]'` writes it.
        "fallback_providers: '[{\"provider\": \"custom:backup\", \"model\": \"fb-model\"}]'\n",
    ] {
        let (s, _server) = chain_home(fallback).await;
        for args in [vec!["auth", "list"], vec!["auth", "token", "custom:main"], vec!["auth", "explain", "custom:main"]]
        {
            let o = s.run(&args);
            assert_eq!(o.code, 0, "{args:?} with {fallback}: {}", o.stderr);
            assert!(!o.stderr.contains("warning"), "{}", o.stderr);
        }
        let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "sk-or-v1-added-0000000");
        assert_eq!(o.code, 0, "{}", o.stderr);
        s.run(&["auth", "reset"]);
        let o = s.run(&["chat", "-q", "hi"]);
        assert_eq!(o.code, 0, "{fallback}: {}", o.stderr);
        assert_eq!(o.stdout, "from backup\n");
        assert!(o.stderr.contains("using fallback custom:backup/fb-model"), "{}", o.stderr);
        let o = s.run(&["setup", "--no-input", "--strategy", "round_robin", "--provider", "custom:main"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    // A string that holds no list of steps: one warning, and every command still works.
    let (s, _server) = chain_home("fallback_providers: anthropic-please\n").await;
    for args in [vec!["auth", "list"], vec!["auth", "token", "custom:main"], vec!["auth", "explain", "custom:main"]] {
        let o = s.run(&args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        assert_eq!(o.stderr.lines().filter(|l| l.contains("fallback_providers")).count(), 1, "{}", o.stderr);
        assert!(o.stderr.contains("no fallback is used"), "{}", o.stderr);
    }
}

#[test]
fn no_class_word_is_stored_when_the_provider_gave_no_reason() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("one"));
    s.add_key("openrouter", K2, Some("two"));
    for (target, status) in [("one", "429"), ("two", "402")] {
        let o = s.run(&["auth", "report", "openrouter", target, "--status", status]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    for e in s.pool("openrouter") {
        assert_eq!(e["last_status"], "exhausted");
        assert!(e["last_error_reason"].is_null(), "a reason word was stored: {e}");
    }
    // What the provider said is stored as it said it.
    s.run(&["auth", "reset", "openrouter"]);
    let o = s.run(&["auth", "report", "openrouter", "one", "--status", "429", "--reason", "rate_limit_exceeded"]);
    assert_eq!(o.code, 0);
    assert_eq!(s.pool("openrouter")[0]["last_error_reason"], "rate_limit_exceeded");
    // The list still names the class once.
    let o = s.run(&["auth", "list", "openrouter"]);
    assert!(o.stdout.contains("rate-limited"), "{}", o.stdout);
    assert!(!o.stdout.contains("rate-limited rate-limited"), "{}", o.stdout);
}
