//! The fleet backend's benchmark (run by bench/fleet.sh): one pick and one outcome through the
//! library, on auth.json alone and on a Redis server on 127.0.0.1, in the same run.
//!
//!   cargo run --release --example fleet_bench -- REDIS_URL [PAIRS] [file|redis]
//!   cargo run --release --example fleet_bench -- REDIS_URL ITER processes [WORKERS]
//!
//! Prints the median and p99 of a pick + report pair for each backend. The Redis server is the
//! caller's (bench/fleet.sh starts one on a free port); the homes are temporary directories.
//!
//! `processes`: WORKERS (default 8) long-lived processes on one home, each ITER times a pick on a
//! least_used pool of 4 and a 429 reported on its own entry of another pool (bench/throughput.sh
//! with a program on the library instead of a process per operation); prints operations per
//! second and fails unless the stored counts and streaks add up exactly.

use anyhow::{Context as _, Result};
use hermes::context::Context;
use hermes::home::Home;
use hermes::ops;
use hermes::pool::cooldown::Outcome;
use hermes::secret::Secret;
use std::collections::BTreeMap;
use std::time::Instant;

/// The clock is pinned (as bench/throughput.sh pins it) so that every 429 extends its streak.
const NOW: &str = "1780000000";

fn open(dir: &std::path::Path) -> Result<Home> {
    let vars: BTreeMap<String, String> = [
        ("HERMES_HOME".to_string(), dir.display().to_string()),
        ("HOME".to_string(), dir.display().to_string()),
        ("HERMES_TEST_NOW".to_string(), NOW.to_string()),
    ]
    .into_iter()
    .collect();
    Ok(Home::open(Context::with_vars(vars))?)
}

fn home(dir: &std::path::Path, state: &str) -> Result<Home> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("config.yaml"), format!("{state}credential_pool_strategies:\n  openrouter: least_used\n"))?;
    open(dir)
}

fn measure(home: &Home, pairs: usize) -> Result<Vec<f64>> {
    let pool = home.pool("openrouter")?;
    for i in 0..4 {
        let key = Secret::new(format!("sk-or-v1-fleet-bench-{i}-0123456789abcdef"));
        ops::add_api_key(home, &pool, &key, None)?;
    }
    let mut took = Vec::with_capacity(pairs);
    for i in 0..pairs + 50 {
        let t = Instant::now();
        let p = ops::pick(home, &pool, &[])?;
        ops::report(home, &pool, &p.id, &Outcome::Success)?;
        if i >= 50 {
            took.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    took.sort_by(|a, b| a.total_cmp(b));
    Ok(took)
}

/// One worker of `processes`: ITER × (pick openrouter, 429 on deepseek `w<N>`).
fn worker(dir: &std::path::Path, w: usize, iter: usize) -> Result<()> {
    let h = open(dir)?;
    let (pick_pool, mark_pool) = (h.pool("openrouter")?, h.pool("deepseek")?);
    let label = format!("w{w}");
    let limited = Outcome::Http { code: 429, reason: None, message: None, hint: None };
    for _ in 0..iter {
        ops::pick(&h, &pick_pool, &[])?;
        ops::report(&h, &mark_pool, &label, &limited)?;
    }
    Ok(())
}

/// WORKERS processes of [`worker`] on one home per backend; operations per second, counts checked.
fn processes(url: &str, iter: usize, workers: usize) -> Result<()> {
    let me = std::env::current_exe()?;
    let dir = tempfile::tempdir()?;
    let prefix = format!("hermes-bench-{:08x}:", rand::random::<u32>());
    for (name, state) in [
        ("file (auth.json)", String::new()),
        ("redis", format!("state:\n  backend: redis\n  url: {url}\n  prefix: \"{prefix}\"\n  on_unavailable: fail\n")),
    ] {
        let d = dir.path().join(name.split(' ').next().unwrap_or(name));
        let h = home(&d, &state)?;
        let (pick_pool, mark_pool) = (h.pool("openrouter")?, h.pool("deepseek")?);
        for i in 0..4 {
            let key = Secret::new(format!("sk-or-v1-throughput-{i}-0123456789abcdef"));
            ops::add_api_key(&h, &pick_pool, &key, None)?;
        }
        for w in 0..workers {
            let key = Secret::new(format!("sk-ds-throughput-{w}-0123456789abcdef"));
            ops::add_api_key(&h, &mark_pool, &key, Some(&format!("w{w}")))?;
        }
        let t = Instant::now();
        let children: Vec<std::process::Child> = (0..workers)
            .map(|w| {
                std::process::Command::new(&me)
                    .args(["-", &iter.to_string(), "worker", &w.to_string()])
                    .arg(&d)
                    .env_clear()
                    .spawn()
            })
            .collect::<std::io::Result<_>>()?;
        for mut c in children {
            anyhow::ensure!(c.wait()?.success(), "a worker failed");
        }
        let secs = t.elapsed().as_secs_f64();
        let ops = workers * iter * 2;
        let doc = h.state().read()?;
        let sum = |pool: &str, field: &str| -> i64 {
            doc.pool(pool).iter().map(|e| e.get(field).and_then(|v| v.as_i64()).unwrap_or(0)).sum()
        };
        let (picks, streaks) = (sum("openrouter", "request_count"), sum("deepseek", "rate_limit_streak"));
        println!(
            "token+report, {workers} library processes, {name:<17} {ops} operations in {secs:.2} s = {:.0} operations/s",
            ops as f64 / secs
        );
        let want = (workers * iter) as i64;
        anyhow::ensure!(picks == want && streaks == want, "LOST UPDATE: picks {picks}, streaks {streaks}, want {want}");
        println!("  stored picks {picks}, stored 429 streaks {streaks}: no lost update");
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).context("usage: fleet_bench REDIS_URL [PAIRS]")?;
    let pairs: usize = args.get(2).map_or(Ok(2000), |s| s.parse()).context("PAIRS")?;
    let only = args.get(3).map(String::as_str);
    match only {
        Some("worker") => {
            let w: usize = args.get(4).context("worker N")?.parse()?;
            return worker(std::path::Path::new(args.get(5).context("worker HOME")?), w, pairs);
        }
        Some("processes") => {
            let workers: usize = args.get(4).map_or(Ok(8), |s| s.parse()).context("WORKERS")?;
            return processes(url, pairs, workers);
        }
        _ => {}
    }
    let dir = tempfile::tempdir()?;
    for (name, state) in [
        ("file (auth.json)", String::new()),
        ("redis", format!("state:\n  backend: redis\n  url: {url}\n  on_unavailable: fail\n")),
    ] {
        if only.is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        let h = home(&dir.path().join(name.split(' ').next().unwrap_or(name)), &state)?;
        let t = measure(&h, pairs)?;
        let at = |q: f64| t[((t.len() as f64 - 1.0) * q) as usize];
        println!("pick + report, {name:<17} {pairs} pairs: median {:.3} ms, p99 {:.3} ms", at(0.5), at(0.99));
    }
    Ok(())
}
