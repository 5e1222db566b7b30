//! Usage per entry (docs/guide.md#usage): the totals equal what the stand-in reported, exactly,
//! for whole answers through `hermes chat` and for streamed answers through the gateway.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-usage-key-0000000000";

fn home(server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    s.var("HERMES_SERVE_KEY", "hsk-usage-client-0001");
    s.write_home_file(
        "config.yaml",
        &format!(
            "model:\n  provider: custom:mock\n  default: m1\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n",
            server.uri()
        ),
    );
    s.add_key("mock", KEY, Some("k1"));
    s
}

fn totals(s: &Sealed) -> Value {
    let o = s.run(&["auth", "usage", "custom:mock", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.json()["entries"][0].clone()
}

/// The stand-in's whole answer: 11 tokens in, 7 out.
async fn mount_whole_answer(server: &MockServer) {
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7}
        })))
        .mount(server)
        .await;
}

/// One chat request through the gateway, which must answer 200; the body.
async fn ask(g: &crate::serve::Gateway, stream: bool) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", g.base))
        .bearer_auth("hsk-usage-client-0001")
        .json(&json!({"model": "custom:mock:m1", "stream": stream, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn whole_and_streamed_answers_add_up_exactly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).insert_header("content-type", "text/event-stream").set_body_string(
            "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n\
             data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\n\
             data: [DONE]\n\n",
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_whole_answer(&server).await;
    let s = home(&server);
    for _ in 0..3 {
        let o = s.run(&["chat", "-q", "hi"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let t = totals(&s);
    assert_eq!(
        (t["requests"].clone(), t["input_tokens"].clone(), t["output_tokens"].clone()),
        (json!(3), json!(33), json!(21))
    );
    // Two streamed answers through the gateway.
    let g = crate::serve::Gateway::start(&s);
    for _ in 0..2 {
        let body = ask(&g, true).await;
        assert!(body.contains("[DONE]"), "{body}");
    }
    let (code, lines) = g.stop();
    assert_eq!(code, 0, "{lines:?}");
    let t = totals(&s);
    assert_eq!(
        (t["requests"].clone(), t["input_tokens"].clone(), t["output_tokens"].clone()),
        (json!(5), json!(33 + 10), json!(21 + 6))
    );
    // The table; a window that starts after today counts nothing.
    let text = s.run(&["auth", "usage"]).stdout;
    assert!(text.contains("k1") && text.contains("43") && text.contains("27"), "{text}");
    let later = s.run(&["auth", "usage", "--since", "2026-07-02", "--json"]).json();
    assert_eq!(later["entries"][0]["requests"], 0);
}

#[tokio::test]
async fn the_gateway_records_every_answer_it_gave_before_it_stops() {
    let server = MockServer::start().await;
    mount_whole_answer(&server).await;
    let mut s = home(&server);
    // No write-back or batch during the run: only the stop can record these answers.
    s.var("HERMES_TEST_FLUSH_EVERY", "3600");
    let g = crate::serve::Gateway::start(&s);
    for _ in 0..5 {
        ask(&g, false).await;
    }
    assert_eq!(s.pool("custom:mock")[0]["request_count"], json!(0), "nothing written during the run");
    let (code, lines) = g.stop();
    assert_eq!(code, 0, "{lines:?}");
    let t = totals(&s);
    assert_eq!((t["requests"].clone(), t["input_tokens"].clone()), (json!(5), json!(55)), "{t}");
    assert_eq!(s.pool("custom:mock")[0]["request_count"], json!(5));
}
