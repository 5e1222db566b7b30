//! The runtime's own overhead per request, against a loopback server.
//!
//! Arms (same server, same body, same reqwest settings):
//! * `direct_reqwest`: a POST with reqwest, body read: the floor.
//! * `runtime_tmpfs`: the same request through `Runtime::complete` with the hermes home on tmpfs
//!   (`/dev/shm` when present): pick transaction, attempt, classification, success mark.
//! * `runtime_disk`: the same with the home in the default temp dir (a real disk: each pick
//!   writes auth.json with fsync, as docs/design.md#write-protocol requires).
//! * `runtime_scripted_tmpfs`: `Runtime::complete` with a scripted transport (no HTTP at all):
//!   the runtime's own work per request, without the loopback round trip.
//! * `store_only_tmpfs`: the pick and a success mark alone, no HTTP: where that work goes.
//!
//! Run: `cargo bench --bench runtime_overhead`. Medians are in
//! `target/criterion/<arm>/new/estimates.json`; docs/benchmarks-runtime.md has the figures.

use criterion::{criterion_group, criterion_main, Criterion};
use hermes::context::Context;
use hermes::home::Home;
use hermes::ops;
use hermes::pool::cooldown::Outcome;
use hermes::runtime::{ChatRequest, HttpResponse, Runtime, ScriptedTransport, Target};
use hermes::secret::Secret;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const BODY: &str = r#"{"choices":[{"message":{"role":"assistant","content":"pong"}}]}"#;

/// A minimal keep-alive HTTP/1.1 server answering every request with [`BODY`]. It runs on its
/// own thread and runtime so it never competes with the measured client's scheduler.
fn start_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                sock.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = Vec::with_capacity(8192);
                    let mut chunk = [0u8; 8192];
                    loop {
                        // Read one request: headers, then Content-Length bytes of body.
                        let (head_end, len) = loop {
                            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                                let len = head
                                    .lines()
                                    .find_map(|l| l.strip_prefix("content-length:"))
                                    .and_then(|v| v.trim().parse::<usize>().ok())
                                    .unwrap_or(0);
                                break (end + 4, len);
                            }
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        while buf.len() < head_end + len {
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + len);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
                            BODY.len()
                        );
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// A hermes home under `parent` with one key in the custom pool `bench` at `base_url`.
fn home_in(parent: &Path, base_url: &str) -> (tempfile::TempDir, Arc<Home>) {
    let dir = tempfile::tempdir_in(parent).unwrap();
    let hermes_home = dir.path().join(".hermes");
    std::fs::create_dir_all(&hermes_home).unwrap();
    std::fs::write(
        hermes_home.join("config.yaml"),
        format!("custom_providers:\n  - name: bench\n    base_url: {base_url}/v1\n"),
    )
    .unwrap();
    let mut vars = BTreeMap::new();
    vars.insert("HOME".to_string(), dir.path().display().to_string());
    vars.insert("HERMES_HOME".to_string(), hermes_home.display().to_string());
    let home = Arc::new(Home::open(Context::with_vars(vars)).unwrap());
    let pool = home.pool("bench").unwrap();
    ops::add_api_key(&home, &pool, &Secret::new("sk-bench-0000aaaa"), None).unwrap();
    (dir, home)
}

fn bench(c: &mut Criterion) {
    let base = start_server();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("runtime_overhead");
    group.sample_size(200).measurement_time(Duration::from_secs(6));

    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let url = format!("{base}/v1/chat/completions");
    let body = serde_json::to_vec(&serde_json::json!({
        "model": "m", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1024
    }))
    .unwrap();
    group.bench_function("direct_reqwest", |b| {
        b.iter(|| {
            rt.block_on(async {
                let r = client
                    .post(&url)
                    .header("authorization", "Bearer sk-bench-0000aaaa")
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.text().await.unwrap()
            })
        })
    });

    let shm = Path::new("/dev/shm");
    let tmpfs = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    for (name, parent) in [("runtime_tmpfs", tmpfs.clone()), ("runtime_disk", std::env::temp_dir())] {
        let (_dir, home) = home_in(&parent, &base);
        let runtime = Runtime::new(home).unwrap();
        let chain = runtime.chain(Some("bench"), Some("m")).unwrap();
        let request = ChatRequest::user("ping");
        group.bench_function(name, |b| {
            b.iter(|| {
                let reply = rt.block_on(runtime.complete(&chain, &request)).unwrap();
                assert_eq!(reply.text.as_deref(), Some("pong"));
            })
        });
    }

    let (_dir, home) = home_in(&tmpfs, &base);
    let scripted = Runtime::with_transport(
        home.clone(),
        Arc::new(ScriptedTransport::new(|t: &Target| Ok(HttpResponse::reply(t.wire, "pong")))),
    );
    let chain = scripted.chain(Some("bench"), Some("m")).unwrap();
    let request = ChatRequest::user("ping");
    group.bench_function("runtime_scripted_tmpfs", |b| {
        b.iter(|| {
            let reply = rt.block_on(scripted.complete(&chain, &request)).unwrap();
            assert_eq!(reply.text.as_deref(), Some("pong"));
        })
    });

    let pool = home.pool("bench").unwrap();
    group.bench_function("store_only_tmpfs", |b| {
        b.iter(|| {
            let p = ops::pick(&home, &pool, &[]).unwrap();
            ops::mark(&home, &pool, &p.id, Some(&p.fingerprint), &Outcome::Success).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
