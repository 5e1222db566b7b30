//! `hermes auth check` (docs/recovery.md#checking-keys): one key of each kind against a loopback
//! stand-in, classified and marked in one run.

use crate::common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OK: &str = "sk-check-ok-000000000000";
const BAD: &str = "sk-check-401-00000000000";
const POOR: &str = "sk-check-402-00000000000";
const BUSY: &str = "sk-check-429-00000000000";

#[tokio::test]
async fn one_key_of_each_kind_is_classified_and_marked_in_one_run() {
    let server = MockServer::start().await;
    let answer = |key: &str, r: ResponseTemplate| {
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .and(header("authorization", format!("Bearer {key}")))
            .respond_with(r)
    };
    answer(OK, ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "m1"}]}))).mount(&server).await;
    answer(BAD, ResponseTemplate::new(401).set_body_json(json!({"error": {"code": "invalid_api_key"}})))
        .mount(&server)
        .await;
    answer(POOR, ResponseTemplate::new(402).set_body_json(json!({"error": {"code": "insufficient_credits"}})))
        .mount(&server)
        .await;
    answer(BUSY, ResponseTemplate::new(429).insert_header("retry-after", "30")).mount(&server).await;
    let s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        &format!("custom_providers:\n  - name: mock\n    base_url: {}/v1\n", server.uri()),
    );
    for (k, l) in [(OK, "ok"), (BAD, "bad"), (POOR, "poor"), (BUSY, "busy")] {
        s.add_key("mock", k, Some(l));
    }
    let started = Instant::now();
    let o = s.run(&["auth", "check", "custom:mock", "--json"]);
    let took = started.elapsed();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(took < Duration::from_secs(2), "one run under 2 s: {took:?}");
    let probes = o.json()["probes"].as_array().cloned().unwrap();
    let got: Vec<(String, String)> = probes
        .iter()
        .map(|p| (p["label"].as_str().unwrap().to_string(), p["result"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        [("ok", "valid"), ("bad", "rejected"), ("poor", "out of credit"), ("busy", "rate-limited")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(probes[1]["evidence"], "401 invalid_api_key");
    // The pool now knows: the three refused keys are benched, with the provider's reset hint.
    let list = s.run(&["auth", "list", "custom:mock", "--json"]).json();
    let e = |i: usize| list["providers"][0]["entries"][i].clone();
    assert_eq!(e(0)["status"], "ok");
    assert_eq!(e(1)["class"], "auth failed");
    assert_eq!(e(2)["class"], "billing");
    assert_eq!(e(3)["class"], "rate-limited");
    assert_eq!(e(3)["seconds_left"], 30);
    let text = s.run(&["auth", "check", "custom:mock"]).stdout;
    assert!(text.contains("rate-limited") && text.contains("3 credentials marked"), "{text}");
    // Never a secret in what it prints.
    for k in [OK, BAD, POOR, BUSY] {
        assert!(!o.stdout.contains(k) && !text.contains(k));
    }
}

#[tokio::test]
async fn a_good_answer_lifts_an_auth_bench_but_not_a_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/models")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        &format!("custom_providers:\n  - name: mock\n    base_url: {}/v1\n", server.uri()),
    );
    s.add_key("mock", OK, Some("was-401"));
    s.add_key("mock", BUSY, Some("was-429"));
    assert_eq!(s.run(&["auth", "report", "custom:mock", "was-401", "--status", "401"]).code, 0);
    assert_eq!(s.run(&["auth", "report", "custom:mock", "was-429", "--status", "429"]).code, 0);
    let o = s.run(&["auth", "check", "custom:mock", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let list = s.run(&["auth", "list", "custom:mock", "--json"]).json();
    assert_eq!(list["providers"][0]["entries"][0]["status"], "ok");
    assert_eq!(list["providers"][0]["entries"][1]["status"], "cooling");
}
