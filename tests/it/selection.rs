//! Strategies across processes: every pick is a transaction on disk.

use crate::common::*;
use serde_json::json;

fn entry(id: &str, prio: i64, key: &str, count: i64) -> serde_json::Value {
    with(key_entry(id, id, key, prio), "request_count", json!(count))
}

fn pool_store(s: &Sealed, entries: Vec<serde_json::Value>) {
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": entries}}));
}

#[test]
fn round_robin_alternates_across_processes() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: round_robin\n");
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 0), entry("bbbbbb", 1, "sk-or-v1-second-111", 0)]);
    assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), "sk-or-v1-first-0000");
    assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), "sk-or-v1-second-111");
    assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), "sk-or-v1-first-0000");
    let prios: Vec<i64> = s.pool("openrouter").iter().map(|e| e["priority"].as_i64().unwrap()).collect();
    let mut sorted = prios.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1]);
}

#[test]
fn round_robin_single_selectable_does_not_reorder() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: round_robin\n");
    let mut dead = entry("bbbbbb", 1, "sk-or-v1-second-111", 0);
    dead["last_status"] = json!("dead");
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 0), dead]);
    s.run(&["auth", "token", "openrouter"]);
    let p = s.pool("openrouter");
    assert_eq!(p[0]["priority"], 0);
    assert_eq!(p[1]["priority"], 1);
}

#[test]
fn least_used_picks_lowest_count() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: least_used\n");
    pool_store(
        &s,
        vec![
            entry("aaaaaa", 0, "sk-or-v1-first-0000", 100),
            entry("bbbbbb", 1, "sk-or-v1-second-111", 10),
            entry("cccccc", 2, "sk-or-v1-third-2222", 50),
        ],
    );
    let o = s.run(&["auth", "list"]);
    let marked: Vec<_> = o.stdout.lines().filter(|l| l.ends_with('←')).collect();
    assert_eq!(marked.len(), 1);
    assert!(marked[0].contains("bbbbbb"));
    assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), "sk-or-v1-second-111");
    assert_eq!(s.pool("openrouter")[1]["request_count"], 11);
}

#[test]
fn random_marks_nothing_and_picks_selectable() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: random\n");
    let mut dead = entry("bbbbbb", 1, "sk-or-v1-second-111", 0);
    dead["last_status"] = json!("dead");
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 0), dead]);
    let o = s.run(&["auth", "list"]);
    assert!(!o.stdout.contains('←'));
    for _ in 0..5 {
        assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), "sk-or-v1-first-0000");
    }
}

#[test]
fn bogus_strategy_warns_and_fills_first() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: bogus\n");
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 5), entry("bbbbbb", 1, "sk-or-v1-second-111", 0)]);
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), "sk-or-v1-first-0000");
    assert!(o.stderr.contains("warning: config.yaml credential_pool_strategies.openrouter = \"bogus\" is not a strategy; using fill_first"), "{}", o.stderr);
}

#[test]
fn custom_pool_strategy_key() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  \"custom:my-local-llm\": least_used\ncustom_providers:\n  - name: My Local LLM\n    base_url: http://127.0.0.1:1/v1\n");
    let o = s.run_stdin(&["auth", "add", "custom:my-local-llm", "--api-key", "-"], "sk-local-aaaa-1111");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("custom:my-local-llm (1 credential, least_used)"), "{}", o.stdout);
}

#[test]
fn list_marker_changes_nothing() {
    let s = Sealed::new();
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 3)]);
    let before = s.auth_bytes();
    s.run(&["auth", "list"]);
    s.run(&["auth", "list", "--json"]);
    assert_eq!(s.auth_bytes(), before);
}

#[test]
fn sole_429_ladder_capped_and_hint_honoured() {
    let mut s = Sealed::new();
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 0)]);
    s.run(&["auth", "report", "openrouter", "aaaaaa", "--status", "429"]);
    assert_eq!(s.pool("openrouter")[0]["last_error_reset_at"].as_f64().unwrap(), T0 + 60.0);
    s.now = T0 + 61.0;
    s.run(&["auth", "report", "openrouter", "aaaaaa", "--status", "429"]);
    assert_eq!(s.pool("openrouter")[0]["last_error_reset_at"].as_f64().unwrap(), T0 + 61.0 + 60.0, "sole cap");
    s.now = T0 + 200.0;
    s.run(&["auth", "report", "openrouter", "aaaaaa", "--status", "429", "--retry-after", "900"]);
    assert_eq!(s.pool("openrouter")[0]["last_error_reset_at"].as_f64().unwrap(), T0 + 200.0 + 900.0);
}

#[test]
fn ladder_with_sibling() {
    let mut s = Sealed::new();
    pool_store(&s, vec![entry("aaaaaa", 0, "sk-or-v1-first-0000", 0), entry("bbbbbb", 1, "sk-or-v1-second-111", 0)]);
    let mut t = T0;
    for want in [60.0, 300.0, 1500.0, 3600.0, 3600.0] {
        s.now = t;
        let o = s.run(&["auth", "report", "openrouter", "aaaaaa", "--status", "429"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let reset = s.pool("openrouter")[0]["last_error_reset_at"].as_f64().unwrap();
        assert_eq!(reset - t, want);
        t = reset + 1.0;
    }
}

#[test]
fn same_key_in_two_rows_benches_both() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", "sk-or-v1-shared-key-1");
    pool_store(
        &s,
        vec![entry("aaaaaa", 0, "sk-or-v1-shared-key-1", 0), entry("bbbbbb", 1, "sk-or-v1-other-key-22", 0)],
    );
    s.run(&["auth", "report", "openrouter", "aaaaaa", "--status", "402"]);
    let v = s.run(&["auth", "list", "--json"]).json();
    let e = v["providers"][0]["entries"].as_array().unwrap().clone();
    let env_row = e.iter().find(|x| x["source"] == "env:OPENROUTER_API_KEY").unwrap();
    assert_eq!(env_row["status"], "cooling");
    assert_eq!(e.iter().find(|x| x["id"] == "bbbbbb").unwrap()["status"], "ok");
}

#[test]
fn hermes_agent_rows_without_reset_at() {
    let s = Sealed::new();
    let mut a = entry("aaaaaa", 0, "sk-or-v1-first-0000", 0);
    a["last_status"] = json!("exhausted");
    a["last_status_at"] = json!(T0 - 600.0);
    a["last_error_code"] = json!(429);
    let mut b = entry("bbbbbb", 1, "sk-or-v1-second-111", 0);
    b["last_status"] = json!("exhausted");
    b["last_status_at"] = json!(T0 - 1800.0);
    b["last_error_code"] = json!(402);
    let mut c = entry("cccccc", 2, "sk-or-v1-third-2222", 0);
    c["last_status"] = json!("exhausted");
    pool_store(&s, vec![a, b, c]);
    let v = s.run(&["auth", "list", "--json"]).json();
    let e = v["providers"][0]["entries"].as_array().unwrap().clone();
    // hermes-agent benches a 429 for a flat hour; without a streak of hermes's own, its mark
    // means that hour (50 minutes left), not the 60 s first step of hermes's ladder.
    assert_eq!(e[0]["status"], "cooling");
    assert_eq!(e[1]["status"], "cooling");
    assert_eq!(e[2]["status"], "ok");
    let o = s.run(&["auth", "list"]);
    assert!(o.stdout.contains("30m 0s left"), "{}", o.stdout);
    assert!(o.stdout.contains("50m 0s left"), "{}", o.stdout);
}
