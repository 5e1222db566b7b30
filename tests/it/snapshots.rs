//! Snapshots of what each command shows: exit code, stdout and stderr together, for the help of
//! every command, the main outputs (`auth list` table and `--json`, `explain`, `simulate`,
//! `token`, `report`, `reset`, `remove`) and every class of error. Temp paths are filtered.
//!
//! After an intended change: `cargo insta test --review` (or `INSTA_UPDATE=always cargo test`
//! and read the diff of `tests/it/snapshots/`).

use crate::common::*;
use serde_json::json;

/// `exit`, stdout and stderr of one run, as one text.
fn shot(s: &Sealed, args: &[&str], stdin: &str) -> String {
    let o = s.run_stdin(args, stdin);
    format!("$ hermes {}\nexit: {}\n--- stdout\n{}--- stderr\n{}", args.join(" "), o.code, o.stdout, o.stderr)
}

/// Snapshot `args` in `s`, with the sealed home's paths replaced by `[HOME]`.
macro_rules! snap {
    ($name:expr, $s:expr, $args:expr) => {
        snap!($name, $s, $args, "")
    };
    ($name:expr, $s:expr, $args:expr, $stdin:expr) => {{
        let text = shot($s, $args, $stdin);
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(&regex_escape(&$s.home.display().to_string()), "[HOME]");
        settings.add_filter(&regex_escape(&$s.user_home.display().to_string()), "[USER]");
        // Ids hermes generates (a new entry's) are random.
        settings.add_filter(r"\(id [0-9a-f]{6}\)", "(id [ID])");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, text));
    }};
}

fn regex_escape(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '/' { c.to_string() } else { format!("\\{c}") }).collect()
}

/// Three pools with every kind of state, ids fixed.
fn pools() -> Sealed {
    let mut s = Sealed::new();
    s.var("DEEPSEEK_API_KEY", "sk-ds-env-key-000011112222");
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: round_robin\n");
    s.write_auth(&json!({"version": 1, "providers": {}, "credential_pool": {
        "openrouter": [
            {"id": "aaa111", "label": "work", "auth_type": "api_key", "priority": 0, "source": "manual",
             "access_token": "sk-or-v1-work-aaaa-1111", "request_count": 12},
            {"id": "bbb222", "label": "personal", "auth_type": "api_key", "priority": 1, "source": "manual",
             "access_token": "sk-or-v1-personal-bbbb-2222", "last_status": "exhausted", "last_status_at": T0 - 30.0,
             "last_error_code": 429, "last_error_reason": "rate_limit_exceeded", "last_error_message": "Slow down",
             "last_error_reset_at": T0 + 570.0, "rate_limit_streak": 2, "request_count": 40},
            {"id": "ccc333", "label": "old", "auth_type": "api_key", "priority": 2, "source": "manual",
             "access_token": "sk-or-v1-old-cccc-3333", "last_status": "dead", "last_status_at": T0 - 600.0,
             "last_error_code": 401, "last_error_reason": "token_invalidated", "request_count": 3}],
        "anthropic": [
            {"id": "ddd444", "label": "max", "auth_type": "oauth", "priority": 0, "source": "manual:hermes_pkce",
             "access_token": "sk-ant-oat01-max-dddd-4444", "refresh_token": "sk-ant-ort01-max-dddd-4444",
             "expires_at_ms": ((T0 + 3600.0) * 1000.0) as i64, "request_count": 5}]}}));
    s
}

#[test]
fn help_of_every_command() {
    let s = Sealed::new();
    for args in [
        vec!["--help"],
        vec!["auth", "--help"],
        vec!["auth", "add", "--help"],
        vec!["auth", "list", "--help"],
        vec!["auth", "remove", "--help"],
        vec!["auth", "reset", "--help"],
        vec!["auth", "restore", "--help"],
        vec!["auth", "token", "--help"],
        vec!["auth", "report", "--help"],
        vec!["auth", "repair", "--help"],
        vec!["auth", "refresh", "--help"],
        vec!["auth", "status", "--help"],
        vec!["auth", "providers", "--help"],
        vec!["auth", "strategy", "--help"],
        vec!["auth", "explain", "--help"],
        vec!["auth", "simulate", "--help"],
        vec!["setup", "--help"],
        vec!["chat", "--help"],
        vec!["serve", "--help"],
        vec!["completions", "--help"],
        vec!["man", "--help"],
    ] {
        let name = format!("help_{}", args[..args.len() - 1].join("_"));
        let name = if name == "help_" { "help_hermes".to_string() } else { name };
        snap!(name, &s, &args);
    }
}

