//! `hermes auth add/list/remove/reset/token/report/repair` end to end in a sealed home:
//! stdout, stderr, exit code and the resulting auth.json checked together.

use crate::common::*;
use serde_json::json;

const K1: &str = "sk-or-v1-aaaa1111";
const K2: &str = "sk-or-v1-bbbb2222";
const K3: &str = "sk-or-v1-cccc3333";

#[test]
fn list_on_missing_home_creates_nothing() {
    let s = Sealed::new();
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, "");
    assert!(o.stderr.contains("No credentials. Add one with: hermes auth add PROVIDER"), "{}", o.stderr);
    assert!(!s.home.exists());
    let o = s.run(&["auth", "list", "--json"]);
    assert_eq!(o.json(), json!({"providers": []}));
    assert!(!s.home.exists());
}

#[test]
fn empty_hermes_home_means_default() {
    let mut s = Sealed::new();
    s.var("HERMES_HOME", "");
    let mut c = s.cmd();
    c.env("HERMES_HOME", "").args(["auth", "add", "openrouter", "--api-key", "-"]).write_stdin(K1);
    let o = Out::from(c.output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(s.user_home.join(".hermes/auth.json").exists());
}

#[test]
fn first_add_creates_home_and_store() {
    let s = Sealed::new();
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-", "--label", "personal"], &format!("{K1}\n"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert!(o.stderr.contains("Added openrouter credential #1 (id "), "{}", o.stderr);
    assert!(o.stderr.contains("\"personal\""));
    assert_eq!(mode(&s.home), 0o700);
    assert_eq!(mode(&s.auth_path()), 0o600);
    let a = s.auth();
    assert_eq!(a["version"], 1);
    assert!(a["updated_at"].as_str().unwrap().ends_with("+00:00"));
    assert!(a["providers"].is_object());
    let e = &a["credential_pool"]["openrouter"][0];
    assert_eq!(e["access_token"], K1, "stored without the newline");
    assert_eq!(e["label"], "personal");
    assert_eq!(e["source"], "manual");
    assert_eq!(e["priority"], 0);
    assert_eq!(e["base_url"], "https://openrouter.ai/api/v1");
    assert_eq!(e["id"].as_str().unwrap().len(), 6);
    for k in [
        "last_status",
        "last_status_at",
        "last_error_code",
        "last_error_reason",
        "last_error_message",
        "last_error_reset_at",
    ] {
        assert!(e.get(k).unwrap().is_null(), "{k}");
    }
}

#[test]
fn add_with_key_on_command_line_warns() {
    let s = Sealed::new();
    let o = s.run(&["auth", "add", "openrouter", "--api-key", K1, "--label", "personal"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("visible to other local users"));
    assert!(!o.stderr.contains(K1), "full key echoed: {}", o.stderr);
}

#[test]
fn add_rejects_bad_keys_and_writes_nothing() {
    let s = Sealed::new();
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "sk-one\nsk-two\n");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("the key contains whitespace; paste exactly one key"), "{}", o.stderr);
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "   \n");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("error: no API key provided"));
    // A quoted key (copied from a .env line) is refused as seeding refuses it.
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "\"sk-or-v1-quoted0001\"\n");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("the key starts or ends with a quote; paste exactly one key"), "{}", o.stderr);
    assert!(!o.stderr.contains("quoted0001"), "{}", o.stderr);
    assert!(!s.auth_path().exists());
}

