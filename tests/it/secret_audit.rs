//! Secret hygiene audit: run every command with known secrets in the store, the environment,
//! config.yaml and stdin, with `-v`, on success and failure paths, and assert that no output
//! contains any secret in full — except the one `token` answer the user asked for. Files
//! holding secrets stay 0600 and the home 0700 after every command. A forced panic does not
//! leak its payload either.

use crate::common::*;
use serde_json::json;

const STORE_KEY: &str = "sk-or-v1-STORE-aaaa-1111-secret";
const STORE_KEY2: &str = "sk-or-v1-STORE-bbbb-2222-secret";
const ENV_KEY: &str = "sk-ds-ENV-cccc-3333-secret";
const DOTENV_KEY: &str = "sk-xai-DOTENV-dddd-4444-secret";
const CONFIG_KEY: &str = "sk-local-CONFIG-eeee-5555-secret";
const MODEL_KEY: &str = "sk-model-MODEL-ffff-6666-secret";
const STDIN_KEY: &str = "sk-or-v1-STDIN-gggg-7777-secret";
const ACCESS: &str = "sk-ant-oat01-ACCESS-hhhh-8888-secret";
const REFRESH: &str = "sk-ant-ort01-REFRESH-iiii-9999-secret";
const ARGV_KEY: &str = "sk-gq-ARGV-jjjj-0000-secret";

const ALL: &[&str] =
    &[STORE_KEY, STORE_KEY2, ENV_KEY, DOTENV_KEY, CONFIG_KEY, MODEL_KEY, STDIN_KEY, ACCESS, REFRESH, ARGV_KEY];

