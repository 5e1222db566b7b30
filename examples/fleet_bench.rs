//! The fleet backend's benchmark (run by bench/fleet.sh): one pick and one outcome through the
//! library, on auth.json alone and on a Redis server on 127.0.0.1, in the same run.
//!
//!   cargo run --release --example fleet_bench -- REDIS_URL [PAIRS] [file|redis]
//!
//! Prints the median and p99 of a pick + report pair for each backend. The Redis server is the
//! caller's (bench/fleet.sh starts one on a free port); the homes are temporary directories.

use anyhow::{Context as _, Result};
use hermes::context::Context;
use hermes::home::Home;
use hermes::ops;
use hermes::pool::cooldown::Outcome;
use hermes::secret::Secret;
use std::collections::BTreeMap;
use std::time::Instant;

fn home(dir: &std::path::Path, state: &str) -> Result<Home> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("config.yaml"), format!("{state}credential_pool_strategies:\n  openrouter: least_used\n"))?;
    let vars: BTreeMap<String, String> =
        [("HERMES_HOME".to_string(), dir.display().to_string()), ("HOME".to_string(), dir.display().to_string())]
            .into_iter()
            .collect();
    Ok(Home::open(Context::with_vars(vars))?)
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

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).context("usage: fleet_bench REDIS_URL [PAIRS]")?;
    let pairs: usize = args.get(2).map_or(Ok(2000), |s| s.parse()).context("PAIRS")?;
    let only = args.get(3).map(String::as_str);
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
