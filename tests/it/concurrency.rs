//! Several hermes processes on one home at the same time (docs/design.md#write-protocol): no update is
//! lost, the lock times out with a message naming `auth.lock`, and a symlinked auth.json keeps
//! its link.
//!
//! Every child is the real binary in the sealed home (`Sealed::process`). Concurrent children are
//! started by worker threads that wait on one barrier, so they really overlap; each worker then
//! runs its commands back to back, as a script calling `hermes` in a loop would.
//!
//! A mutation waits 15 s for a held lock (docs/design.md#write-protocol). These tests do not wait that long: the
//! hidden `HERMES_TEST_LOCK_TIMEOUT` variable (seconds; `vars::TEST_LOCK_TIMEOUT`) shortens the
//! timeout of the child, and everything else about the lock path (the poll loop, the message,
//! the exit code, leaving auth.json untouched) is the same code the 15 s default runs.

use crate::common::*;
use hermes::home::Home;
use hermes::ops;
use hermes::pool::cooldown::Outcome;
use hermes::store::{AuthDoc, LockFile, TryAcquire};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Run a prepared child to completion, feeding `stdin`.
fn finish(mut c: Command, stdin: &str) -> Output {
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn hermes");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait hermes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `workers` threads start together; worker `w` runs `job(w, i)` for `i` in `0..per_worker`.
/// Returns every (worker, i, output), in no particular order.
fn in_parallel(
    workers: usize,
    per_worker: usize,
    job: impl Fn(usize, usize) -> Output + Send + Sync + 'static,
) -> Vec<(usize, usize, Output)> {
    let job = Arc::new(job);
    let barrier = Arc::new(Barrier::new(workers));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (job, barrier) = (job.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..per_worker).map(|i| (w, i, job(w, i))).collect::<Vec<_>>()
            })
        })
        .collect();
    handles.into_iter().flat_map(|h| h.join().expect("worker panicked")).collect()
}

/// auth.json parses with the store's own validation (not just as JSON).
fn parse_store(path: &Path) -> Value {
    let bytes = std::fs::read(path).expect("auth.json exists");
    AuthDoc::parse(&bytes).unwrap_or_else(|e| panic!("auth.json does not validate: {e}"));
    serde_json::from_slice(&bytes).expect("valid JSON")
}

/// Temp files a write left behind in `dir` (there must be none after clean runs).
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect()
}

fn set_of(pool: &[Value], field: &str) -> BTreeSet<String> {
    pool.iter().map(|e| e[field].to_string()).collect()
}

