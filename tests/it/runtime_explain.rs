//! `hermes auth explain` and `hermes auth simulate` in a sealed home: both only read the store
//! (byte-identical afterwards, nothing created) and tell the same story the runtime acts out.

use crate::common::*;

const KA: &str = "sk-or-v1-aaaa1111";
const KB: &str = "sk-or-v1-bbbb2222";

fn two_keys_with_fallback() -> Sealed {
    let s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        "model:\n  provider: openrouter\n  default: m\nfallback_providers:\n  - provider: deepseek\n    model: deepseek-chat\n",
    );
    s.add_key("openrouter", KA, Some("a"));
    s.add_key("openrouter", KB, Some("work"));
    s
}

#[test]
fn explain_names_the_next_pick_and_why_others_are_skipped() {
    let mut s = two_keys_with_fallback();
    s.var("DEEPSEEK_API_KEY", "sk-deep-0000aaaa");
    assert_eq!(s.run(&["auth", "report", "openrouter", "a", "--status", "429", "--retry-after", "42"]).code, 0);
    let before = s.auth_bytes();

    let o = s.run(&["auth", "explain", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out = &o.stdout;
    assert!(out.starts_with("openrouter (2 credentials, fill_first)\n"), "{out}");
    assert!(out.contains("next: #2 "), "{out}");
    assert!(out.contains("\"work\" (sk-o…2222): fill_first takes the first selectable entry"), "{out}");
    assert!(out.contains("\"a\": skipped: cooling until 2026-07-01T09:00:42Z: rate-limited (429), 42s left"), "{out}");
    assert!(out.contains("fallback 1: deepseek/deepseek-chat (fallback_providers[0]): usable: next #1"), "{out}");
    assert!(out.contains("if openrouter had nothing usable: fallback deepseek/deepseek-chat"), "{out}");
    assert_eq!(s.auth_bytes(), before, "explain writes nothing");

    let j = s.run(&["auth", "explain", "openrouter", "--json"]).json();
    assert_eq!(j["next"]["label"], "work");
    assert_eq!(j["entries"][0]["status"], "cooling");
    assert_eq!(j["entries"][0]["until"], "2026-07-01T09:00:42Z");
    assert_eq!(j["entries"][0]["selectable"], false);
    assert_eq!(j["entries"][1]["next"], true);
    assert_eq!(j["would_follow"], "deepseek/deepseek-chat");
    assert_eq!(j["fallbacks"][0]["usable"], true);
}

#[test]
fn explain_when_nothing_is_usable() {
    let s = two_keys_with_fallback();
    assert_eq!(s.run(&["auth", "report", "openrouter", "a", "--status", "402"]).code, 0);
    assert_eq!(
        s.run(&["auth", "report", "openrouter", "work", "--status", "401", "--reason", "token_invalidated"]).code,
        0
    );
    let o = s.run(&["auth", "explain", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out = &o.stdout;
    assert!(
        out.contains("next: none: no entry is selectable; usable again at 2026-07-01T10:00:00Z (in 1h 0m)"),
        "{out}"
    );
    assert!(out.contains("\"work\": skipped: dead: token_invalidated (401) — add a new key or reset by id"), "{out}");
    assert!(out.contains("deepseek/deepseek-chat (fallback_providers[0]): not usable: no credentials"), "{out}");
    assert!(out.contains("no fallback is usable either: the next request would fail (exit 4)"), "{out}");
}

#[test]
fn explain_reads_only_and_refuses_what_it_cannot_explain() {
    let s = Sealed::new();
    let o = s.run(&["auth", "explain", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("next: none: the pool is empty (add one: hermes auth add openrouter)"), "{}", o.stdout);
    assert!(!s.home.exists(), "explain created the home");
    assert_eq!(s.run(&["auth", "explain", "nosuch"]).code, 1);
    assert_eq!(s.run(&["auth", "explain", "copilot"]).code, 2);
}

#[test]
fn simulate_steps_through_the_rules_on_a_copy() {
    let s = two_keys_with_fallback();
    let before = s.auth_bytes();
    let o = s.run(&["auth", "simulate", "openrouter", "--events", "429,429:retry-after=30,401,200"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out = &o.stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("simulating openrouter (fill_first) from 2026-07-01T09:00:00Z"), "{out}");
    assert!(lines[1].contains("request 1: #1 ") && lines[1].contains("\"a\" ← 429 (rate_limited) → rotate"), "{out}");
    assert!(lines[1].contains("benched until 2026-07-01T09:01:00Z (1m 0s)"), "{out}");
    assert!(lines[2].contains("\"work\" ← 429:retry-after=30 (rate_limited) → fallback"), "{out}");
    assert!(lines[2].contains("benched until 2026-07-01T09:00:30Z (30s)"), "{out}");
    assert!(lines[2].contains("the request goes to fallback deepseek/deepseek-chat"), "{out}");
    assert!(lines[3].contains("request 2: no entry ← 401 → not_sent"), "{out}");
    assert_eq!(s.auth_bytes(), before, "simulate never touches the store");

    let j = s.run(&["auth", "simulate", "openrouter", "--events", "429,wait=61,200", "--json"]).json();
    let steps = j["steps"].as_array().unwrap();
    assert_eq!(steps[0]["decision"], "rotate");
    assert_eq!(steps[0]["until"], "2026-07-01T09:01:00Z");
    assert_eq!(steps[1]["decision"], "wait");
    // After the wait, the benched key is usable again and serves the next request.
    assert_eq!(steps[2]["entry"]["label"], "work", "the rotation's request continues on its sibling");
    assert_eq!(steps[2]["decision"], "reply");
    assert_eq!(j["entries"][0]["status"], "ok");
    assert_eq!(s.auth_bytes(), before);
}

#[test]
fn simulate_sole_key_rules() {
    let s = Sealed::new();
    s.add_key("openrouter", KA, Some("only"));
    let before = s.auth_bytes();
    let o = s.run(&["auth", "simulate", "openrouter", "--events", "429:retry-after=3,200,401,401,503,503", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j = o.json();
    let decisions: Vec<&str> = j["steps"].as_array().unwrap().iter().map(|s| s["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["retry", "reply", "fresh_retry", "fail", "not_sent", "not_sent"]);
    assert_eq!(j["steps"][0]["sleep_ms"], 3000);
    assert_eq!(j["steps"][1]["at"], "2026-07-01T09:00:03Z", "the sleep advanced the clock");
    assert!(j["steps"][3]["note"].as_str().unwrap().contains("the request fails (exit 1)"));
    assert_eq!(s.auth_bytes(), before);

    let o = s.run(&["auth", "simulate", "openrouter", "--events", "42x"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--events"), "{}", o.stderr);
}