fn sealed() -> Sealed {
    let mut s = Sealed::new();
    s.var("DEEPSEEK_API_KEY", ENV_KEY);
    // An unreachable token endpoint: refreshes fail transiently, without network.
    s.var("HERMES_ANTHROPIC_OAUTH_URL", "http://127.0.0.1:9");
    s.var("BROWSER", "true");
    s.write_home_file(".env", &format!("XAI_API_KEY={DOTENV_KEY}\n"));
    s.write_home_file(
        "config.yaml",
        &format!(
            "model:\n  provider: custom\n  base_url: http://127.0.0.1:9/v1\n  api_key: {MODEL_KEY}\n\
             custom_providers:\n  - name: local\n    base_url: http://127.0.0.1:9/v1\n    api_key: {CONFIG_KEY}\n"
        ),
    );
    let soon_ms = (T0 as i64 + 30) * 1000;
    s.write_auth(&json!({"version": 1, "credential_pool": {
        "openrouter": [
            {"id": "aaaaaa", "label": "one", "auth_type": "api_key", "priority": 0, "source": "manual", "access_token": STORE_KEY},
            {"id": "bbbbbb", "label": "two", "auth_type": "api_key", "priority": 1, "source": "manual", "access_token": STORE_KEY2}],
        "anthropic": [
            {"id": "cccccc", "label": "max", "auth_type": "oauth", "priority": 0, "source": "manual:hermes_pkce",
             "access_token": ACCESS, "refresh_token": REFRESH, "expires_at_ms": soon_ms}]}}));
    std::fs::set_permissions(s.auth_path(), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    s
}

fn assert_clean(what: &str, text: &str, allowed: &[&str]) {
    for secret in ALL {
        if allowed.contains(secret) {
            continue;
        }
        assert!(!text.contains(secret), "{what} leaked {secret}:\n{text}");
    }
}

fn assert_modes(s: &Sealed, what: &str) {
    if s.home.exists() {
        assert_eq!(mode(&s.home), 0o700, "{what}: home mode");
    }
    if s.auth_path().exists() {
        assert_eq!(mode(&s.auth_path()), 0o600, "{what}: auth.json mode");
    }
}

#[test]
fn no_command_prints_a_secret() {
    let s = sealed();
    let cases: Vec<(Vec<&str>, Option<&str>, i32)> = vec![
        (vec!["auth", "list"], None, 0),
        (vec!["auth", "list", "--json"], None, 0),
        (vec!["auth", "list", "anthropic"], None, 0),
        (vec!["auth", "list", "nosuch"], None, 1),
        (vec!["auth", "status", "anthropic"], None, 0),
        (vec!["auth", "status", "anthropic", "--json"], None, 0),
        (vec!["auth", "add", "openrouter", "--api-key", "-", "--label", "piped"], Some(STDIN_KEY), 0),
        (vec!["auth", "add", "openrouter", "--api-key", "-"], Some(STDIN_KEY), 1), // duplicate: error path
        (vec!["auth", "add", "openrouter", "--api-key", "-"], Some("sk-two words"), 1), // whitespace: error path
        (vec!["auth", "add", "groq", "--api-key", ARGV_KEY], None, 0),
        (vec!["auth", "add", "groq", "--api-key", ARGV_KEY, "--json"], None, 1), // duplicate via argv
        (vec!["auth", "add", "anthropic", "--type", "oauth", "--no-browser"], None, 2), // no terminal: usage
        (vec!["auth", "token", "deepseek", "--json"], None, 0),                  // env key: allowed only in this output
        (vec!["auth", "token", "anthropic"], None, 0),                           // refresh fails transiently
        (vec!["auth", "refresh", "anthropic"], None, -1),
        (vec!["auth", "token", "nosuch"], None, 1),
        (vec!["auth", "report", "openrouter", "aaaaaa", "--status", "401", "--message", "bad key"], None, 0),
        (vec!["auth", "report", "openrouter", "bbbbbb", "--status", "429", "--json"], None, 0),
        (vec!["auth", "report", "openrouter", "zzzzzz", "--status", "429"], None, 1),
        (vec!["auth", "token", "openrouter"], None, -1), // nothing usable: the exit-4 listing
        (vec!["auth", "reset"], None, 0),
        (vec!["auth", "reset", "openrouter", "aaaaaa", "--json"], None, 0),
        (vec!["auth", "remove", "openrouter", "nosuch"], None, 1),
        (vec!["auth", "remove", "xai", "1"], None, 0),
        (vec!["auth", "repair"], None, 0),
        (vec!["setup", "--no-input", "--provider", "openrouter", "--strategy", "round_robin"], None, 0),
        (vec!["setup", "--no-input", "--strategy", "bogus"], None, 2),
        (vec!["auth"], None, 2),
        (vec!["auth", "explain", "openrouter"], None, 0),
        (vec!["auth", "explain", "anthropic", "--json"], None, 0),
        (vec!["auth", "simulate", "openrouter", "--events", "429,401,200"], None, 0),
        (vec!["auth", "simulate", "openrouter", "--events", "429,bogus"], None, 2),
        // The custom endpoint is a closed port: connection errors, retries, fallback, exit 1.
        (vec!["chat", "-q", "hello", "--provider", "custom:local", "--model", "m"], None, 1),
        (vec!["chat", "-q", "hello", "--provider", "openrouter", "--model", "m", "--json"], None, -1),
    ];
    for (args, stdin, code) in cases {
        let mut full = vec!["-v"];
        full.extend(args.iter());
        let o = s.run_stdin(&full, stdin.unwrap_or(""));
        let what = format!("hermes {}", args.join(" "));
        if code >= 0 {
            assert_eq!(o.code, code, "{what}: {}", o.stderr);
        }
        assert!(!o.stderr.contains("panicked"), "{what}: {}", o.stderr);
        // `token` may print the secret it picked on stdout: the user asked for exactly that.
        let allowed: Vec<&str> = if args.get(1) == Some(&"token") { ALL.to_vec() } else { vec![] };
        assert_clean(&format!("{what} (stdout)"), &o.stdout, &allowed);
        assert_clean(&format!("{what} (stderr)"), &o.stderr, &[]);
        assert_modes(&s, &what);
    }
    // The store never holds borrowed secrets.
    let text = String::from_utf8(s.auth_bytes().unwrap()).unwrap();
    for borrowed in [ENV_KEY, DOTENV_KEY, CONFIG_KEY, MODEL_KEY] {
        assert!(!text.contains(borrowed), "auth.json holds a borrowed secret");
    }
}

#[test]
fn token_prints_only_the_picked_secret() {
    let s = sealed();
    let o = s.run(&["-v", "auth", "token", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, format!("{STORE_KEY}\n"));
    assert_clean("token stderr", &o.stderr, &[]);
}

#[test]
fn forced_panic_does_not_leak_its_payload() {
    let mut s = sealed();
    s.var("HERMES_TEST_PANIC", STORE_KEY);
    let o = s.run(&["auth", "list"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("internal error"), "{}", o.stderr);
    assert_clean("panic", &format!("{}{}", o.stdout, o.stderr), &[]);
}
