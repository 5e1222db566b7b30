//! Benches scoped to one model (docs/recovery.md#model-benches).

use crate::common::*;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const A: &str = "sk-model-a-0000000000";
const B: &str = "sk-model-b-0000000000";

#[tokio::test]
async fn a_model_limit_on_a_benches_a_for_that_model_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {A}")))
        .and(body_partial_json(json!({"model": "model-x"})))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {
            "code": "rate_limit_exceeded",
            "message": "Rate limit reached for model model-x in organization org-1 on requests per min"
        }})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}]})),
        )
        .mount(&server)
        .await;
    let s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        &format!("model:\n  provider: custom:mock\n  default: model-x\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n", server.uri()),
    );
    s.add_key("mock", A, Some("a"));
    s.add_key("mock", B, Some("b"));
    // X on A: 429 naming the model → A benched for X only, the request goes on to B.
    assert_eq!(s.run(&["chat", "-q", "hi", "--model", "model-x"]).code, 0);
    // Y still goes to A; X goes to B.
    assert_eq!(s.run(&["chat", "-q", "hi", "--model", "model-y"]).code, 0);
    assert_eq!(s.run(&["chat", "-q", "hi", "--model", "model-x"]).code, 0);
    let got: Vec<(String, String)> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let key =
                r.headers.get("authorization").unwrap().to_str().unwrap().trim_start_matches("Bearer ").to_string();
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            (key, body["model"].as_str().unwrap().to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [(A, "model-x"), (B, "model-x"), (A, "model-y"), (B, "model-x")]
        .iter()
        .map(|(k, m)| (k.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
    // The entry itself is fine; list and explain show the model's bench.
    let list = s.run(&["auth", "list", "custom:mock", "--json"]).json();
    let a = &list["providers"][0]["entries"][0];
    assert_eq!(a["status"], "ok", "{a}");
    assert_eq!(a["model_benches"][0]["model"], "model-x", "{a}");
    assert_eq!(a["model_benches"][0]["code"], 429);
    let text = s.run(&["auth", "list", "custom:mock"]).stdout;
    assert!(text.contains("model-x: cooling"), "{text}");
    let explain = s.run(&["auth", "explain", "custom:mock"]).stdout;
    assert!(explain.contains("for model model-x only"), "{explain}");
    // A reset forgets it.
    assert_eq!(s.run(&["auth", "reset", "custom:mock"]).code, 0);
    let list = s.run(&["auth", "list", "custom:mock", "--json"]).json();
    assert!(list["providers"][0]["entries"][0].get("model_benches").is_none(), "{list}");
}
