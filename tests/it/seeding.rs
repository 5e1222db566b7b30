//! Seeding from the environment, `.env` and config.yaml; borrowed entries keep only a
//! fingerprint on disk; suppression.

use crate::common::*;
use serde_json::json;

const ENVKEY: &str = "sk-or-v1-env0000aaaa";

fn fingerprint(s: &str) -> String {
    hermes::secret::fingerprint(s)
}

#[test]
fn env_key_shows_as_virtual_row_without_writing() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("env:OPENROUTER_API_KEY"), "{}", o.stdout);
    assert!(o.stdout.contains("* not yet saved; discovered from the environment/config"));
    let id_line = o.stdout.lines().nth(2).unwrap();
    assert!(id_line.split_whitespace().nth(1).unwrap().ends_with('*'), "{id_line}");
    assert!(!s.home.exists(), "list never writes");
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), ENVKEY);
    let pool = s.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0]["source"], "env:OPENROUTER_API_KEY");
    assert_eq!(pool[0]["secret_fingerprint"], fingerprint(ENVKEY));
    assert!(pool[0].get("access_token").is_none(), "borrowed secrets are never stored");
    // Same id in every process: deterministic.
    let s2 = {
        let mut s2 = Sealed::new();
        s2.var("OPENROUTER_API_KEY", ENVKEY);
        s2
    };
    let v = s2.run(&["auth", "list", "--json"]).json();
    assert_eq!(v["providers"][0]["entries"][0]["id"], pool[0]["id"]);
}

#[test]
fn unset_variable_leaves_source_missing_row() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    s.run(&["auth", "token", "openrouter"]);
    s.unset("OPENROUTER_API_KEY");
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("source missing: OPENROUTER_API_KEY not set"), "{}", o.stdout);
    assert!(o.stdout.contains(&fingerprint(ENVKEY)), "fingerprint shown for a missing source");
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 4);
}

#[test]
fn rotated_variable_clears_old_cooldown() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    s.run(&["auth", "token", "openrouter"]);
    let id = s.pool("openrouter")[0]["id"].as_str().unwrap().to_string();
    s.run(&["auth", "report", "openrouter", &id, "--status", "402"]);
    assert_eq!(s.run(&["auth", "token", "openrouter"]).code, 4);
    s.var("OPENROUTER_API_KEY", "sk-or-v1-rotated-new-key");
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let e = &s.pool("openrouter")[0];
    assert_eq!(e["secret_fingerprint"], fingerprint("sk-or-v1-rotated-new-key"));
    assert!(e["last_status"].is_null());
}

#[test]
fn dotenv_beats_process_env() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", "sk-or-v1-from-process");
    s.write_home_file(".env", "# keys\nexport OPENROUTER_API_KEY=\"sk-or-v1-from-dotenv\"\n");
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), "sk-or-v1-from-dotenv");
    assert_eq!(s.pool("openrouter")[0]["secret_fingerprint"], fingerprint("sk-or-v1-from-dotenv"));
}

#[test]
fn placeholders_are_not_seeded() {
    for v in ["changeme", "dummy", "***", "none", "abc"] {
        let mut s = Sealed::new();
        s.var("OPENROUTER_API_KEY", v);
        let o = s.run(&["auth", "list", "--json"]);
        assert_eq!(o.json(), json!({"providers": []}), "{v}");
    }
}

#[test]
fn legacy_borrowed_row_loses_secrets_on_next_write() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "3fa09c", "label": "OPENROUTER_API_KEY", "auth_type": "api_key", "priority": 0,
         "source": "env:OPENROUTER_API_KEY", "access_token": ENVKEY, "api_key": ENVKEY, "client_secret": "x1234",
         "authToken": "y1234", "tokens": {"a": "b"}, "request_count": 7, "token_type": "Bearer", "scope": "s",
         "last_status": null}]}}));
    s.run(&["auth", "token", "openrouter"]);
    let e = &s.pool("openrouter")[0];
    for k in ["access_token", "api_key", "client_secret", "authToken", "tokens"] {
        assert!(e.get(k).is_none(), "{k} kept");
    }
    assert_eq!(e["label"], "OPENROUTER_API_KEY");
    assert_eq!(e["request_count"], 8);
    assert_eq!(e["token_type"], "Bearer");
    assert_eq!(e["scope"], "s");
    assert_eq!(e["secret_fingerprint"], fingerprint(ENVKEY));
}

