//! The gateway's benchmark (run by bench/serve.sh): a fast upstream on 127.0.0.1, measured
//! directly and through `hermes serve` in the same run.
//!
//!   cargo run --release --example serve_bench -- target/release/hermes [SEQUENTIAL] [CONCURRENT]
//!
//! Prints the added latency per request (median and p99, sequential, keep-alive), the gateway's
//! CPU time per request, throughput with 64 connections against the direct figure, the time to
//! the first answer after launch, and the gateway's peak RSS after the requests and with 256
//! streams open. `SERVE_BENCH_BODY_KB=N` sends a conversation of about N KiB instead of "hi".
//! `SERVE_BENCH_UPSTREAM_MS=N` makes the upstream take N ms per answer (a provider is never
//! instant): the 64 connections then measure whether the gateway holds requests back, not how
//! the shared cores divide between three HTTP servers.
//! Every request goes to 127.0.0.1 and every loop is bounded in count and time.
//!
//! `SERVE_BENCH_LITELLM=/path/to/litellm` also measures the LiteLLM proxy (`pip install
//! 'litellm[proxy]'`) on the same upstream, with the same four keys as deployments of one
//! model, one worker and a master key, after hermes.

use anyhow::{bail, Context, Result};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REPLY: &str = r#"{"id":"c1","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#;
const KEY: &str = "hsk-bench-client-key";
/// LiteLLM's master key (it refuses to start without a strong one).
const PEER_KEY: &str = "sk-litellm-bench-3f9a2c7e5b1d4086a2c9e7f1b3d5a8c0";
const SMALL_BODY: &str = r#"{"model":"custom:mock:m","messages":[{"role":"user","content":"hi"}]}"#;

/// The request body: "hi", or with `SERVE_BENCH_BODY_KB=N` a conversation of about N KiB (long
/// contexts are what agents send).
#[allow(clippy::disallowed_methods)]
fn body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let kib: usize = std::env::var("SERVE_BENCH_BODY_KB").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        if kib == 0 {
            return SMALL_BODY.to_string();
        }
        let turn =
            r#"Here is the file you asked about:\n```rust\nfn main() {\n    println!(\"h\u00e9llo\");\n}\n```\n"#;
        let mut messages = Vec::new();
        let mut size = 0;
        while size < kib * 1024 {
            let role = if messages.len() % 2 == 0 { "user" } else { "assistant" };
            let text = turn.repeat(16);
            size += text.len() + 40;
            messages.push(format!(r#"{{"role":"{role}","content":"{text}"}}"#));
        }
        format!(r#"{{"model":"custom:mock:m","temperature":0.2,"messages":[{}]}}"#, messages.join(","))
    })
}
const STREAM_BODY: &str = r#"{"model":"custom:mock:m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let hermes = args.get(1).context("usage: serve_bench HERMES [SEQUENTIAL] [CONCURRENT]")?.clone();
    let sequential_n: usize = args.get(2).map_or(Ok(2000), |s| s.parse())?;
    let concurrent_n: usize = args.get(3).map_or(Ok(8000), |s| s.parse())?;

    let up = upstream().await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let direct_url = format!("http://{up}/v1/chat/completions");

    let home = tempfile::tempdir()?;
    write_home(home.path(), &up)?;
    let launched = Instant::now();
    let mut child = spawn(&hermes, home.path())?;
    let base = wait_listening(&mut child)?;
    let url = format!("{base}/v1/chat/completions");
    let first = loop {
        if let Ok(r) = post(&client, &url, body()).await {
            if r == 200 {
                break launched.elapsed();
            }
        }
        if launched.elapsed() > Duration::from_secs(10) {
            bail!("no answer within 10 s of launch");
        }
    };

    // Warm both paths, then alternate blocks so drift hits both alike.
    sequential(&client, &direct_url, 200).await?;
    sequential(&client, &url, 200).await?;
    let (mut direct, mut via) = (Vec::new(), Vec::new());
    let mut seq_cpu = Duration::ZERO;
    for _ in 0..4 {
        direct.extend(sequential(&client, &direct_url, sequential_n / 4).await?);
        let before = cpu_time(child.id())?;
        via.extend(sequential(&client, &url, sequential_n / 4).await?);
        seq_cpu += cpu_time(child.id())?.saturating_sub(before);
    }
    let (d50, d99) = percentiles(&mut direct);
    let (v50, v99) = percentiles(&mut via);

    let direct_rps = concurrent(&client, &direct_url, concurrent_n).await?;
    let before = cpu_time(child.id())?;
    let via_rps = concurrent(&client, &url, concurrent_n).await?;
    let conc_cpu = cpu_time(child.id())?.saturating_sub(before);
    let rss_after = peak_rss(child.id())?;

    let streams = open_streams(&client, &base, 256).await?;
    let rss_streams = current_rss(child.id())?;
    drop(streams);

    println!("first answer after launch      {:>8.1} ms", first.as_secs_f64() * 1000.0);
    println!("sequential, direct             median {:>6.3} ms  p99 {:>6.3} ms  ({} requests)", d50, d99, direct.len());
    println!("sequential, through hermes     median {:>6.3} ms  p99 {:>6.3} ms", v50, v99);
    println!("added by hermes                median {:>6.3} ms  p99 {:>6.3} ms", v50 - d50, v99 - d99);
    println!(
        "gateway CPU per request        sequential {:>5.1} us  64 connections {:>5.1} us",
        seq_cpu.as_secs_f64() * 1e6 / via.len() as f64,
        conc_cpu.as_secs_f64() * 1e6 / concurrent_n as f64
    );
    println!("64 connections, direct         {:>8.0} req/s  ({concurrent_n} requests)", direct_rps);
    println!(
        "64 connections, through hermes {:>8.0} req/s  ({:.0} % of direct)",
        via_rps,
        100.0 * via_rps / direct_rps
    );
    println!("peak RSS after the requests    {:>8.1} MiB", rss_after);
    println!("RSS with 256 streams open      {:>8.1} MiB", rss_streams);

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    if let Some(litellm) = litellm_path() {
        peer(&litellm, &client, &up, &direct_url, sequential_n, concurrent_n).await?;
    }
    Ok(())
}

