//! A writer killed at any moment never breaks the store (docs/design.md#write-protocol): auth.json is replaced by rename
//! from a fully written, fsynced temp file, so a SIGKILL before the rename leaves the old file
//! and a SIGKILL after it leaves the new one. Never a torn file, never a lost commit.
//!
//! 200 `hermes auth add` / `hermes auth token` children run one after another; each is killed
//! with SIGKILL (`Child::kill`) after a random delay drawn from a seeded RNG and scaled to how
//! long an unkilled write takes on this machine, so the kills land before, during and after the
//! write. After every child the test checks that auth.json validates, holds every entry whose
//! `add` exited 0 (and every entry it held before), and that the pick counters are neither lost
//! nor invented. Temp files that killed writers leave behind must not matter to anything.

use crate::common::*;
use hermes::model::AuthDoc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const WRITES: usize = 200;

fn spawn(s: &Sealed, args: &[&str], stdin: &str) -> Child {
    let mut c = s.process();
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn hermes");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child
}

/// The store as the store itself validates it; `None` while no write has landed yet.
fn load(s: &Sealed) -> Option<Value> {
    let bytes = std::fs::read(s.auth_path()).ok()?;
    if let Err(e) = AuthDoc::parse(&bytes) {
        panic!("auth.json does not validate after a killed writer: {e}\n{}", String::from_utf8_lossy(&bytes));
    }
    Some(serde_json::from_slice(&bytes).expect("valid JSON"))
}

fn temp_files(s: &Sealed) -> usize {
    std::fs::read_dir(&s.home)
        .map(|d| d.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp.")).count())
        .unwrap_or(0)
}

#[derive(Default, Debug)]
struct Tally {
    finished: usize,
    killed: usize,
    killed_but_landed: usize,
}

#[test]
fn sigkill_at_random_points_never_breaks_the_store() {
    let s = Sealed::new();
    // How long one unkilled add takes here (debug binary, real fsyncs). The kill delays are
    // drawn from 0 to 2× that, re-measured as the store grows, so part of the children are
    // killed mid-run and the rest finish.
    let mut samples: Vec<Duration> = (0..5)
        .map(|n| {
            let t = Instant::now();
            s.add_key("openrouter", &format!("sk-or-v1-calibrate-{n}-0123456789"), None);
            t.elapsed()
        })
        .collect();
    samples.sort();
    let mut typical = samples[2];
    let mut committed: BTreeSet<String> = (0..5).map(|n| format!("sk-or-v1-calibrate-{n}-0123456789")).collect();
    let mut attempted = committed.clone();
    let (mut tokens_done, mut tokens_tried) = (0i64, 0i64);

    let mut rng = StdRng::seed_from_u64(0x4845_524d_4553);
    let mut tally = Tally::default();
    let started = Instant::now();
    for n in 0..WRITES {
        if n % 20 == 19 {
            // The store grows and the machine's load changes: re-measure with one unkilled add
            // (a committed write like any other).
            let key = format!("sk-or-v1-recalibrate-{n:03}-0123456789");
            let t = Instant::now();
            s.add_key("openrouter", &key, None);
            typical = (typical + t.elapsed()) / 2;
            attempted.insert(key.clone());
            committed.insert(key);
        }
        let is_add = rng.gen_bool(0.75);
        let key = format!("sk-or-v1-crash-{n:03}-0123456789abcdef");
        let mut child = if is_add {
            attempted.insert(key.clone());
            spawn(&s, &["auth", "add", "openrouter", "--api-key", "-"], &key)
        } else {
            tokens_tried += 1;
            spawn(&s, &["auth", "token", "openrouter"], "")
        };
        let delay = typical.mul_f64(rng.gen_range(0.0..2.0));
        std::thread::sleep(delay);
        let exited = child.try_wait().expect("try_wait").is_some();
        if !exited {
            // SIGKILL on Unix.
            child.kill().expect("kill");
        }
        let out = child.wait_with_output().expect("wait");
        match out.status.code() {
            Some(0) => {
                tally.finished += 1;
                if is_add {
                    committed.insert(key.clone());
                } else {
                    tokens_done += 1;
                }
            }
            Some(code) => panic!("write {n} failed with exit {code}: {}", String::from_utf8_lossy(&out.stderr)),
            None => tally.killed += 1,
        }

        let doc = load(&s).expect("the calibration adds created the store");
        let pool = doc["credential_pool"]["openrouter"].as_array().expect("openrouter pool");
        let keys: Vec<String> = pool.iter().map(|e| e["access_token"].as_str().unwrap().to_string()).collect();
        let on_disk: BTreeSet<String> = keys.iter().cloned().collect();
        assert_eq!(on_disk.len(), keys.len(), "write {n}: a key is stored twice");
        let ids: BTreeSet<&str> = pool.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), pool.len(), "write {n}: duplicate ids");
        let lost: Vec<&String> = committed.difference(&on_disk).collect();
        assert!(lost.is_empty(), "write {n}: committed entries missing: {lost:?}");
        let invented: Vec<&String> = on_disk.difference(&attempted).collect();
        assert!(invented.is_empty(), "write {n}: entries nobody added: {invented:?}");
        if out.status.code().is_none() && is_add && on_disk.contains(&key) {
            // Killed after its rename: the entry is committed all the same and must stay.
            tally.killed_but_landed += 1;
            committed.insert(key);
        }
        let picks: i64 = pool.iter().map(|e| e["request_count"].as_i64().unwrap()).sum();
        assert!(picks >= tokens_done, "write {n}: {picks} picks stored, {tokens_done} tokens returned");
        assert!(picks <= tokens_tried, "write {n}: {picks} picks stored, only {tokens_tried} tried");
        let prios: BTreeSet<i64> = pool.iter().map(|e| e["priority"].as_i64().unwrap()).collect();
        assert_eq!(prios.len(), pool.len(), "write {n}: duplicate priorities");
    }
    let elapsed = started.elapsed();
    let leftovers = temp_files(&s);
    eprintln!("{WRITES} writes in {elapsed:?} (typical {typical:?}): {tally:?}, {leftovers} temp files left");
    // The schedule must really have exercised both sides.
    assert!(tally.killed >= 10, "too few kills to prove anything: {tally:?}");
    assert!(tally.finished >= 10, "too few completed writes: {tally:?}");

    // Leftover temp files change nothing: the store checks out, lists and takes writes; and
    // they go, since they may hold removed keys (repair says so when it removes some).
    let o = s.run(&["auth", "repair"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("auth.json is valid: "), "{}", o.stdout);
    assert_eq!(o.stderr.contains("temp file"), leftovers > 0, "{}", o.stderr);
    let listed = s.run(&["auth", "list", "--json"]).json();
    let n = listed["providers"][0]["entries"].as_array().unwrap().len();
    assert_eq!(n, s.pool("openrouter").len());
    s.add_key("openrouter", "sk-or-v1-after-the-crashes-0123", Some("after"));
    let pool = s.pool("openrouter");
    assert_eq!(pool.last().unwrap()["label"], "after");
    assert_eq!(mode(&s.auth_path()), 0o600);
    assert_eq!(temp_files(&s), 0, "temp files of killed writers are gone");
}