#[test]
fn anthropic_env_seed_order_and_types() {
    let mut s = Sealed::new();
    s.var("ANTHROPIC_TOKEN", "sk-ant-oat01-tokentokentoken");
    s.var("ANTHROPIC_API_KEY", "sk-ant-api03-keykeykeykey");
    let v = s.run(&["auth", "list", "anthropic", "--json"]).json();
    let e = v["providers"][0]["entries"].as_array().unwrap().clone();
    let sources: Vec<_> = e.iter().map(|x| x["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["env:ANTHROPIC_TOKEN", "env:ANTHROPIC_API_KEY"]);
    assert_eq!(e[0]["auth_type"], "oauth");
    assert_eq!(e[1]["auth_type"], "api_key");
}

#[test]
fn claude_code_file_seeds_only_when_anthropic_in_use() {
    let mut s = Sealed::new();
    let dir = s.user_home.join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    let exp_ms = (T0 as i64 + 7200) * 1000;
    std::fs::write(dir.join(".credentials.json"),
        json!({"claudeAiOauth": {"accessToken": "sk-ant-oat01-claudecodetoken", "refreshToken": "rt-cc", "expiresAt": exp_ms}}).to_string()).unwrap();
    let v = s.run(&["auth", "list", "--json"]).json();
    assert_eq!(v, json!({"providers": []}), "anthropic not in use");
    s.write_home_file("config.yaml", "model:\n  provider: anthropic\n  default: claude-sonnet\n");
    let v = s.run(&["auth", "list", "anthropic", "--json"]).json();
    let e = &v["providers"][0]["entries"][0];
    assert_eq!(e["source"], "claude_code");
    assert_eq!(e["auth_type"], "oauth");
    assert_eq!(e["read_only"], true);
    // Within 60 s of expiry: needs refresh, never picked, file untouched.
    let before = std::fs::read(dir.join(".credentials.json")).unwrap();
    s.now = T0 + 7200.0 - 30.0;
    let o = s.run(&["auth", "list", "anthropic"]);
    assert!(o.stdout.contains("needs refresh: run Claude Code"), "{}", o.stdout);
    assert!(o.stdout.contains("claude_code (read-only)"));
    assert_eq!(s.run(&["auth", "token", "anthropic"]).code, 4);
    assert_eq!(std::fs::read(dir.join(".credentials.json")).unwrap(), before);
}

#[test]
fn custom_provider_pools() {
    let s = Sealed::new();
    s.write_home_file("config.yaml",
        "custom_providers:\n  - name: My Local LLM\n    base_url: http://127.0.0.1:8080/v1\n    api_key: sk-local-secret-1\n");
    let v = s.run(&["auth", "list", "--json"]).json();
    let p = &v["providers"][0];
    assert_eq!(p["provider"], "custom:my-local-llm");
    assert_eq!(p["entries"][0]["source"], "config:My Local LLM");
    assert_eq!(p["entries"][0]["base_url"], "http://127.0.0.1:8080/v1");
    let o = s.run_stdin(&["auth", "add", "My Local LLM", "--api-key", "-"], "sk-local-second-2");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Added custom:my-local-llm credential #2"), "{}", o.stderr);
    let o = s.run_stdin(&["auth", "add", "custom:ghost", "--api-key", "-"], "sk-ghost-key-3333");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("no custom_providers entry named ghost"), "{}", o.stderr);
    assert_eq!(s.pool("custom:ghost")[0]["base_url"], "");
}

#[test]
fn model_config_seed() {
    let s = Sealed::new();
    s.write_home_file("config.yaml",
        "model:\n  provider: custom\n  base_url: http://127.0.0.1:9/v1/\n  api_key: sk-model-config-key\ncustom_providers:\n  - name: mock\n    base_url: http://127.0.0.1:9/v1\n");
    let v = s.run(&["auth", "list", "custom:mock", "--json"]).json();
    assert_eq!(v["providers"][0]["entries"][0]["source"], "model_config");
}

#[test]
fn removing_env_row_suppresses_and_add_reenables() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    s.write_home_file(".env", "OPENROUTER_API_KEY=sk-or-v1-dotenv-value\n");
    let o = s.run(&["auth", "remove", "openrouter", "1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("OPENROUTER_API_KEY is still set in .env/your environment; hermes ignores it for openrouter until you run: hermes auth restore openrouter env:OPENROUTER_API_KEY"), "{}", o.stderr);
    assert_eq!(s.auth()["suppressed_sources"]["openrouter"], json!(["env:OPENROUTER_API_KEY"]));
    assert_eq!(std::fs::read_to_string(s.home.join(".env")).unwrap(), "OPENROUTER_API_KEY=sk-or-v1-dotenv-value\n");
    let o = s.run(&["auth", "list", "--json"]);
    assert_eq!(o.json(), json!({"providers": []}));
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "sk-or-v1-manual-key-9");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("re-enabled env:OPENROUTER_API_KEY"));
    assert!(s.auth().get("suppressed_sources").is_none(), "empty suppression lists are deleted");
    assert_eq!(s.pool("openrouter").len(), 2);
}

