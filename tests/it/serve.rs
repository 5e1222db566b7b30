//! `hermes serve` over real HTTP: the real binary listens on 127.0.0.1 (a free port), wiremock
//! servers stand in for the providers, and reqwest plays the client.

use crate::common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CLIENT_KEY: &str = "hsk-test-client-key-0001";
const KA: &str = "sk-mock-serve-aaaa1111";
const KB: &str = "sk-mock-serve-bbbb2222";

/// A running gateway: its base URL and the lines it logged so far.
pub struct Gateway {
    child: Child,
    pub base: String,
    lines: mpsc::Receiver<String>,
}

impl Gateway {
    pub fn start(s: &Sealed) -> Gateway {
        Gateway::start_with(s, &[])
    }

    fn start_with(s: &Sealed, extra: &[&str]) -> Gateway {
        let mut child = s
            .process()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no start line: {seen:?}");
            };
            if let Some(url) = line.split("listening on ").nth(1) {
                return Gateway { child, base: url.trim().to_string(), lines: rx };
            }
            seen.push(line);
        }
    }

    /// SIGTERM, then the exit code and every line logged after the start.
    pub fn stop(mut self) -> (i32, Vec<String>) {
        nix_kill(self.child.id());
        let status = self.child.wait().unwrap();
        let lines: Vec<String> = self.lines.try_iter().collect();
        (status.code().unwrap_or(-1), lines)
    }
}

/// A test that fails before `stop` must not leave its gateway running.
impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn nix_kill(pid: u32) {
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(g: &Gateway, path: &str, key: Option<&str>, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().post(format!("{}{path}", g.base)).json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn reply(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": text}}]}))
}

/// A home with the custom pool `mock` at `server` holding keys A and B, and a client key.
fn home(server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    s.var("HERMES_SERVE_KEY", CLIENT_KEY);
    s.write_home_file(
        "config.yaml",
        &format!(
            "model:\n  provider: custom:mock\n  default: m1\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n\
             serve:\n  models:\n    fast: custom:mock:m-fast\n",
            server.uri()
        ),
    );
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));
    s
}

/// A provider where key A is rate-limited (429) and key B answers "from B".
async fn a_limited_b_healthy() -> MockServer {
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": "rate_limit_exceeded"}})))
        .mount(&server)
        .await;
    with_key(KB).respond_with(reply("from B")).mount(&server).await;
    server
}

fn with_key(key: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions")).and(header("authorization", format!("Bearer {key}")))
}

#[tokio::test]
async fn a_rate_limited_key_rotates_and_the_client_gets_the_healthy_answer() {
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": "rate_limit_exceeded"}})))
        .expect(1)
        .mount(&server)
        .await;
    with_key(KB).respond_with(reply("from B")).expect(1).mount(&server).await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let body = json!({"model": "custom:mock:m1", "messages": [{"role": "user", "content": "hi"}],
                      "tools": [{"type": "function", "function": {"name": "f"}}], "x_unknown": {"kept": true}});
    let (status, headers, answer) = post(&g, "/v1/chat/completions", Some(CLIENT_KEY), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "from B");
    assert_eq!(headers["x-hermes-provider"], "custom:mock");
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2, "exactly one attempt per key");
    for r in &reqs {
        let sent: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(sent["model"], "m1", "only the model is rewritten");
        assert_eq!(sent["x_unknown"], json!({"kept": true}));
        assert_eq!(sent["tools"][0]["function"]["name"], "f");
        let all_headers = format!("{:?}", r.headers);
        assert!(!all_headers.contains(CLIENT_KEY), "the client key reached the provider");
    }
    let (code, lines) = g.stop();
    assert_eq!(code, 0, "{lines:?}");
    // Marks and counts are written behind, and all of them by the time the gateway has stopped.
    let pool = s.pool("custom:mock");
    assert_eq!(pool.iter().find(|e| e["label"] == "a").unwrap()["last_error_code"], 429);
    assert_eq!(pool.iter().map(|e| e["request_count"].as_i64().unwrap()).sum::<i64>(), 2);
    assert!(lines.iter().any(|l| l.contains("request method=POST path=/v1/chat/completions status=200")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("benched provider=custom:mock") && l.contains("status=429")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains(KA) && !l.contains(KB) && !l.contains(CLIENT_KEY)), "{lines:?}");
}