/// 8 processes × 20 `add` give 160 entries with distinct ids, priorities and default
/// labels; every key lands exactly once; the file is valid and 0600.
#[test]
fn eight_processes_add_twenty_each() {
    let s = Arc::new(Sealed::new());
    let key = |w: usize, i: usize| format!("sk-or-v1-w{w}i{i:02}-0123456789abcdef");
    let sc = s.clone();
    let outs = in_parallel(8, 20, move |w, i| {
        let mut c = sc.process();
        c.args(["auth", "add", "openrouter", "--api-key", "-"]);
        finish(c, &format!("{}\n", key(w, i)))
    });
    for (w, i, o) in &outs {
        assert!(o.status.success(), "worker {w} add {i}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("Added openrouter credential #"), "{}", text(&o.stderr));
    }

    let auth = parse_store(&s.auth_path());
    let pool = auth["credential_pool"]["openrouter"].as_array().unwrap();
    assert_eq!(pool.len(), 160);
    assert_eq!(set_of(pool, "id").len(), 160, "ids are not distinct");
    let labels: BTreeSet<String> = pool.iter().map(|e| e["label"].as_str().unwrap().to_string()).collect();
    let want_labels: BTreeSet<String> = (1..=160).map(|n| format!("api-key-{n}")).collect();
    assert_eq!(labels, want_labels);
    let priorities: BTreeSet<i64> = pool.iter().map(|e| e["priority"].as_i64().unwrap()).collect();
    assert_eq!(priorities, (0..160).collect::<BTreeSet<i64>>());
    let keys: BTreeSet<String> = pool.iter().map(|e| e["access_token"].as_str().unwrap().to_string()).collect();
    let want_keys: BTreeSet<String> = (0..8).flat_map(|w| (0..20).map(move |i| key(w, i))).collect();
    assert_eq!(keys, want_keys);
    // File order is commit order: priorities and default labels follow it exactly.
    for (n, e) in pool.iter().enumerate() {
        assert_eq!(e["priority"], json!(n));
        assert_eq!(e["label"], json!(format!("api-key-{}", n + 1)));
    }
    assert_eq!(mode(&s.auth_path()), 0o600);
    assert_eq!(mode(&s.home), 0o700);
    assert_eq!(temp_files(&s.home), Vec::<String>::new());
}

/// at the issue's size: 8 processes × 50 `token` on a least_used pool of 4. Every
/// pick is an increment on a fresh read under the lock, so the stored counts add up to exactly
/// 400, stay balanced (least_used picks the lowest count each time), and match what the
/// children printed.
#[test]
fn eight_processes_take_fifty_tokens_each() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: least_used\n");
    let keys: Vec<String> = (0..4).map(|n| format!("sk-or-v1-least-used-{n}-0123456789")).collect();
    for k in &keys {
        s.add_key("openrouter", k, None);
    }
    let s = Arc::new(s);
    let sc = s.clone();
    let outs = in_parallel(8, 50, move |_, _| {
        let mut c = sc.process();
        c.args(["auth", "token", "openrouter"]);
        finish(c, "")
    });
    let mut printed: BTreeMap<String, i64> = BTreeMap::new();
    for (w, i, o) in &outs {
        assert!(o.status.success(), "worker {w} token {i}: {}", text(&o.stderr));
        *printed.entry(text(&o.stdout).trim_end_matches('\n').to_string()).or_default() += 1;
    }
    assert_eq!(outs.len(), 400);

    let auth = parse_store(&s.auth_path());
    let pool = auth["credential_pool"]["openrouter"].as_array().unwrap();
    assert_eq!(pool.len(), 4);
    let counts: Vec<i64> = pool.iter().map(|e| e["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), 400, "lost or invented increments: {counts:?}");
    assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "unbalanced: {counts:?}");
    // What each child was handed is what the store counted for that key.
    let stored: BTreeMap<String, i64> = pool
        .iter()
        .map(|e| (e["access_token"].as_str().unwrap().to_string(), e["request_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(printed, stored);
    // least_used never reorders.
    let prios: Vec<i64> = pool.iter().map(|e| e["priority"].as_i64().unwrap()).collect();
    assert_eq!(prios, [0, 1, 2, 3]);
    assert_eq!(mode(&s.auth_path()), 0o600);
    assert_eq!(temp_files(&s.home), Vec::<String>::new());
}

/// round_robin is hermes-agent's shared rotation (docs/design.md#strategies): every pick moves the chosen entry to the
/// end and renumbers. 8 processes × 25 picks on 4 entries hand out each key exactly 50 times,
/// and the priorities still end as a permutation of 0..3.
#[test]
fn round_robin_rotation_is_shared_by_concurrent_processes() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: round_robin\n");
    for n in 0..4 {
        s.add_key("openrouter", &format!("sk-or-v1-rotation-{n}-0123456789"), None);
    }
    let s = Arc::new(s);
    let sc = s.clone();
    let outs = in_parallel(8, 25, move |_, _| {
        let mut c = sc.process();
        c.args(["auth", "token", "openrouter"]);
        finish(c, "")
    });
    let mut printed: BTreeMap<String, i64> = BTreeMap::new();
    for (w, i, o) in &outs {
        assert!(o.status.success(), "worker {w} token {i}: {}", text(&o.stderr));
        *printed.entry(text(&o.stdout).trim_end().to_string()).or_default() += 1;
    }
    assert_eq!(printed.values().copied().collect::<Vec<_>>(), [50, 50, 50, 50], "{printed:?}");
    let pool = s.pool("openrouter");
    let counts: Vec<i64> = pool.iter().map(|e| e["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [50, 50, 50, 50]);
    let prios: BTreeSet<i64> = pool.iter().map(|e| e["priority"].as_i64().unwrap()).collect();
    assert_eq!(prios, (0..4).collect::<BTreeSet<i64>>());
}

/// Different operations interleaved: adds (which materialise and rewrite the whole pool), picks
/// (counter increments) and reports (marks) from 8 processes at once. Every add lands, and the
/// counters account for every pick and every 429.
#[test]
fn mixed_adds_picks_and_reports_lose_nothing() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: least_used\n");
    s.add_key("openrouter", "sk-or-v1-mixed-base-0123456789", Some("base"));
    // Never reported, so a pick always has a selectable entry even before any add lands.
    s.add_key("openrouter", "sk-or-v1-mixed-spare-0123456789", Some("spare"));
    let s = Arc::new(s);
    let sc = s.clone();
    let outs = in_parallel(8, 12, move |w, i| {
        let mut c = sc.process();
        match w % 4 {
            0 | 1 => {
                c.args(["auth", "add", "openrouter", "--api-key", "-"]);
                finish(c, &format!("sk-or-v1-mixed-w{w}-i{i:02}-0123456789"))
            }
            2 => {
                c.args(["auth", "token", "openrouter"]);
                finish(c, "")
            }
            _ => {
                c.args(["auth", "report", "openrouter", "base", "--status", "429"]);
                finish(c, "")
            }
        }
    });
    for (w, i, o) in &outs {
        assert!(o.status.success(), "worker {w} op {i}: {}", text(&o.stderr));
    }
    let auth = parse_store(&s.auth_path());
    let pool = auth["credential_pool"]["openrouter"].as_array().unwrap();
    // 4 adding workers × 12 adds, plus base and spare.
    assert_eq!(pool.len(), 50);
    assert_eq!(set_of(pool, "id").len(), 50);
    assert_eq!(set_of(pool, "label").len(), 50);
    let picks: i64 = pool.iter().map(|e| e["request_count"].as_i64().unwrap()).sum();
    assert_eq!(picks, 24, "2 picking workers × 12");
    let base = pool.iter().find(|e| e["label"] == "base").unwrap();
    assert_eq!(base["rate_limit_streak"], 24, "2 reporting workers × 12 429s: {base}");
    assert_eq!(base["last_status"], "exhausted");
}

/// docs/design.md#write-protocol: reads take no lock and, because writes are renames, see the old file or the new one,
/// never a mix. Readers running `list --json` while writers add always get a complete store,
/// and each reader sees the pool only grow.
#[test]
fn readers_see_whole_files_while_writers_write() {
    let s = Sealed::new();
    s.add_key("openrouter", "sk-or-v1-reader-seed-0123456789", None);
    let s = Arc::new(s);
    let sc = s.clone();
    let outs = in_parallel(6, 25, move |w, i| {
        let mut c = sc.process();
        if w < 3 {
            c.args(["auth", "add", "openrouter", "--api-key", "-"]);
            finish(c, &format!("sk-or-v1-reader-w{w}-i{i:02}-0123456789"))
        } else {
            c.args(["auth", "list", "--json"]);
            finish(c, "")
        }
    });
    let mut seen: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut ordered = outs;
    ordered.sort_by_key(|(w, i, _)| (*w, *i));
    for (w, i, o) in &ordered {
        assert!(o.status.success(), "worker {w} op {i}: {}", text(&o.stderr));
        if *w >= 3 {
            let v: Value = serde_json::from_slice(&o.stdout).expect("list --json is one whole document");
            let n = v["providers"][0]["entries"].as_array().expect("entries").len();
            seen.entry(*w).or_default().push(n);
        }
    }
    for (w, counts) in &seen {
        assert!(counts.windows(2).all(|p| p[0] <= p[1]), "reader {w} saw the pool shrink: {counts:?}");
        assert!(counts.iter().all(|&n| (1..=76).contains(&n)), "reader {w}: {counts:?}");
    }
    assert_eq!(s.pool("openrouter").len(), 76);
}

/// 3 processes report a 429 on 3 different entries at the same moment; all 3 marks
/// land. Repeated over several rounds (with a reset in between) so the reports really collide.
#[test]
fn three_simultaneous_reports_all_land() {
    let s = Sealed::new();
    for n in 0..3 {
        s.add_key("openrouter", &format!("sk-or-v1-report-{n}-0123456789"), None);
    }
    let ids: Vec<String> =
        s.pool("openrouter").iter().map(|e| e["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let s = Arc::new(s);
    for round in 0..5 {
        let (sc, idc) = (s.clone(), ids.clone());
        let outs = in_parallel(3, 1, move |w, _| {
            let mut c = sc.process();
            c.args(["auth", "report", "openrouter", &idc[w], "--status", "429", "--reason", "rate_limit_exceeded"]);
            finish(c, "")
        });
        for (w, _, o) in &outs {
            assert!(o.status.success(), "round {round} report {w}: {}", text(&o.stderr));
        }
        let pool = s.pool("openrouter");
        for e in &pool {
            assert_eq!(e["last_status"], "exhausted", "round {round}: {e}");
            assert_eq!(e["last_error_code"], 429, "round {round}: {e}");
            assert_eq!(e["last_error_reason"], "rate_limit_exceeded");
            assert_eq!(e["last_status_at"].as_f64(), Some(T0));
            assert!(e["last_error_reset_at"].as_f64().unwrap() > T0, "{e}");
            assert_eq!(e["rate_limit_streak"], 1, "round {round}: {e}");
        }
        let o = s.run(&["auth", "reset", "openrouter"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(o.stderr.contains("Reset 3 cooldowns in openrouter"), "{}", o.stderr);
    }
}

/// process A loads a pool (a snapshot view), B adds an entry, then A marks an
/// entry. A's mark is an operation on a fresh read, so B's entry survives and A's mark lands.
#[test]
fn stale_loader_marks_without_losing_a_concurrent_add() {
    let s = Sealed::new();
    s.add_key("openrouter", "sk-or-v1-process-a-0123456789", Some("a-key"));
    let (ctx, _clock, _sleeper) = s.context();
    let home = Home::open(ctx).unwrap();
    let pool = home.pool("openrouter").unwrap();

    // A: load the pool and remember the entry and the secret it was handed.
    let snapshot = home.state().read().unwrap();
    let view = home.view(&snapshot, &pool.key, home.now());
    assert_eq!(view.entries.len(), 1);
    let a_id = view.entries[0].entry.id.clone();
    let a_fp = view.entries[0].fingerprint().unwrap();

    // B: another process adds a credential meanwhile.
    let b = s.add_key("openrouter", "sk-or-v1-process-b-0123456789", Some("b-key"));
    assert!(b.stderr.contains("Added openrouter credential #2"), "{}", b.stderr);

    // A: report the 429 it got, bound to the entry and secret it picked.
    let outcome = Outcome::Http { code: 429, reason: Some("rate_limit_exceeded".into()), message: None, hint: None };
    let marked = ops::mark(&home, &pool, &a_id, Some(&a_fp), &outcome).unwrap().expect("target still there");
    assert_eq!(marked.entry.id, a_id);

    let pool_on_disk = s.pool("openrouter");
    assert_eq!(pool_on_disk.len(), 2, "B's add was lost: {pool_on_disk:?}");
    let a = pool_on_disk.iter().find(|e| e["id"] == json!(a_id)).unwrap();
    assert_eq!(a["last_status"], "exhausted");
    assert_eq!(a["last_error_code"], 429);
    let b = pool_on_disk.iter().find(|e| e["label"] == "b-key").unwrap();
    assert_eq!(b["access_token"], "sk-or-v1-process-b-0123456789");
    assert!(b["last_status"].is_null());
    // The snapshot A loaded is still the one-entry pool: nothing ever wrote it back.
    assert_eq!(snapshot.pool("openrouter").len(), 1);
}

/// while another process holds auth.lock, every mutation gives up after the lock
/// timeout with exit 1 and a message naming auth.lock, and auth.json is untouched. Reads take no
/// lock and still work. (The 15 s default is shortened to 1 s by `HERMES_TEST_LOCK_TIMEOUT`.)
#[test]
fn held_lock_times_out_naming_auth_lock() {
    let mut s = Sealed::new();
    s.add_key("openrouter", "sk-or-v1-locked-0123456789", Some("work"));
    let before = s.auth_bytes().unwrap();
    let lock_path = s.home.join("auth.lock");
    let guard = match LockFile::open(&lock_path).unwrap().try_acquire().unwrap() {
        TryAcquire::Acquired(g) => g,
        TryAcquire::Busy(_) => panic!("nobody else should hold the lock"),
    };
    s.var("HERMES_TEST_LOCK_TIMEOUT", "1");
    let want = format!(
        "error: timed out after 1s waiting for lock {} (held by another hermes or hermes-agent process)\n  \
         wait for it to finish, or find it with: fuser -v {}",
        lock_path.display(),
        lock_path.display()
    );
    let mutations: [(&[&str], &str); 5] = [
        (&["auth", "add", "openrouter", "--api-key", "-"], "sk-or-v1-second-0123456789"),
        (&["auth", "token", "openrouter"], ""),
        (&["auth", "report", "openrouter", "work", "--status", "429"], ""),
        (&["auth", "reset", "openrouter", "work"], ""),
        (&["auth", "remove", "openrouter", "work"], ""),
    ];
    // Run them all at once: each waits out its own timeout.
    let started = Instant::now();
    let children: Vec<_> = mutations
        .iter()
        .map(|(args, stdin)| {
            let mut c = s.process();
            c.args(*args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = c.spawn().unwrap();
            child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
            (args.join(" "), child)
        })
        .collect();
    let outs: Vec<(String, Output)> = children.into_iter().map(|(a, c)| (a, c.wait_with_output().unwrap())).collect();
    let elapsed = started.elapsed();
    for (args, o) in &outs {
        assert_eq!(o.status.code(), Some(1), "{args}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "", "{args}");
        assert_eq!(text(&o.stderr).trim_end(), want, "{args}");
    }
    assert!(elapsed >= Duration::from_secs(1), "gave up before the timeout: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "waited far past the timeout: {elapsed:?}");
    assert_eq!(s.auth_bytes().unwrap(), before, "auth.json changed under a held lock");
    assert_eq!(temp_files(&s.home), Vec::<String>::new());

    // Reads take no lock.
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("work"));

    // Once the holder lets go, the same mutation goes through.
    drop(guard);
    s.add_key("openrouter", "sk-or-v1-second-0123456789", None);
    assert_eq!(s.pool("openrouter").len(), 2);
}

/// a symlinked auth.json. Writes replace the target (lock and temp file in the
/// target's directory), the link survives, concurrent writers through the link still exclude
/// each other, and a temp file left by an interrupted write changes nothing.
#[test]
fn symlinked_store_keeps_its_link() {
    let s = Sealed::new();
    let real_dir = s.dir.path().join("real");
    std::fs::create_dir_all(&real_dir).unwrap();
    let target = real_dir.join("auth.json");
    std::fs::write(&target, r#"{"version": 1, "credential_pool": {}, "kept": 1751360000.0}"#).unwrap();
    std::fs::create_dir_all(&s.home).unwrap();
    std::os::unix::fs::symlink("../../real/auth.json", s.auth_path()).unwrap();

    // An interrupted write: a temp file written but never renamed, next to the target.
    let stale_tmp = real_dir.join("auth.json.tmp.0.00deadbeef00cafe");
    std::fs::write(&stale_tmp, "{\"version\": 1, \"credential_pool\": {\"openrouter\": [{\"id\": \"trunc").unwrap();
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(s.run(&["auth", "repair"]).code, 0);

    s.add_key("openrouter", "sk-or-v1-through-link-0123", Some("first"));
    let meta = std::fs::symlink_metadata(s.auth_path()).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced by a file");
    assert_eq!(std::fs::read_link(s.auth_path()).unwrap(), Path::new("../../real/auth.json"));
    assert_eq!(mode(&target), 0o600);
    assert!(real_dir.join("auth.lock").exists(), "the lock belongs next to the target");
    assert!(!s.home.join("auth.lock").exists());
    let on_disk = parse_store(&target);
    assert_eq!(on_disk["credential_pool"]["openrouter"][0]["label"], "first");
    assert!(String::from_utf8(std::fs::read(&target).unwrap()).unwrap().contains("\"kept\": 1751360000.0"));

    // Concurrent writers through the link.
    let s = Arc::new(s);
    let sc = s.clone();
    let outs = in_parallel(4, 10, move |w, i| {
        let mut c = sc.process();
        c.args(["auth", "add", "openrouter", "--api-key", "-"]);
        finish(c, &format!("sk-or-v1-link-w{w}-i{i}-0123456789"))
    });
    for (w, i, o) in &outs {
        assert!(o.status.success(), "worker {w} add {i}: {}", text(&o.stderr));
    }
    assert!(std::fs::symlink_metadata(s.auth_path()).unwrap().file_type().is_symlink());
    let pool = parse_store(&target)["credential_pool"]["openrouter"].as_array().unwrap().clone();
    assert_eq!(pool.len(), 41);
    assert_eq!(set_of(&pool, "id").len(), 41);
    assert_eq!(set_of(&pool, "label").len(), 41);
    // The stale temp file of a dead writer (pid 0) was removed under the lock; none of ours is left.
    assert_eq!(temp_files(&real_dir), Vec::<String>::new());
    assert_eq!(temp_files(&s.home), Vec::<String>::new());
}

/// A symlinked auth.json whose target directory does not exist (a volume that is not mounted,
/// a synced folder not there yet): writing through it must not create that directory and put
/// the keys there (docs/design.md#files: hermes creates nothing but its own files). The write fails naming the
/// link; reading still sees an empty store.
#[test]
fn symlink_into_a_missing_directory_is_refused() {
    let s = Sealed::new();
    let gone = s.dir.path().join("not-mounted");
    std::fs::create_dir_all(&s.home).unwrap();
    std::os::unix::fs::symlink(gone.join("auth.json"), s.auth_path()).unwrap();

    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], "sk-or-v1-nowhere-0123456789");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stderr.trim_end(),
        format!(
            "error: {}: is a symlink into {}, which does not exist\n  fix the path by hand, or move what is there aside and start with an empty store: \
             hermes auth repair --force",
            s.auth_path().display(),
            gone.display()
        )
    );
    assert!(!gone.exists(), "created the link's target directory");
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!gone.exists());
}