#[allow(clippy::disallowed_methods)]
fn litellm_path() -> Option<String> {
    std::env::var("SERVE_BENCH_LITELLM").ok().filter(|p| !p.is_empty())
}

/// The LiteLLM proxy on the same upstream, measured the same way (fewer requests: it is slower).
async fn peer(
    litellm: &str,
    client: &reqwest::Client,
    up: &std::net::SocketAddr,
    direct_url: &str,
    sequential_n: usize,
    concurrent_n: usize,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let deployments: String = (0..4)
        .map(|i| {
            format!(
                "  - model_name: custom:mock:m\n    litellm_params:\n      model: openai/m\n      \
                 api_base: http://{up}/v1\n      api_key: sk-bench-key-{i}-0000000000\n"
            )
        })
        .collect();
    let config = dir.path().join("litellm.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n{deployments}litellm_settings:\n  telemetry: false\n\
             general_settings:\n  master_key: {PEER_KEY}\n"
        ),
    )?;
    let launched = Instant::now();
    let mut child = Command::new(litellm)
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--num_workers", "1"])
        .env("LITELLM_LOG", "ERROR")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let first = loop {
        if let Ok(200) = post_as(client, &url, body(), PEER_KEY).await {
            break launched.elapsed();
        }
        if launched.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            bail!("LiteLLM gave no answer within 120 s of launch");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let n = (sequential_n / 4).max(4);
    sequential_as(client, &url, 50, PEER_KEY).await?;
    let (mut direct, mut via) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        direct.extend(sequential(client, direct_url, n / 4).await?);
        via.extend(sequential_as(client, &url, n / 4, PEER_KEY).await?);
    }
    let (d50, d99) = percentiles(&mut direct);
    let (v50, v99) = percentiles(&mut via);
    let rps = concurrent_as(client, &url, (concurrent_n / 4).max(64), PEER_KEY).await?;
    let rss = peak_rss(child.id())?;
    println!("LiteLLM: first answer after launch {:>8.1} ms", first.as_secs_f64() * 1000.0);
    println!("LiteLLM: sequential             median {:>6.3} ms  p99 {:>6.3} ms  ({} requests)", v50, v99, via.len());
    println!("LiteLLM: added                  median {:>6.3} ms  p99 {:>6.3} ms", v50 - d50, v99 - d99);
    println!("LiteLLM: 64 connections        {:>8.0} req/s", rps);
    println!("LiteLLM: peak RSS               {:>8.1} MiB", rss);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    Ok(())
}