#[tokio::test]
async fn the_body_reaches_the_provider_byte_for_byte_but_its_model() {
    // Spelling a JSON tree would not keep: escapes, a number form, a big integer, spacing, a
    // nested "model", and a key order that is not sorted.
    let sent = r#"{ "stream" : false, "model":"custom:mock:m1",
  "messages": [{"role":"user","content":"caf\u00e9 \/ \"q\""}], "n": 1.0e3,
  "seed": 123456789012345678901234567890, "metadata": {"model": "keep me"} }"#;
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": "rate_limit_exceeded"}})))
        .mount(&server)
        .await;
    with_key(KB).respond_with(reply("ok")).mount(&server).await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let resp = client()
        .post(format!("{}/v1/chat/completions", g.base))
        .bearer_auth(CLIENT_KEY)
        .header("content-type", "application/json")
        .body(sent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let expected = sent.replace(r#""model":"custom:mock:m1""#, r#""model":"m1""#);
    for r in &reqs {
        assert_eq!(std::str::from_utf8(&r.body).unwrap(), expected, "each attempt sends the same bytes");
    }
    // Not a JSON object: 400, and nothing more goes upstream.
    for bad in ["[1]", "{\"model\": \"custom:mock:m1\",}", ""] {
        let resp = client()
            .post(format!("{}/v1/chat/completions", g.base))
            .bearer_auth(CLIENT_KEY)
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{bad:?}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let (code, _) = g.stop();
    assert_eq!(code, 0);
}

#[tokio::test]
async fn a_missing_or_wrong_client_key_is_401_and_nothing_goes_upstream() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(reply("no")).expect(0).mount(&server).await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let body = json!({"model": "m1", "messages": []});
    for key in [None, Some("hsk-wrong")] {
        let (status, _, answer) = post(&g, "/v1/chat/completions", key, body.clone()).await;
        assert_eq!(status, 401);
        assert_eq!(answer["error"]["type"], "authentication_error", "{answer}");
        let (status, _, answer) = post(&g, "/v1/messages", key, body.clone()).await;
        assert_eq!(status, 401);
        assert_eq!(answer["type"], "error", "Anthropic's shape: {answer}");
    }
    let resp = client().get(format!("{}/v1/models", g.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn nothing_usable_is_429_with_retry_after_and_402_rotates() {
    let server = MockServer::start().await;
    with_key(KA)
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error": {"message": "out of credit"}})))
        .mount(&server)
        .await;
    with_key(KB).respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120")).mount(&server).await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let body = json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]});
    let (status, headers, answer) = post(&g, "/v1/chat/completions", Some(CLIENT_KEY), body.clone()).await;
    assert_eq!(status, 429, "{answer}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((100..=120).contains(&retry), "the earliest reset (B, 120 s): {retry}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("custom:mock") && message.contains("no usable credential"), "{message}");
    // Both benched now: the next request does not reach the provider at all.
    let before = server.received_requests().await.unwrap().len();
    let (status, _, _) = post(&g, "/v1/chat/completions", Some(CLIENT_KEY), body).await;
    assert_eq!(status, 429);
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn anthropic_messages_use_x_api_key_and_a_wrong_wire_is_400() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-api03-serve-key-0001"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "message", "content": [{"type": "text", "text": "hello"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut s = home(&server);
    s.var("ANTHROPIC_BASE_URL", &server.uri());
    s.add_key("anthropic", "sk-ant-api03-serve-key-0001", Some("k"));
    let g = Gateway::start(&s);
    let body = json!({"model": "claude-sonnet-4", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
                      "thinking": {"type": "enabled", "budget_tokens": 5}});
    let (status, headers, answer) = post(&g, "/v1/messages", Some(CLIENT_KEY), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["content"][0]["text"], "hello");
    assert_eq!(headers["x-hermes-provider"], "anthropic");
    let sent: Value = serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["thinking"]["budget_tokens"], 5);
    // An OpenAI-wire pool cannot serve /v1/messages.
    let (status, _, answer) = post(&g, "/v1/messages", Some(CLIENT_KEY), json!({"model": "custom:mock:m1"})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("does not serve /v1/messages"), "{answer}");
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn models_health_and_pools_answer_locally() {
    let server = MockServer::start().await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let get = |p: &str| client().get(format!("{}{p}", g.base)).bearer_auth(CLIENT_KEY).send();
    let health = client().get(format!("{}/healthz", g.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let models: Value = get("/v1/models").await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"m1") && ids.contains(&"fast"), "{ids:?}");
    let pools: Value = get("/hermes/pools").await.unwrap().json().await.unwrap();
    assert_eq!(pools["providers"][0]["provider"], "custom:mock");
    assert!(!pools.to_string().contains(KA), "pools show masked keys only");
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(g.stop().0, 0);
}

#[test]
fn a_client_key_is_generated_0600_and_a_public_address_needs_a_configured_one() {
    let s = Sealed::new();
    let g = Gateway::start(&s);
    let key_file = s.home.join("serve.key");
    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.trim().starts_with("hsk-") && key.trim().len() > 20);
    let (code, _) = g.stop();
    assert_eq!(code, 0);
    // A second start reuses it.
    let g = Gateway::start(&s);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    g.stop();
    let o = s.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("needs a configured client key"), "{}", o.stderr);
    let o = s.run(&["serve", "--workers", "0"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--workers"), "{}", o.stderr);
}

/// A provider that streams: each request is answered by `script` from the key it carries
/// (`Authorization: Bearer` or `x-api-key`) with (delay in ms, chunk) pairs, written as they come
/// due on a close-delimited HTTP/1.1 body. It records the keys it saw and whether a client went
/// away mid-stream.
struct Upstream {
    uri: String,
    keys: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

type StreamScript = dyn Fn(&str) -> Vec<(u64, String)> + Send + Sync;

async fn upstream(script: std::sync::Arc<StreamScript>) -> Upstream {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let broken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (k, b) = (keys.clone(), broken.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (script, keys, broken) = (script.clone(), k.clone(), b.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then the body by Content-Length.
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let original = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let key = original
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        let value = value.trim();
                        match name.trim().to_ascii_lowercase().as_str() {
                            "authorization" => value.strip_prefix("Bearer ").map(str::to_string),
                            "x-api-key" => Some(value.to_string()),
                            _ => None,
                        }
                    })
                    .unwrap_or_default();
                keys.lock().unwrap().push(key.clone());
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (delay, text) in script(&key) {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    if sock.write_all(text.as_bytes()).await.is_err() || sock.flush().await.is_err() {
                        broken.store(true, Ordering::SeqCst);
                        return;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    Upstream { uri, keys, broken }
}

fn chat_chunk(text: &str) -> String {
    format!("data: {}\n\n", json!({"choices": [{"delta": {"content": text}}]}))
}

/// A home whose custom pool `mock` (keys A, B) and anthropic pool (keys A, B) point at `uri`.
fn stream_home(uri: &str) -> Sealed {
    let mut s = Sealed::new();
    s.var("HERMES_SERVE_KEY", CLIENT_KEY).var("ANTHROPIC_BASE_URL", uri);
    s.write_home_file(
        "config.yaml",
        &format!("model:\n  provider: custom:mock\n  default: m1\ncustom_providers:\n  - name: mock\n    base_url: {uri}/v1\n"),
    );
    s.add_key("mock", KA, Some("a"));
    s.add_key("mock", KB, Some("b"));
    s.add_key("anthropic", "sk-ant-api03-stream-aaaa1111", Some("a"));
    s.add_key("anthropic", "sk-ant-api03-stream-bbbb2222", Some("b"));
    s
}

async fn stream_text(g: &Gateway, path: &str, body: Value) -> (u16, String) {
    let resp = client().post(format!("{}{path}", g.base)).bearer_auth(CLIENT_KEY).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn a_stream_is_passed_through_as_it_arrives() {
    let up = upstream(std::sync::Arc::new(|_key: &str| {
        (0..5).map(|i| (if i == 0 { 0 } else { 150 }, chat_chunk(&format!("c{i}")))).collect()
    }))
    .await;
    let s = stream_home(&up.uri);
    let g = Gateway::start(&s);
    let started = std::time::Instant::now();
    let mut resp = client()
        .post(format!("{}/v1/chat/completions", g.base))
        .bearer_auth(CLIENT_KEY)
        .json(&json!({"model": "custom:mock:m1", "stream": true, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let first = resp.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(String::from_utf8_lossy(&first).contains("c0"));
    let mut all = String::from_utf8_lossy(&first).to_string();
    while let Some(c) = resp.chunk().await.unwrap() {
        all.push_str(&String::from_utf8_lossy(&c));
    }
    let last_at = started.elapsed();
    // The upstream sent its last chunk 600 ms after its first: the client had the first long before.
    assert!(first_at + Duration::from_millis(300) < last_at, "first {first_at:?}, last {last_at:?}");
    for i in 0..5 {
        assert!(all.contains(&format!("c{i}")), "{all}");
    }
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn an_error_as_the_first_event_rotates_in_every_wire() {
    let anthropic_error = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let anthropic_ok = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"from B\"}}\n\n";
    let openai_error = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_exceeded\"}}\n\n";
    let responses_failed = "event: response.created\ndata: {\"type\":\"response.created\"}\n\nevent: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"rate_limit_exceeded\"}}}\n\n";
    let codex_overloaded =
        "event: error\ndata: {\"type\":\"error\",\"code\":\"server_is_overloaded\",\"message\":\"busy\"}\n\n";
    let responses_ok =
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"from B\"}\n\n";
    let cases: Vec<(&str, &str, &'static str, &'static str)> = vec![
        ("/v1/messages", "anthropic:claude", anthropic_error, anthropic_ok),
        (
            "/v1/chat/completions",
            "custom:mock:m1",
            openai_error,
            "data: {\"choices\":[{\"delta\":{\"content\":\"from B\"}}]}\n\n",
        ),
        ("/v1/responses", "custom:mock:m1", responses_failed, responses_ok),
        ("/v1/responses", "custom:mock:m1", codex_overloaded, responses_ok),
    ];
    for (path, model, bad, good) in cases {
        let up = upstream(std::sync::Arc::new(move |key: &str| {
            let text = if key.ends_with("aaaa1111") { bad } else { good };
            vec![(0, text.to_string())]
        }))
        .await;
        let s = stream_home(&up.uri);
        let g = Gateway::start(&s);
        let (status, text) =
            stream_text(&g, path, json!({"model": model, "stream": true, "max_tokens": 5, "messages": []})).await;
        assert_eq!(status, 200, "{path}: {text}");
        assert!(text.contains("from B"), "{path}: {text}");
        assert!(!text.contains("error"), "{path}: the client saw the first entry's error: {text}");
        assert_eq!(up.keys.lock().unwrap().len(), 2, "{path}: one attempt per entry");
        assert_eq!(g.stop().0, 0);
    }
}

/// Open a stream through `g`, read its first chunk and go away; wait until `up` sees the
/// connection closed.
async fn leave_after_the_first_chunk(g: &Gateway, up: &Upstream) {
    let mut resp = client()
        .post(format!("{}/v1/chat/completions", g.base))
        .bearer_auth(CLIENT_KEY)
        .json(&json!({"model": "custom:mock:m1", "stream": true, "messages": []}))
        .send()
        .await
        .unwrap();
    assert!(resp.chunk().await.unwrap().is_some());
    drop(resp);
    let started = std::time::Instant::now();
    while !up.broken.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(started.elapsed() < Duration::from_secs(3), "the upstream kept streaming to nobody");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_client_that_goes_away_closes_the_upstream_connection() {
    let up = upstream(std::sync::Arc::new(|_key: &str| {
        (0..40).map(|i| (if i == 0 { 0 } else { 100 }, chat_chunk("x"))).collect()
    }))
    .await;
    let s = stream_home(&up.uri);
    let g = Gateway::start(&s);
    leave_after_the_first_chunk(&g, &up).await;
    // Nothing was benched for it.
    assert!(s.pool("custom:mock").iter().all(|e| e["last_status"].is_null()));
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn a_stream_the_client_abandons_still_counts_what_it_reported() {
    let up = upstream(std::sync::Arc::new(|_key: &str| {
        let first = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}\n\n";
        std::iter::once((0, first.to_string())).chain((0..40).map(|_| (100, chat_chunk("x")))).collect()
    }))
    .await;
    let s = stream_home(&up.uri);
    let g = Gateway::start(&s);
    leave_after_the_first_chunk(&g, &up).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(g.stop().0, 0);
    let o = s.run(&["auth", "usage", "custom:mock", "--json"]);
    let e = &o.json()["entries"][0];
    assert_eq!((e["requests"].clone(), e["input_tokens"].clone()), (json!(1), json!(9)), "{}", o.stdout);
}

const SDK_TEST: &str = "serve::the_official_openai_and_anthropic_sdks_work_through_the_gateway";
const WANT: &str = "hello from the pool";

/// Answers for the SDKs: OpenAI chat and Anthropic Messages, plain and streamed.
async fn sdk_upstream() -> MockServer {
    use wiremock::matchers::body_partial_json;
    let server = MockServer::start().await;
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m1",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let openai_stream = [
        chunk(json!({"role": "assistant", "content": "hello "}), Value::Null),
        chunk(json!({"content": "from the pool"}), Value::Null),
        chunk(json!({}), json!("stop")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(openai_stream, "text/event-stream"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "created": 0, "model": "m1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": WANT}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}})))
        .with_priority(2)
        .mount(&server)
        .await;
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let message = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4",
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}});
    let anthropic_stream = [
        event("message_start", json!({"type": "message_start", "message": message})),
        event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hello "}})),
        event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "from the pool"}})),
        event("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 3}})),
        event("message_stop", json!({"type": "message_stop"})),
    ]
    .concat();
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(anthropic_stream, "text/event-stream"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4",
            "content": [{"type": "text", "text": WANT}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 3}})))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// Real clients no one here wrote: tests/sdk/gateway_sdks.py drives the gateway with the official
/// `openai` and `anthropic` packages, plain and streamed. It needs a Python that has them
/// (`HERMES_SDK_PYTHON`; .ci/run makes a venv); without one the test says it is skipped, unless
/// `HERMES_REQUIRE_SDK` is set, as .ci/run does, which makes a missing one a failure.
#[tokio::test]
async fn the_official_openai_and_anthropic_sdks_work_through_the_gateway() {
    let python = std::env::var("HERMES_SDK_PYTHON").ok().filter(|p| !p.trim().is_empty());
    let Some(python) = python else {
        assert!(
            std::env::var_os("HERMES_REQUIRE_SDK").is_none(),
            "HERMES_REQUIRE_SDK is set but HERMES_SDK_PYTHON is not"
        );
        // Straight to stderr (not the captured eprintln!), so a plain `cargo test` shows it.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("skipped {SDK_TEST}: set HERMES_SDK_PYTHON to a Python with openai and anthropic (.ci/run does)\n")
                .as_bytes(),
        );
        return;
    };
    let server = sdk_upstream().await;
    let mut s = home(&server);
    s.var("ANTHROPIC_BASE_URL", &server.uri());
    s.add_key("anthropic", "sk-ant-api03-sdk-key-0001", Some("k"));
    let g = Gateway::start(&s);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/gateway_sdks.py");
    let (base, path_var) = (g.base.clone(), std::env::var("PATH").unwrap_or_default());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env_clear()
            .env("PATH", path_var)
            .env("GATEWAY_URL", base)
            .env("GATEWAY_KEY", CLIENT_KEY)
            .output()
            .expect("run the SDK script")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    for line in ["openai chat: ok", "openai chat stream: ok", "anthropic messages: ok", "anthropic messages stream: ok"]
    {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn metrics_count_requests_attempts_rotations_and_cooldowns() {
    let server = a_limited_b_healthy().await;
    let s = home(&server);
    let g = Gateway::start(&s);
    for _ in 0..3 {
        let (status, _, _) =
            post(&g, "/v1/chat/completions", Some(CLIENT_KEY), json!({"model": "custom:mock:m1", "messages": []}))
                .await;
        assert_eq!(status, 200);
    }
    let unauthorized = client().get(format!("{}/metrics", g.base)).send().await.unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    let text =
        client().get(format!("{}/metrics", g.base)).bearer_auth(CLIENT_KEY).send().await.unwrap().text().await.unwrap();
    let line = |prefix: &str| {
        text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{text}")).to_string()
    };
    assert!(line("hermes_requests_total{").contains("status=\"200\""), "{text}");
    assert!(line("hermes_requests_total{").ends_with(" 3"), "{text}");
    // The first request tried A (429) and rotated; A then sat out the next two.
    assert!(line("hermes_rotations_total{").ends_with(" 1"), "{text}");
    assert!(text.contains("hermes_attempts_total{provider=\"custom:mock\",outcome=\"rate_limited\"} 1"), "{text}");
    assert!(text.contains("hermes_cooldowns_active{provider=\"custom:mock\"} 1"), "{text}");
    assert!(text.contains("hermes_upstream_latency_seconds_bucket"), "{text}");
    assert!(!text.contains(KA) && !text.contains(KB) && !text.contains(CLIENT_KEY));
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn a_session_stays_on_one_entry_and_moves_to_one_other_when_it_is_benched() {
    let server = MockServer::start().await;
    const KC: &str = "sk-mock-serve-cccc3333";
    for k in [KA, KB, KC] {
        with_key(k).respond_with(reply(k)).with_priority(5).mount(&server).await;
    }
    let mut s = home(&server);
    s.add_key("mock", KC, Some("c"));
    s.write_home_file(
        "config.yaml",
        &format!(
            "credential_pool_strategies:\n  custom:mock: round_robin\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\nserve:\n  affinity: true\n",
            server.uri()
        ),
    );
    s.var("HERMES_SERVE_KEY", CLIENT_KEY);
    let g = Gateway::start(&s);
    let ask = |session: &'static str| {
        let url = format!("{}/v1/chat/completions", g.base);
        async move {
            let resp = client()
                .post(url)
                .bearer_auth(CLIENT_KEY)
                .header("x-hermes-session", session)
                .json(&json!({"model": "custom:mock:m1", "messages": []}))
                .send()
                .await
                .unwrap();
            let v: Value = resp.json().await.unwrap();
            v["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string()
        }
    };
    let first = ask("s1").await;
    for _ in 0..19 {
        assert_eq!(ask("s1").await, first, "round_robin would have moved it");
    }
    // Without a session the pool rotates as usual.
    let others: std::collections::BTreeSet<String> =
        [ask("").await, ask("").await, ask("").await].into_iter().collect();
    assert!(others.len() > 1, "{others:?}");
    // Bench the session's entry: it moves to one other entry and stays there.
    with_key(&first)
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": "rate_limit_exceeded"}})))
        .with_priority(1)
        .mount(&server)
        .await;
    let moved = ask("s1").await;
    assert_ne!(moved, first);
    for _ in 0..9 {
        assert_eq!(ask("s1").await, moved);
    }
    assert_eq!(g.stop().0, 0);
}

/// A home with four keys on a round_robin custom pool at `server`, answering 200.
async fn four_keys() -> (MockServer, Sealed) {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(reply("ok")).mount(&server).await;
    let mut s = Sealed::new();
    s.var("HERMES_SERVE_KEY", CLIENT_KEY);
    s.write_home_file(
        "config.yaml",
        &format!(
            "credential_pool_strategies:\n  custom:mock: round_robin\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n",
            server.uri()
        ),
    );
    for i in 0..4 {
        s.add_key("mock", &format!("sk-mock-count-{i}-000000"), Some(&format!("k{i}")));
    }
    (server, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counts_written_behind_equal_what_the_upstream_received() {
    let (server, s) = four_keys().await;
    // Several threads serving (one by default): the counts are exact either way.
    let g = Gateway::start_with(&s, &["--workers", "3"]);
    let url = format!("{}/v1/chat/completions", g.base);
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let c = client();
                for _ in 0..200 {
                    let r = c
                        .post(&url)
                        .bearer_auth(CLIENT_KEY)
                        .json(&json!({"model": "custom:mock:m1", "messages": []}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let (code, lines) = g.stop();
    assert_eq!(code, 0, "{lines:?}");
    let received = server.received_requests().await.unwrap().len() as i64;
    assert_eq!(received, 3200);
    let counts: Vec<i64> = s.pool("custom:mock").iter().map(|e| e["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), received, "{counts:?}");
    assert!(counts.iter().all(|c| *c == 800), "round_robin over 4 keys: {counts:?}");
}

#[tokio::test]
async fn changes_by_other_processes_take_effect_while_serving() {
    let (server, s) = four_keys().await;
    let g = Gateway::start(&s);
    let ask = || {
        let url = format!("{}/v1/chat/completions", g.base);
        async move {
            let r = client()
                .post(url)
                .bearer_auth(CLIENT_KEY)
                .json(&json!({"model": "custom:mock:m1"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().get("x-hermes-entry").map(|v| v.to_str().unwrap().to_string()))
        }
    };
    assert_eq!(ask().await.0, 200);
    // Another process benches every key: the gateway stops using them.
    for i in 0..4 {
        let o = s.run(&["auth", "report", "custom:mock", &format!("k{i}"), "--status", "402"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    // Within 1 s (docs/serve.md): the gateway looks at auth.json at most every 100 ms.
    assert_eq!(status_within(&g, 429, Duration::from_secs(1)).await, 429, "the benches were adopted");
    // A reset and a removal from the command line take effect as quickly.
    assert_eq!(s.run(&["auth", "reset", "custom:mock"]).code, 0);
    assert_eq!(status_within(&g, 200, Duration::from_secs(1)).await, 200);
    let removed_id =
        s.pool("custom:mock").iter().find(|e| e["label"] == "k0").unwrap()["id"].as_str().unwrap().to_string();
    let o = s.run(&["auth", "remove", "custom:mock", "k0"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..6 {
        served.insert(ask().await.1.unwrap());
    }
    assert_eq!(served.len(), 3, "the removed key is no longer used: {served:?}");
    assert!(!served.contains(&removed_id), "{served:?}");
    let (code, _) = g.stop();
    assert_eq!(code, 0);
    let pool = s.pool("custom:mock");
    assert_eq!(pool.len(), 3, "the gateway did not bring back the removed entry");
    drop(server);
}

/// Ask `/v1/chat/completions` until it answers `want` or `limit` has passed; the last status.
async fn status_within(g: &Gateway, want: u16, limit: Duration) -> u16 {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let r = client()
            .post(format!("{}/v1/chat/completions", g.base))
            .bearer_auth(CLIENT_KEY)
            .json(&json!({"model": "custom:mock:m1"}))
            .send()
            .await
            .unwrap();
        let got = r.status().as_u16();
        if got == want || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_under_load_leaves_a_store_that_parses() {
    let (_server, s) = four_keys().await;
    let g = Gateway::start(&s);
    let url = format!("{}/v1/chat/completions", g.base);
    let load = tokio::spawn(async move {
        let c = client();
        for _ in 0..300 {
            if c.post(&url).bearer_auth(CLIENT_KEY).json(&json!({"model": "custom:mock:m1"})).send().await.is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut g = g;
    g.child.kill().unwrap();
    g.child.wait().unwrap();
    let _ = load.await;
    let doc = s.auth();
    let pool = doc["credential_pool"]["custom:mock"].as_array().unwrap();
    assert_eq!(pool.len(), 4);
    assert!(pool.iter().all(|e| e["request_count"].as_i64().is_some()));
}

#[tokio::test]
async fn with_wait_for_reset_a_request_waits_for_a_near_reset_instead_of_a_429() {
    let server = MockServer::start().await;
    for k in [KA, KB] {
        with_key(k)
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "3")
                    .set_body_json(json!({"error": {"code": "rate_limit_exceeded"}})),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        with_key(k).respond_with(reply("after the wait")).with_priority(2).mount(&server).await;
    }
    let s = home(&server);
    let mut config = std::fs::read_to_string(s.home.join("config.yaml")).unwrap();
    config.push_str("  wait_for_reset: 10\n");
    s.write_home_file("config.yaml", &config);
    let g = Gateway::start(&s);
    // Sleeps are recorded on the pinned clock (HERMES_TEST_NO_SLEEP): the wait costs no real time.
    let (status, _, answer) =
        post(&g, "/v1/chat/completions", Some(CLIENT_KEY), json!({"model": "custom:mock:m1", "messages": []})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["message"]["content"], "after the wait");
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "A, B, then A again after its reset");
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn the_log_can_be_json_lines() {
    let server = MockServer::start().await;
    with_key(KA).respond_with(reply("hi")).mount(&server).await;
    let s = home(&server);
    let g = Gateway::start_with(&s, &["--log-format", "json"]);
    let (status, _, _) =
        post(&g, "/v1/chat/completions", Some(CLIENT_KEY), json!({"model": "custom:mock:m1", "messages": []})).await;
    assert_eq!(status, 200);
    let (code, lines) = g.stop();
    assert_eq!(code, 0);
    let records: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let r = records.iter().find(|r| r["event"] == "request").unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!((r["status"].as_str(), r["provider"].as_str()), (Some("200"), Some("custom:mock")));
    assert!(!lines.iter().any(|l| l.contains(KA) || l.contains(CLIENT_KEY)));
}

/// No input brings the gateway down: malformed bodies, wrong types, huge and odd headers, raw
/// garbage on the socket. Every request gets an answer, and the gateway still serves afterwards.
#[tokio::test]
async fn no_input_brings_the_gateway_down() {
    use rand::{Rng, SeedableRng};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(reply("fine")).mount(&server).await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let paths =
        ["/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens", "/v1/responses", "/v1/models", "/nope"];
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        br#"{"model": 5}"#.to_vec(),
        br#"{"model": ""}"#.to_vec(),
        br#"{"model": ":"}"#.to_vec(),
        br#"{"model": "custom:"}"#.to_vec(),
        br#"{"model": "nosuch:m"}"#.to_vec(),
        br#"{"model": "custom:mock:m1", "stream": "yes"}"#.to_vec(),
        "{\"model\": \"\u{1b}[2J\u{0}\"}".as_bytes().to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
    ];
    let c = client();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (i, body) in bodies.iter().enumerate() {
        for p in paths {
            let r = c.post(format!("{}{p}", g.base)).bearer_auth(CLIENT_KEY).body(body.clone()).send().await.unwrap();
            let status = r.status().as_u16();
            assert!(status < 600, "body {i} on {p}: {status}");
        }
    }
    for _ in 0..40 {
        let len = rng.gen_range(0..2000);
        let body: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let r =
            c.post(format!("{}/v1/chat/completions", g.base)).bearer_auth(CLIENT_KEY).body(body).send().await.unwrap();
        assert!(matches!(r.status().as_u16(), 400..=499), "{}", r.status());
    }
    // Garbage straight on the socket.
    let addr = g.base.trim_start_matches("http://").to_string();
    for junk in [&b"GARBAGE\r\n\r\n"[..], b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", &[0u8; 64]] {
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = sock.write_all(junk).await;
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await;
    }
    // Still serving.
    let (status, _, answer) =
        post(&g, "/v1/chat/completions", Some(CLIENT_KEY), json!({"model": "custom:mock:m1", "messages": []})).await;
    assert_eq!(status, 200, "{answer}");
    let (code, lines) = g.stop();
    assert_eq!(code, 0);
    assert!(!lines.iter().any(|l| l.contains("panicked")), "{lines:?}");
}

/// A connection that never finishes its headers, or sits idle after a request, is closed.
#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = MockServer::start().await;
    let mut s = home(&server);
    s.var("HERMES_TEST_HEADER_TIMEOUT", "0.5");
    let g = Gateway::start(&s);
    let addr = g.base.trim_start_matches("http://").to_string();
    let closed_within = |mut sock: tokio::net::TcpStream| async move {
        let started = std::time::Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                Ok(Ok(_)) => continue,
                Err(_) => panic!("the connection stayed open"),
            }
        }
    };
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(closed_within(slow).await < Duration::from_secs(3));
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(closed_within(idle).await < Duration::from_secs(3));
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn the_log_says_when_a_benched_entry_comes_back() {
    let server = a_limited_b_healthy().await;
    let s = home(&server);
    let g = Gateway::start(&s);
    let (status, _, _) =
        post(&g, "/v1/chat/completions", Some(CLIENT_KEY), json!({"model": "custom:mock:m1", "messages": []})).await;
    assert_eq!(status, 200);
    // Let a check see it benched, then reset it from another process.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.run(&["auth", "reset", "custom:mock"]).code, 0);
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    loop {
        if let Ok(line) = g.lines.recv_timeout(Duration::from_millis(200)) {
            if line.contains("available provider=custom:mock") {
                break;
            }
            seen.push(line);
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no 'available' line: {seen:?}");
    }
    assert_eq!(g.stop().0, 0);
}

#[tokio::test]
async fn a_stream_that_breaks_off_ends_with_the_wires_error_event_and_is_recorded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that promises 100,000 bytes, sends one event, then hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 100000\r\n\r\n";
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(chat_chunk("partial").as_bytes()).await;
                let _ = sock.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            });
        }
    });
    let s = stream_home(&uri);
    let g = Gateway::start(&s);
    let (status, text) =
        stream_text(&g, "/v1/chat/completions", json!({"model": "custom:mock:m1", "stream": true, "messages": []}))
            .await;
    assert_eq!(status, 200);
    assert!(text.contains("partial"), "{text}");
    assert!(text.contains("the provider's stream broke off"), "{text}");
    let metrics =
        client().get(format!("{}/metrics", g.base)).bearer_auth(CLIENT_KEY).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("hermes_streams_broken_total{") && l.ends_with(" 1")), "{metrics}");
    let (code, lines) = g.stop();
    assert_eq!(code, 0);
    assert!(lines.iter().any(|l| l.contains("stream_broken provider=custom:mock")), "{lines:?}");
}

/// One streamed `/v1/messages` request through a gateway on `up`'s home (anthropic keys A, B).
/// The home comes back too: it must outlive the gateway.
async fn anthropic_stream(up: &Upstream) -> (Sealed, Gateway, u16, String) {
    let s = stream_home(&up.uri);
    let g = Gateway::start(&s);
    let body = json!({"model": "anthropic:claude", "stream": true, "max_tokens": 5, "messages": []});
    let (status, text) = stream_text(&g, "/v1/messages", body).await;
    (s, g, status, text)
}

/// A held opening that takes longer than 3 s: the client gets 200 and SSE keep-alive comments
/// meanwhile, and an error that then arrives as the first event still rotates to the healthy
/// entry, whose stream the client gets whole.
#[tokio::test]
async fn a_slow_opening_is_kept_alive_and_still_rotates() {
    let start = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
    let overloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let content =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"from B\"}}\n\n";
    let up = upstream(std::sync::Arc::new(move |key: &str| {
        if key.ends_with("aaaa1111") {
            vec![(0, start.to_string()), (3600, overloaded.to_string())]
        } else {
            vec![(0, start.to_string()), (0, content.to_string())]
        }
    }))
    .await;
    let (_home, g, status, text) = anthropic_stream(&up).await;
    assert_eq!(status, 200, "{text}");
    let alive = text.find(": keep-alive\n\n").unwrap_or_else(|| panic!("no keep-alive comment: {text:?}"));
    let content_at = text.find("from B").unwrap_or_else(|| panic!("no content: {text:?}"));
    assert!(alive < content_at, "{text:?}");
    assert!(!text.contains("Overloaded"), "the client saw the first entry's error: {text:?}");
    assert_eq!(up.keys.lock().unwrap().len(), 2);
    assert_eq!(g.stop().0, 0);
}

/// When a kept-alive opening ends with nothing that could serve, the client (already answered
/// 200) gets the wire's error event naming why, not a silent end.
#[tokio::test]
async fn a_kept_alive_stream_that_finds_nothing_ends_with_the_error_event() {
    let start = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
    let overloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let up = upstream(std::sync::Arc::new(move |key: &str| {
        let delay = if key.ends_with("aaaa1111") { 3300 } else { 0 };
        vec![(0, start.to_string()), (delay, overloaded.to_string())]
    }))
    .await;
    let (_home, g, status, text) = anthropic_stream(&up).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.starts_with(": keep-alive\n\n"), "{text:?}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\ndata: {\"type\":\"error\",\"error\":{"), "{text:?}");
    assert!(last.contains("no usable credential anthropic"), "says why: {text:?}");
    assert_eq!(g.stop().0, 0);
}

/// `/v1/responses` to an openai-codex login carries what the ChatGPT backend expects of a Codex
/// client: the Responses beta flag, an originator and the login's ChatGPT account id.
#[tokio::test]
async fn codex_logins_get_the_chatgpt_backend_headers() {
    let server = MockServer::start().await;
    let access = jwt(json!({"exp": T0 + 3600.0, "https://api.openai.com/auth": {"chatgpt_account_id": "acct-123"}}));
    Mock::given(method("POST"))
        .and(path("/responses"))
        .and(header("authorization", format!("Bearer {access}")))
        .and(header("chatgpt-account-id", "acct-123"))
        .and(header("openai-beta", "responses=experimental"))
        .and(header("originator", "codex_cli_rs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "resp_1", "output": []})))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = Sealed::new();
    s.var("HERMES_SERVE_KEY", CLIENT_KEY);
    s.write_auth(&store(json!({"openai-codex": [{
        "id": "ccc333", "label": "dev", "auth_type": "oauth", "priority": 0, "source": "manual:device_code",
        "access_token": access, "refresh_token": "rt-c1", "base_url": server.uri(),
        "last_refresh": "2026-07-01T08:00:00Z", "request_count": 0}]})));
    let g = Gateway::start(&s);
    let (status, _, answer) =
        post(&g, "/v1/responses", Some(CLIENT_KEY), json!({"model": "gpt-5", "input": "hi", "store": false})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["id"], "resp_1");
    assert_eq!(g.stop().0, 0);
}