#[test]
fn add_without_key_or_terminal_is_usage_error() {
    let s = Sealed::new();
    let o = s.run(&["auth", "add", "openrouter"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("use --api-key -"), "{}", o.stderr);
    assert!(!o.stderr.contains("panicked"));
}

#[test]
fn add_type_and_provider_errors() {
    let s = Sealed::new();
    let o = s.run_stdin(&["auth", "add", "nosuch", "--api-key", "-"], K1);
    assert_eq!(o.code, 1, "unknown provider is exit 1 (docs/design.md#normalising-provider-input)");
    assert!(o.stderr.contains("unknown provider \"nosuch\""));
    let o = s.run_stdin(&["auth", "add", "openroutr", "--api-key", "-"], K1);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("did you mean openrouter"), "{}", o.stderr);
    let o = s.run(&["auth", "add", "openrouter", "--type", "oauth"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("openrouter does not support OAuth login; use --type api-key"));
    let o = s.run(&["auth", "add", "xai-oauth"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("xai-oauth is not supported by hermes; use hermes-agent"));
    let o = s.run(&["auth", "add", "anthropic"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("choose --type oauth or --type api-key"));
    let o = s.run(&["auth", "add", "openai-codex", "--type", "api-key"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("openai-api"));
    assert!(!s.auth_path().exists());
}

#[test]
fn anthropic_api_key_without_type() {
    let s = Sealed::new();
    let o = s.run_stdin(&["auth", "add", "anthropic", "--api-key", "-"], "sk-ant-api03-abcdefgh1234");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(s.pool("anthropic")[0]["auth_type"], "api_key");
}

#[test]
fn default_labels_unique_and_reused() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, None);
    s.add_key("openrouter", K2, None);
    let labels: Vec<_> = s.pool("openrouter").iter().map(|e| e["label"].as_str().unwrap().to_string()).collect();
    assert_eq!(labels, ["api-key-1", "api-key-2"]);
    let o = s.run(&["auth", "remove", "openrouter", "api-key-1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    s.add_key("openrouter", K3, None);
    let mut labels: Vec<_> = s.pool("openrouter").iter().map(|e| e["label"].as_str().unwrap().to_string()).collect();
    labels.sort();
    assert_eq!(labels, ["api-key-1", "api-key-2"]);
}

#[test]
fn duplicate_key_and_label_refused() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("work"));
    let before = s.auth_bytes();
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], K1);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("this key is already in openrouter as #1"), "{}", o.stderr);
    assert!(o.stderr.contains("\"work\""));
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-", "--label", "work"], K2);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("label \"work\" is already used in openrouter (#1 "), "{}", o.stderr);
    assert_eq!(s.auth_bytes(), before);
}

#[test]
fn list_shows_columns_masks_and_marker() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, None);
    s.add_key("openrouter", K2, Some("work"));
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "openrouter (2 credentials, fill_first)");
    assert!(lines[1].starts_with("#  ID      LABEL"), "{}", lines[1]);
    for col in ["TYPE", "SOURCE", "KEY", "STATUS", "REQS", "NEXT"] {
        assert!(lines[1].contains(col));
    }
    assert!(lines[2].contains("sk-o…1111") && lines[2].contains("ok") && lines[2].ends_with('←'), "{}", lines[2]);
    assert!(lines[3].contains("sk-o…2222") && !lines[3].contains('←'));
    assert!(!o.stdout.contains(K1) && !o.stdout.contains(K2));
    assert!(!o.stdout.contains('\u{1b}'), "no ANSI escapes when not a terminal");
    let before = s.auth_bytes();
    s.run(&["auth", "list"]);
    assert_eq!(s.auth_bytes(), before, "list never writes");
    let o = s.run(&["auth", "list", "openrouter"]);
    assert!(o.stdout.starts_with("openrouter (2 credentials"));
    s.run(&["auth", "remove", "openrouter", "1"]);
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.starts_with("openrouter (1 credential, fill_first)"), "{}", o.stdout);
}

#[test]
fn list_json_shape() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, None);
    let o = s.run(&["auth", "list", "--json"]);
    let v = o.json();
    let p = &v["providers"][0];
    assert_eq!(p["provider"], "openrouter");
    assert_eq!(p["strategy"], "fill_first");
    let e = &p["entries"][0];
    assert_eq!(p["next"], e["id"]);
    assert_eq!(e["index"], 1);
    assert_eq!(e["secret"], "sk-o…1111");
    assert_eq!(e["status"], "ok");
    assert_eq!(e["persisted"], true);
    assert_eq!(e["next"], true);
    for k in ["until", "seconds_left", "reason", "code", "class"] {
        assert!(e[k].is_null(), "{k}");
    }
}

#[test]
fn list_for_empty_provider() {
    let s = Sealed::new();
    let o = s.run(&["auth", "list", "deepseek"]);
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, "");
    assert!(o.stderr.contains("No credentials for deepseek."));
}