#[test]
fn duplicate_borrowed_rows_merge() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": "OPENROUTER_API_KEY", "priority": 0, "source": "env:OPENROUTER_API_KEY",
         "secret_fingerprint": fingerprint(ENVKEY), "last_status": null},
        {"id": "bbbbbb", "label": "OPENROUTER_API_KEY", "priority": 1, "source": "env:OPENROUTER_API_KEY",
         "secret_fingerprint": fingerprint(ENVKEY), "last_status": "exhausted", "last_status_at": T0 - 5.0,
         "last_error_code": 402, "last_error_reset_at": T0 + 100.0}]}}));
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("openrouter (1 credential"), "{}", o.stdout);
    assert!(o.stdout.contains("cooling: billing"), "strictest status wins: {}", o.stdout);
    s.run(&["auth", "reset", "openrouter"]);
    let pool = s.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0]["id"], "aaaaaa");
}

#[test]
fn nous_and_codex_singletons_seed_device_code_rows() {
    let s = Sealed::new();
    s.write_auth(&json!({"version": 1, "providers": {
        "nous": {"portal_base_url": "https://portal.nousresearch.com", "access_token": "sk-nous-access-token",
                 "refresh_token": "nous-rt", "expires_at": "2026-07-02T09:00:00Z", "agent_key": "sk-nous-access-token",
                 "tls": {"insecure": false, "ca_bundle": null}},
        "openai-codex": {"tokens": {"access_token": "codex-access-token-1", "refresh_token": "codex-rt"},
                 "last_refresh": "2026-07-01T08:55:00Z", "auth_mode": "chatgpt"}}}));
    let v = s.run(&["auth", "list", "--json"]).json();
    let providers = v["providers"].as_array().unwrap();
    let keys: Vec<_> = providers.iter().map(|p| p["provider"].as_str().unwrap()).collect();
    assert_eq!(keys, ["nous", "openai-codex"]);
    for p in providers {
        assert_eq!(p["entries"].as_array().unwrap().len(), 1);
        assert_eq!(p["entries"][0]["source"], "device_code");
        assert_eq!(p["entries"][0]["read_only"], true);
    }
    let o = s.run(&["auth", "token", "nous"]);
    assert_eq!(o.stdout.trim(), "sk-nous-access-token", "{}", o.stderr);
    let e = &s.pool("nous")[0];
    assert_eq!(e["refresh_token"], "nous-rt");
    assert_eq!(e["portal_base_url"], "https://portal.nousresearch.com");
    assert_eq!(e["agent_key"], "sk-nous-access-token");
    assert!(e["tls"].is_object());
}

#[test]
fn a_reported_message_never_stores_a_borrowed_key() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    let o = s.run(&[
        "auth",
        "report",
        "openrouter",
        "1",
        "--status",
        "429",
        "--message",
        &format!("Invalid key {ENVKEY} rate limited"),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = String::from_utf8(s.auth_bytes().unwrap()).unwrap();
    assert!(!text.contains(ENVKEY), "the env key reached auth.json: {text}");
    assert_eq!(
        s.pool("openrouter")[0]["last_error_message"],
        format!("Invalid key {} rate limited", hermes::secret::mask(ENVKEY))
    );
}

#[test]
fn a_mark_on_a_legacy_row_with_a_stale_token_sticks() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", "sk-or-v1-NEW-live-key-3333");
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "3fa09c", "label": "OPENROUTER_API_KEY", "auth_type": "api_key", "priority": 0,
         "source": "env:OPENROUTER_API_KEY", "access_token": "sk-or-v1-OLD-stale-key-1111", "last_status": null}]}}));
    let o = s.run(&["auth", "report", "openrouter", "3fa09c", "--status", "402"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let e = &s.pool("openrouter")[0];
    assert_eq!(
        e["secret_fingerprint"],
        fingerprint("sk-or-v1-NEW-live-key-3333"),
        "the live key's fingerprint is stored"
    );
    assert!(e.get("access_token").is_none());
    let v = s.run(&["auth", "list", "--json"]).json();
    assert_eq!(v["providers"][0]["entries"][0]["status"], "cooling", "the fresh mark survives the next read");
    assert_eq!(s.run(&["auth", "token", "openrouter"]).code, 4);
}
