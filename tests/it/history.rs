//! The event log (docs/guide.md#history): what `auth history` lists after a scripted sequence,
//! concurrent writers, and rotation.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-or-v1-history-aaaaaaaaaaaa1111";

fn events(s: &Sealed, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["auth", "history", "--json"];
    all.extend(args);
    let o = s.run(&all);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.json()["events"].as_array().cloned().unwrap()
}

fn kinds(list: &[Value]) -> Vec<String> {
    list.iter().map(|e| format!("{} {}", e["event"].as_str().unwrap(), e["label"].as_str().unwrap())).collect()
}

#[tokio::test]
async fn a_scripted_sequence_is_listed_exactly_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    let mut s = Sealed::new();
    s.var("HERMES_ANTHROPIC_OAUTH_URL", &server.uri());
    s.write_auth(&store(json!({"anthropic": [anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 60.0)]})));
    s.add_key("openrouter", KEY, Some("k1"));
    for args in [
        vec!["auth", "report", "openrouter", "k1", "--status", "429"],
        vec!["auth", "report", "openrouter", "k1", "--status", "200"],
        vec!["auth", "refresh", "anthropic", "work"],
        vec!["auth", "report", "openrouter", "k1", "--status", "402"],
        vec!["auth", "reset", "openrouter"],
        vec!["auth", "remove", "openrouter", "k1"],
    ] {
        let o = s.run(&args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    }
    let all = events(&s, &[]);
    assert_eq!(
        kinds(&all),
        ["added k1", "benched k1", "came_back k1", "refreshed work", "benched k1", "reset k1", "removed k1"]
    );
    assert_eq!(all[1]["code"], 429);
    assert_eq!(all[1]["class"], "rate-limited");
    assert!(all[1]["until"].as_str().unwrap().starts_with("2026-07-01T"));
    assert_eq!(all[4]["class"], "billing");
    // Filters.
    assert_eq!(kinds(&events(&s, &["anthropic"])), ["refreshed work"]);
    assert_eq!(events(&s, &["openrouter", "k1"]).len(), 6);
    assert_eq!(events(&s, &["--since", "1h"]).len(), 7);
    assert_eq!(events(&s, &["--since", "2026-07-02"]).len(), 0);
    // Never a secret; the file is the user's alone.
    let text = std::fs::read_to_string(s.home.join("hermes-events.jsonl")).unwrap();
    for secret in [KEY, "at-old", "rt-old", "at-new", "rt-new"] {
        assert!(!text.contains(secret), "{secret} in the log");
    }
    assert_eq!(mode(&s.home.join("hermes-events.jsonl")), 0o600);
    let table = s.run(&["auth", "history", "openrouter"]).stdout;
    assert!(table.contains("benched") && table.contains("rate-limited (429)"), "{table}");
}

#[test]
fn eight_writers_at_once_leave_only_whole_lines() {
    let s = std::sync::Arc::new(Sealed::new());
    for i in 0..8 {
        s.add_key("openrouter", &format!("sk-or-v1-history-{i}-aaaaaaaaaaaaaaaa"), Some(&format!("w{i}")));
    }
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                for n in 0..15 {
                    let status = if n % 2 == 0 { "429" } else { "200" };
                    let o = s.run(&["auth", "report", "openrouter", &format!("w{i}"), "--status", status]);
                    assert_eq!(o.code, 0, "{}", o.stderr);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let text = std::fs::read_to_string(s.home.join("hermes-events.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
    }
    // 8 added, then per writer 8 benched and 7 came_back.
    assert_eq!(lines.len(), 8 + 8 * 15, "{}", lines.len());
}

#[test]
fn a_rotated_log_keeps_the_newest_events() {
    let mut s = Sealed::new();
    s.var("HERMES_TEST_EVENTS_CAP", "1500");
    s.add_key("openrouter", KEY, Some("k1"));
    for n in 0..30 {
        let status = if n % 2 == 0 { "429" } else { "200" };
        assert_eq!(s.run(&["auth", "report", "openrouter", "k1", "--status", status]).code, 0);
    }
    let all = events(&s, &[]);
    assert!(all.len() < 31, "older events rotated away: {}", all.len());
    assert_eq!(kinds(&all).last().unwrap(), "came_back k1", "the newest is kept");
    assert!(s.home.join("hermes-events.jsonl.1").exists());
    // `auth list` shows the latest event of each entry.
    let list = s.run(&["auth", "list", "--json"]).json();
    assert_eq!(list["providers"][0]["entries"][0]["last_event"]["event"], "came_back", "{list}");
    let text = s.run(&["auth", "list"]).stdout;
    assert!(text.contains("Last event: k1 came_back 0s ago; see: hermes auth history openrouter"), "{text}");
    let size = |p: &str| std::fs::metadata(s.home.join(p)).map(|m| m.len()).unwrap_or(0);
    assert!(size("hermes-events.jsonl") + size("hermes-events.jsonl.1") < 2 * 1500 + 600);
}