#[test]
fn remove_by_index_id_label() {
    let s = Sealed::new();
    // hermes refuses an all-digit label, but another tool may have written one.
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": "2", "priority": 0, "source": "manual", "access_token": K1}]}}));
    s.add_key("openrouter", K2, Some("work"));
    s.add_key("openrouter", K3, None);
    // A label "2" beats index 2.
    let o = s.run(&["auth", "remove", "openrouter", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Removed openrouter credential #1 (2)"), "{}", o.stderr);
    let id = s.pool("openrouter").iter().find(|e| e["label"] == "work").unwrap()["id"].as_str().unwrap().to_string();
    let o = s.run(&["auth", "remove", "openrouter", &id]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let pool = s.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0]["priority"], 0, "priorities renumbered 0..n-1");
    let o = s.run(&["auth", "remove", "openrouter", "99"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no credential matching \"99\" in openrouter"));
    assert!(o.stderr.contains("  #1 "), "valid choices listed: {}", o.stderr);
    let o = s.run(&["auth", "remove", "nosuchprovider", "1"]);
    assert_eq!(o.code, 1, "unknown provider is exit 1 (docs/design.md#normalising-provider-input)");
    let o = s.run(&["auth", "remove", "openrouter", ""]);
    assert_eq!(o.code, 2);
}

#[test]
fn remove_ambiguous_label_lists_candidates() {
    let s = Sealed::new();
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": "work", "priority": 0, "source": "manual", "access_token": K1},
        {"id": "bbbbbb", "label": "Work", "priority": 1, "source": "manual", "access_token": K2}]}}));
    let before = s.auth_bytes();
    let o = s.run(&["auth", "remove", "openrouter", "work"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("#1 aaaaaa work") && o.stderr.contains("#2 bbbbbb Work"), "{}", o.stderr);
    assert_eq!(s.auth_bytes(), before);
}

#[test]
fn token_prints_secret_alone_and_counts() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("personal"));
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, format!("{K1}\n"));
    assert_eq!(s.pool("openrouter")[0]["request_count"], 1);
    let o = s.run(&["auth", "token", "openrouter", "--json"]);
    let v = o.json();
    assert_eq!(v["provider"], "openrouter");
    assert_eq!(v["label"], "personal");
    assert_eq!(v["auth_type"], "api_key");
    assert_eq!(v["base_url"], "https://openrouter.ai/api/v1");
    assert_eq!(v["secret"], K1);
    assert_eq!(s.pool("openrouter")[0]["request_count"], 2);
}

#[test]
fn token_nothing_usable_exits_4() {
    let s = Sealed::new();
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stderr.contains("no usable credential"));
    assert!(!s.home.exists());
    s.add_key("openrouter", K1, Some("a"));
    let id = s.pool("openrouter")[0]["id"].as_str().unwrap().to_string();
    let o = s.run(&["auth", "report", "openrouter", &id, "--status", "429", "--retry-after", "120"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = s.run(&["auth", "token", "openrouter", "--json"]);
    assert_eq!(o.code, 4);
    assert!(o.stderr.contains(&format!("#1 {id} \"a\": cooling: rate-limited")), "{}", o.stderr);
    assert!(o.stderr.contains("next usable: openrouter at 2026-07-01T09:02:00Z (in 2m 0s)"), "{}", o.stderr);
    assert!(o.stderr.contains("openrouter: 1 cooling (rate-limited) until 2026-07-01T09:02:00Z\n"), "{}", o.stderr);
    assert_eq!(o.json()["error"]["kind"], "no_usable_credential");
}

#[test]
fn report_marks_and_clears() {
    let mut s = Sealed::new();
    s.add_key("openrouter", K1, Some("a"));
    s.add_key("openrouter", K2, Some("b"));
    let id = s.pool("openrouter")[0]["id"].as_str().unwrap().to_string();
    let o = s.run(&["auth", "report", "openrouter", &id, "--status", "402"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("cooling: billing"), "{}", o.stdout);
    let e = &s.pool("openrouter")[0];
    assert_eq!(e["last_status"], "exhausted");
    assert_eq!(e["last_error_code"], 402);
    assert_eq!(e["last_error_reset_at"].as_f64().unwrap(), T0 + 3600.0);
    // fill_first now skips it.
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K2);
    // After the deadline it is picked again.
    s.now = T0 + 3601.0;
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K1);
    let o = s.run(&["auth", "report", "openrouter", &id, "--status", "200", "--json"]);
    assert_eq!(o.json()["status"], "ok");
    assert!(s.pool("openrouter")[0]["last_status"].is_null());
    let o = s.run(&["auth", "report", "openrouter", "nosuch", "--status", "429"]);
    assert_eq!(o.code, 1);
    let o = s.run(&["auth", "report", "openrouter", &id, "--status", "abc"]);
    assert_eq!(o.code, 2);
}