#[test]
fn main_outputs() {
    let s = pools();
    snap!("list", &s, &["auth", "list"]);
    snap!("list_json", &s, &["auth", "list", "--json"]);
    snap!("list_one_pool", &s, &["auth", "list", "anthropic"]);
    snap!("status", &s, &["auth", "status", "anthropic"]);
    snap!("explain", &s, &["auth", "explain", "openrouter"]);
    snap!("explain_json", &s, &["auth", "explain", "openrouter", "--json"]);
    snap!("simulate", &s, &["auth", "simulate", "openrouter", "--events", "429,429:retry-after=30,401,200"]);
    snap!("token_json", &s, &["auth", "token", "openrouter", "--json"]);
    snap!("report", &s, &["auth", "report", "openrouter", "work", "--status", "429", "--retry-after", "120"]);
    snap!("reset", &s, &["auth", "reset", "openrouter"]);
    snap!("remove", &s, &["auth", "remove", "openrouter", "personal"]);
    snap!("repair", &s, &["auth", "repair"]);
    snap!("add", &s, &["auth", "add", "openrouter", "--api-key", "-", "--label", "new"], "sk-or-v1-new-key-eeee-5555");
}

#[test]
fn every_error_class() {
    let s = pools();
    // Usage (exit 2), from the parser and from the library.
    snap!("error_usage_parser", &s, &["auth", "lst"]);
    snap!("error_usage_json", &s, &["auth", "add", "openrouter", "--type", "bogus", "--json"]);
    snap!("error_usage_library", &s, &["auth", "add", "xai-oauth", "--api-key", "-"], "sk-some-key-000000000");
    // Unknown provider, target misses, conflicts (exit 1).
    snap!("error_unknown_provider", &s, &["auth", "list", "openroutr"]);
    snap!("error_target_no_match", &s, &["auth", "remove", "openrouter", "nosuch"]);
    snap!("error_target_json", &s, &["auth", "remove", "openrouter", "nosuch", "--json"]);
    snap!("error_duplicate_key", &s, &["auth", "add", "openrouter", "--api-key", "-"], "sk-or-v1-work-aaaa-1111");
    snap!(
        "error_label_taken",
        &s,
        &["auth", "add", "openrouter", "--api-key", "-", "--label", "work"],
        "sk-or-v1-x-0000000000"
    );
    // Nothing usable (exit 4).
    let t = Sealed::new();
    t.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaa111", "label": "only", "auth_type": "api_key", "priority": 0, "source": "manual",
         "access_token": "sk-or-v1-only-aaaa-1111", "last_status": "exhausted", "last_status_at": T0,
         "last_error_code": 402, "last_error_reset_at": T0 + 3600.0}]}}));
    snap!("error_nothing_usable", &t, &["auth", "token", "openrouter"]);
    snap!("error_nothing_usable_json", &t, &["auth", "token", "openrouter", "--json"]);
    // An invalid store, and a duplicate key (exit 1, bytes kept).
    let u = Sealed::new();
    u.write_home_file("auth.json", "{\"credential_pool\": [1, 2");
    snap!("error_store_invalid", &u, &["auth", "list"]);
    u.write_home_file("auth.json", "{\"version\": 1, \"version\": 1}");
    snap!("error_store_duplicate_key", &u, &["auth", "list"]);
    // An invalid config.yaml.
    let v = Sealed::new();
    v.write_home_file("config.yaml", "model: [unclosed\n");
    snap!("error_config_invalid", &v, &["auth", "list"]);
    // A route that cannot work.
    let w = Sealed::new();
    snap!("error_route", &w, &["chat", "-q", "hi", "--provider", "openai-codex", "--model", "gpt-5"]);
}