/// An upstream that answers at once (or after `SERVE_BENCH_UPSTREAM_MS`): JSON for a plain
/// request, a slow stream (one event, then 3 s of silence) for a streamed one.
#[allow(clippy::disallowed_methods)]
async fn upstream() -> Result<std::net::SocketAddr> {
    let delay = Duration::from_millis(
        std::env::var("SERVE_BENCH_UPSTREAM_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0).min(10_000),
    );
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |body: String| async move {
            if body.contains("\"stream\":true") {
                let events = futures_util::stream::unfold(0, |n| async move {
                    match n {
                        0 => Some((
                            Ok::<_, std::io::Error>("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"),
                            1,
                        )),
                        1 => {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                            Some((Ok("data: [DONE]\n\n"), 2))
                        }
                        _ => None,
                    }
                });
                axum::response::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(axum::body::Body::from_stream(events))
                    .unwrap_or_default()
            } else {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                axum::response::Response::builder()
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(REPLY))
                    .unwrap_or_default()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// `SERVE_BENCH_STATE_URL=redis://…` runs the gateway on the fleet backend (bench/fleet.sh);
/// `SERVE_BENCH_EXTRA=N` adds a second pool of N benched keys (a larger store than the 4 keys
/// the requests go to).
#[allow(clippy::disallowed_methods)]
fn write_home(home: &std::path::Path, up: &std::net::SocketAddr) -> Result<()> {
    let state = std::env::var("SERVE_BENCH_STATE_URL")
        .map(|u| format!("state:\n  backend: redis\n  url: {u}\n"))
        .unwrap_or_default();
    std::fs::write(
        home.join("config.yaml"),
        format!("{state}credential_pool_strategies:\n  custom:mock: round_robin\ncustom_providers:\n  - name: mock\n    base_url: http://{up}/v1\n"),
    )?;
    let entries: Vec<serde_json::Value> = (0..4)
        .map(|i| {
            serde_json::json!({"id": format!("bench{i}"), "label": format!("k{i}"), "auth_type": "api_key",
                "priority": i, "source": "manual", "access_token": format!("sk-bench-key-{i}-0000000000"), "request_count": 0})
        })
        .collect();
    let extra: usize = std::env::var("SERVE_BENCH_EXTRA").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let others: Vec<serde_json::Value> = (0..extra)
        .map(|i| {
            serde_json::json!({"id": format!("other{i}"), "label": format!("o{i}"), "auth_type": "api_key",
                "priority": i, "source": "manual", "access_token": format!("sk-or-v1-other-{i}-0000000000"), "request_count": 7,
                "last_status": "exhausted", "last_error_code": 429, "last_error_reset_at": 4000000000.0, "last_status_at": 1780000000.0})
        })
        .collect();
    let doc = serde_json::json!({"version": 1, "credential_pool": {"custom:mock": entries, "openrouter": others}});
    std::fs::write(home.join("auth.json"), serde_json::to_string_pretty(&doc)?)?;
    Ok(())
}

fn spawn(hermes: &str, home: &std::path::Path) -> Result<Child> {
    Ok(Command::new(hermes)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("HOME", home)
        .env("HERMES_HOME", home)
        .env("HERMES_SERVE_KEY", KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?)
}

fn wait_listening(child: &mut Child) -> Result<String> {
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(url) = line.split("listening on ").nth(1) {
            let url = url.trim().to_string();
            // Keep draining the log so the gateway never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(url);
        }
    }
    bail!("hermes serve exited before listening")
}

async fn post(client: &reqwest::Client, url: &str, body: &'static str) -> Result<u16> {
    post_as(client, url, body, KEY).await
}

async fn post_as(client: &reqwest::Client, url: &str, body: &'static str, key: &str) -> Result<u16> {
    let r = client.post(url).bearer_auth(key).header("content-type", "application/json").body(body).send().await?;
    let status = r.status().as_u16();
    r.bytes().await?;
    Ok(status)
}

async fn sequential(client: &reqwest::Client, url: &str, n: usize) -> Result<Vec<f64>> {
    sequential_as(client, url, n, KEY).await
}

async fn sequential_as(client: &reqwest::Client, url: &str, n: usize, key: &str) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        if post_as(client, url, body(), key).await? != 200 {
            bail!("a request failed");
        }
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(out)
}

async fn concurrent(client: &reqwest::Client, url: &str, n: usize) -> Result<f64> {
    concurrent_as(client, url, n, KEY).await
}

async fn concurrent_as(client: &reqwest::Client, url: &str, n: usize, key: &'static str) -> Result<f64> {
    let started = Instant::now();
    let per = n / 64;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_string());
            tokio::spawn(async move {
                for _ in 0..per {
                    if post_as(&client, &url, body(), key).await.ok() != Some(200) {
                        return false;
                    }
                }
                true
            })
        })
        .collect();
    for t in tasks {
        if !t.await? {
            bail!("a concurrent request failed");
        }
    }
    Ok((per * 64) as f64 / started.elapsed().as_secs_f64())
}

/// Open `n` streams through the gateway and wait until each has its first event.
async fn open_streams(client: &reqwest::Client, base: &str, n: usize) -> Result<Vec<reqwest::Response>> {
    let url = format!("{base}/v1/chat/completions");
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        let r = client.post(&url).bearer_auth(KEY).header("content-type", "application/json").body(STREAM_BODY).send();
        open.push(r);
    }
    let mut streams = Vec::with_capacity(n);
    for r in open {
        let mut r = r.await?;
        r.chunk().await?;
        streams.push(r);
    }
    Ok(streams)
}

fn status_kib(pid: u32, field: &str) -> Result<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = text.lines().find(|l| l.starts_with(field)).context("no such field")?;
    let kib: f64 = line.split_whitespace().nth(1).context("no value")?.parse()?;
    Ok(kib / 1024.0)
}

fn peak_rss(pid: u32) -> Result<f64> {
    status_kib(pid, "VmHWM:")
}

/// CPU time (user and system) spent so far by every thread of `pid`, from the scheduler's
/// nanosecond account (`/proc/PID/task/*/schedstat`), finer than the 10 ms ticks of `stat`.
fn cpu_time(pid: u32) -> Result<Duration> {
    let mut ns: u64 = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(text) = std::fs::read_to_string(task?.path().join("schedstat")) else { continue };
        ns += text.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(Duration::from_nanos(ns))
}

fn current_rss(pid: u32) -> Result<f64> {
    status_kib(pid, "VmRSS:")
}

/// Median and 99th percentile of `ms`.
fn percentiles(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}
