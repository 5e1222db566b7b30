//! The `ops` layer over every pool-state backend: the same scenarios run on the file store and on
//! [`MemoryState`], through the [`PoolState`] trait alone (the runtime's suite in
//! `runtime_lib.rs` does the same for requests).

use crate::common::{Sealed, T0};
use hermes::home::Home;
use hermes::model::entry::LastStatus;
use hermes::ops;
use hermes::pool::cooldown::Outcome;
use hermes::secret::Secret;
use hermes::store::state::{MemoryState, PoolState};
use std::sync::Arc;

/// A sealed home (config.yaml from `config`) over each backend.
fn homes(config: &str) -> Vec<(&'static str, Sealed, Arc<Home>)> {
    let mut out = Vec::new();
    for name in ["file", "memory"] {
        let s = Sealed::new();
        s.write_home_file("config.yaml", config);
        let (ctx, _, _) = s.context();
        let home = match name {
            "file" => Home::open(ctx).unwrap(),
            _ => Home::with_state(ctx, Arc::new(MemoryState::new())).unwrap(),
        };
        out.push((name, s, Arc::new(home)));
    }
    out
}

fn add(home: &Home, key: &str, label: &str) -> String {
    let pool = home.pool("openrouter").unwrap();
    ops::add_api_key(home, &pool, &Secret::new(key), Some(label)).unwrap().id
}

#[test]
fn add_pick_mark_reset_remove() {
    for (name, s, home) in homes("credential_pool_strategies:\n  openrouter: round_robin\n") {
        let pool = home.pool("openrouter").unwrap();
        let a = add(&home, "sk-or-v1-suite-aaaa-1111", "a");
        let b = add(&home, "sk-or-v1-suite-bbbb-2222", "b");
        // A duplicate key and a taken label are refused, in one transaction each.
        assert!(ops::add_api_key(&home, &pool, &Secret::new("sk-or-v1-suite-aaaa-1111"), None).is_err(), "{name}");
        assert!(ops::add_api_key(&home, &pool, &Secret::new("sk-or-v1-suite-cccc-3333"), Some("a")).is_err());

        // round_robin alternates.
        let picks: Vec<String> = (0..4).map(|_| ops::pick(&home, &pool, &[]).unwrap().id).collect();
        assert_eq!(picks, [a.clone(), b.clone(), a.clone(), b.clone()], "{name}");

        // A 429 on a benches it; the next picks are b only.
        let outcome =
            Outcome::Http { code: 429, reason: Some("rate_limit_exceeded".into()), message: None, hint: None };
        let e = ops::mark(&home, &pool, &a, None, &outcome).unwrap().unwrap();
        assert_eq!(e.entry.last_status, Some(LastStatus::Exhausted), "{name}");
        assert_eq!(e.entry.last_error_reset_at, Some(T0 + 60.0), "{name}");
        for _ in 0..3 {
            assert_eq!(ops::pick(&home, &pool, &[]).unwrap().id, b, "{name}");
        }
        // Both benched: nothing usable, with the earliest deadline as data in the text.
        ops::report(&home, &pool, "b", &Outcome::Http { code: 402, reason: None, message: None, hint: None }).unwrap();
        let err = ops::pick(&home, &pool, &[]).unwrap_err();
        assert_eq!(err.exit_code(), 4, "{name}: {err}");

        // Reset clears both; remove drops one.
        let r = ops::reset(&home, Some(&pool), None).unwrap();
        assert_eq!(r.changed, 2, "{name}");
        let removed = ops::remove(&home, &pool, "a").unwrap();
        assert_eq!(removed.id, a, "{name}");
        let doc = home.state().read().unwrap();
        let left = doc.pool("openrouter");
        assert_eq!(left.len(), 1, "{name}");
        assert_eq!(left[0]["id"], b.as_str(), "{name}");
        assert_eq!(left[0]["request_count"], 5, "{name}: the picks were counted");
        assert_eq!(s.auth_path().exists(), name == "file", "{name}: only the file backend writes auth.json");
    }
}

#[test]
fn concurrent_picks_lose_no_count() {
    for (name, _s, home) in homes("credential_pool_strategies:\n  openrouter: least_used\n") {
        let keys = ["sk-or-v1-conc-0000-aaaa", "sk-or-v1-conc-1111-bbbb", "sk-or-v1-conc-2222-cccc"];
        for (i, k) in keys.iter().enumerate() {
            add(&home, k, &format!("k{i}"));
        }
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let home = home.clone();
                std::thread::spawn(move || {
                    let pool = home.pool("openrouter").unwrap();
                    for _ in 0..25 {
                        ops::pick(&home, &pool, &[]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let doc = home.state().read().unwrap();
        let counts: Vec<i64> = doc.pool("openrouter").iter().map(|e| e["request_count"].as_i64().unwrap()).collect();
        assert_eq!(counts.iter().sum::<i64>(), 150, "{name}: {counts:?}");
        assert!(counts.iter().all(|c| *c == 50), "{name}: least_used balances exactly: {counts:?}");
    }
}

#[test]
fn the_grant_lock_is_single_flight_on_every_backend() {
    for (name, _s, home) in homes("") {
        let state: &dyn PoolState = home.state();
        let held = state.try_lock_grant("anthropic", "7f").unwrap().expect("free");
        let others: Vec<bool> = (0..4)
            .map(|_| {
                let h = home.clone();
                std::thread::spawn(move || h.state().try_lock_grant("anthropic", "7f").unwrap().is_some())
                    .join()
                    .unwrap()
            })
            .collect();
        assert!(others.iter().all(|got| !got), "{name}: taken while held");
        drop(held);
        assert!(state.try_lock_grant("anthropic", "7f").unwrap().is_some(), "{name}");
    }
}