#[test]
fn report_timeout_and_5xx_change_nothing() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("a"));
    let id = s.pool("openrouter")[0]["id"].as_str().unwrap().to_string();
    let before = s.auth_bytes();
    for st in ["timeout", "503"] {
        let o = s.run(&["auth", "report", "openrouter", &id, "--status", st]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    assert_eq!(s.auth_bytes(), before);
}

#[test]
fn reset_counts_and_dead_entries() {
    let s = Sealed::new();
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": "a", "priority": 0, "source": "manual", "access_token": K1,
         "last_status": "exhausted", "last_status_at": T0 - 10.0, "last_error_code": 429,
         "last_error_reason": "rate_limit_exceeded", "last_error_message": null, "last_error_reset_at": T0 + 50.0},
        {"id": "bbbbbb", "label": "b", "priority": 1, "source": "manual", "access_token": K2,
         "last_status": "dead", "last_status_at": T0 - 10.0, "last_error_code": 401,
         "last_error_reason": "token_invalidated", "last_error_message": null, "last_error_reset_at": null}]}}));
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("cooling: rate-limited (429), 50s left"), "{}", o.stdout);
    assert!(o.stdout.contains("dead: token_invalidated (401)"));
    let o = s.run(&["auth", "reset", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Reset 1 cooldown in openrouter"), "{}", o.stderr);
    assert!(o.stderr.contains("1 dead credential not reset: openrouter bbbbbb (b) token_invalidated"), "{}", o.stderr);
    assert!(o.stderr.contains("hermes auth reset openrouter bbbbbb"));
    let before = s.auth_bytes();
    let o = s.run(&["auth", "reset"]);
    assert!(o.stderr.contains("Reset 0 cooldowns across 1 pool"), "{}", o.stderr);
    assert_eq!(s.auth_bytes(), before, "a no-op reset writes nothing");
    let o = s.run(&["auth", "reset", "openrouter", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("Reset 0 cooldowns in openrouter"),
        "an index does not revive a dead entry: {}",
        o.stderr
    );
    assert!(o.stderr.contains("hermes auth reset openrouter bbbbbb"), "{}", o.stderr);
    assert_eq!(s.pool("openrouter")[1]["last_status"], "dead");
    let o = s.run(&["auth", "reset", "openrouter", "bbbbbb"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(s.pool("openrouter")[1]["last_status"].is_null());
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0);
}

#[test]
fn invalid_stores_are_never_overwritten() {
    let cases: Vec<(&str, &str)> = vec![
        ("{not json", "invalid JSON at line 1"),
        ("", "empty file"),
        ("[]", "top level"),
        (r#"{"version": 99}"#, "version"),
        (r#"{"credential_pool": {"openrouter": [1]}}"#, "credential_pool.openrouter[0]"),
        (
            r#"{"credential_pool": {"openrouter": [{"id": "a", "priority": "high"}]}}"#,
            "credential_pool.openrouter[0].priority: expected an integer, found \"high\"",
        ),
    ];
    for (text, problem) in cases {
        let s = Sealed::new();
        s.write_home_file("auth.json", text);
        for args in [
            vec!["auth", "list"],
            vec!["auth", "reset"],
            vec!["auth", "token", "openrouter"],
            vec!["auth", "remove", "openrouter", "1"],
        ] {
            let o = s.run(&args);
            assert_eq!(o.code, 1, "{args:?} on {text:?}: {}", o.stderr);
            assert!(
                o.stderr.starts_with("error: ") && o.stderr.contains("auth.json") && o.stderr.contains(problem),
                "{args:?} on {text:?}: {}",
                o.stderr
            );
        }
        let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], K1);
        assert_eq!(o.code, 1);
        assert_eq!(std::fs::read_to_string(s.auth_path()).unwrap(), text, "bytes unchanged");
        let names: Vec<_> = std::fs::read_dir(&s.home).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(
            names.iter().all(|n| !n.to_string_lossy().contains("corrupt") && !n.to_string_lossy().contains(".tmp")),
            "{names:?}"
        );
    }
}

#[test]
fn directory_store_is_an_error() {
    let s = Sealed::new();
    std::fs::create_dir_all(s.auth_path()).unwrap();
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("auth.json"), "{}", o.stderr);
}

#[test]
fn repair_moves_invalid_store_aside() {
    let s = Sealed::new();
    s.write_home_file("auth.json", "{oops");
    // Every command that meets the broken store, repair included, ends with the way out.
    for args in [&["auth", "repair"][..], &["auth", "list"][..]] {
        let o = s.run(args);
        assert_eq!(o.code, 1);
        assert!(o.stderr.contains("invalid JSON"));
        assert!(o.stderr.trim_end().ends_with("start with an empty store: hermes auth repair --force"), "{}", o.stderr);
    }
    let o = s.run(&["auth", "repair", "--force"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let aside = s.home.join("auth.json.corrupt-20260701T090000Z");
    assert!(
        o.stderr.contains(&format!("Moved the invalid {} to {};", s.auth_path().display(), aside.display())),
        "{}",
        o.stderr
    );
    let o = s.run(&["auth", "repair"]);
    assert_eq!(o.stdout.trim(), format!("{} does not exist yet; the first change creates it", s.auth_path().display()));
    assert!(s.home.join("auth.json.corrupt-20260701T090000Z").exists());
    s.add_key("openrouter", K1, None);
    assert_eq!(s.pool("openrouter").len(), 1);
    let o = s.run(&["auth", "repair", "--force"]);
    assert_eq!(o.code, 0);
    assert_eq!(s.pool("openrouter").len(), 1, "a valid store is never moved");
}

#[test]
fn loose_modes_are_warned_about_and_a_write_makes_auth_json_0600() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sealed::new();
    s.add_key("openrouter", K1, None);
    std::fs::set_permissions(s.auth_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&s.home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = s.auth_bytes();
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0);
    assert_eq!(s.auth_bytes(), before);
    // A read changes no mode; it says what is loose and how to fix it.
    assert_eq!(mode(&s.auth_path()), 0o644);
    assert_eq!(mode(&s.home), 0o777);
    assert!(o.stderr.contains("mode 0644") && o.stderr.contains("chmod 600"), "{}", o.stderr);
    assert!(o.stderr.contains("mode 0777") && o.stderr.contains("chmod o-w"), "{}", o.stderr);
    // A change rewrites auth.json as a new 0600 file; the directory keeps its mode.
    s.add_key("openrouter", K2, None);
    assert_eq!(mode(&s.auth_path()), 0o600);
    assert_eq!(mode(&s.home), 0o777);
}

#[test]
fn json_error_document() {
    let s = Sealed::new();
    let o = s.run(&["auth", "remove", "openrouter", "1", "--json"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.json()["error"]["kind"], "error");
    assert!(o.stderr.starts_with("error: "));
}

#[test]
fn bare_auth_without_terminal_exits_2() {
    let s = Sealed::new();
    let o = s.run(&["auth"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("hermes auth add") && o.stderr.contains("--api-key -"), "{}", o.stderr);
}

#[test]
fn broken_config_is_reported() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies: [a, b]\n");
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("config.yaml") && o.stderr.contains("credential_pool_strategies"), "{}", o.stderr);
}

#[test]
fn usage_errors_from_the_parser_honour_json() {
    let s = Sealed::new();
    for args in [
        vec!["auth", "token", "--json"],
        vec!["auth", "list", "--bogus", "--json"],
        vec!["auth", "remove", "openrouter", "--json"],
    ] {
        let o = s.run(&args);
        assert_eq!(o.code, 2, "{args:?}");
        let v = o.json();
        assert_eq!(v["error"]["kind"], "usage", "{args:?}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        assert!(o.stderr.starts_with("error: "), "{}", o.stderr);
    }
    let o = s.run(&["auth", "token"]);
    assert_eq!(o.code, 2);
    assert_eq!(o.stdout, "", "no JSON without --json");
    let o = s.run(&["--version"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.starts_with("hermes "));
}

#[test]
fn empty_suppression_lists_are_deleted_on_write() {
    let s = Sealed::new();
    s.write_auth(
        &json!({"version": 1, "suppressed_sources": {"xai": [], "deepseek": {}, "groq": ["env:GROQ_API_KEY"]}}),
    );
    s.add_key("openrouter", K1, None);
    assert_eq!(s.auth()["suppressed_sources"], json!({"groq": ["env:GROQ_API_KEY"]}));
    s.write_auth(&json!({"version": 1, "suppressed_sources": {"xai": []}}));
    s.add_key("openrouter", K2, None);
    assert!(s.auth().get("suppressed_sources").is_none());
}

#[test]
fn targets_in_an_empty_pool_point_at_list() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, None);
    let o = s.run(&["auth", "remove", "deepseek", "1"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("no credential matching \"1\" in deepseek; see: hermes auth list deepseek"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_key_with_a_byte_order_mark_is_stored_without_it() {
    let s = Sealed::new();
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "\u{feff}sk-or-v1-bomkey0001\r\n");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(s.pool("openrouter")[0]["access_token"], "sk-or-v1-bomkey0001");
}

#[test]
fn help_lists_each_choice_once_and_version_only_at_the_top() {
    let s = Sealed::new();
    let o = s.run(&["auth", "add", "--help"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("[possible values: api-key, oauth]"), "{}", o.stdout);
    assert!(!o.stdout.contains("api_key"), "the spelling alias is not listed: {}", o.stdout);
    // The alias still works for scripts written against it.
    let o = s.run_stdin(&["auth", "add", "openrouter", "--type", "api_key", "--api-key", "-"], "sk-or-v1-aliasworks01");
    assert_eq!(o.code, 0, "{}", o.stderr);
    for args in [vec!["auth", "--help"], vec!["auth", "list", "--help"], vec!["serve", "--help"]] {
        let o = s.run(&args);
        assert!(!o.stdout.contains("--version"), "{args:?} repeats -V/--version: {}", o.stdout);
    }
    assert!(s.run(&["--help"]).stdout.contains("--version"));
}

#[test]
fn env_values_that_add_would_refuse_are_not_seeded_and_say_why() {
    let s = Sealed::new();
    s.write_home_file(
        ".env",
        "OPENROUTER_API_KEY=\"sk-or-v1-unterminated01\nDEEPSEEK_API_KEY=sk-deep one\nGROQ_API_KEY=gsk_fine0001\n",
    );
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let env_path = s.auth_path().with_file_name(".env");
    for (var, problem) in
        [("OPENROUTER_API_KEY", "starts or ends with a quote"), ("DEEPSEEK_API_KEY", "contains whitespace")]
    {
        let want = format!("warning: {var} in {} is not used: its value {problem}", env_path.display());
        assert!(o.stderr.contains(&want), "{want}\n{}", o.stderr);
        assert!(!o.stdout.contains(var), "{var} was seeded:\n{}", o.stdout);
    }
    assert!(o.stdout.contains("GROQ_API_KEY"), "{}", o.stdout);
    for secret in ["unterminated01", "sk-deep"] {
        assert!(!o.stderr.contains(secret) && !o.stdout.contains(secret), "a value leaked");
    }
    assert_eq!(s.run(&["auth", "token", "openrouter"]).code, 4);
}

#[test]
fn list_says_why_a_random_pool_has_no_next_marker() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: random\n");
    s.add_key("openrouter", K1, Some("a"));
    s.add_key("openrouter", K2, Some("b"));
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains('←'), "{}", o.stdout);
    assert!(
        o.stdout.contains("random: each pick is drawn from the 2 selectable entries, so none is marked"),
        "{}",
        o.stdout
    );
    assert_eq!(s.run(&["auth", "report", "openrouter", "a", "--status", "429"]).code, 0);
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("random: one entry is selectable, so it is the next pick"), "{}", o.stdout);
    // Other strategies mark the entry and need no such line.
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: fill_first\n");
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains('←') && !o.stdout.contains("random:"), "{}", o.stdout);
}
