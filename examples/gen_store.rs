//! Write a synthetic hermes home for the benchmarks in `bench/`: an auth.json in the layout
//! hermes and hermes-agent 0.19 share, with N entries spread over P providers.
//!
//! ```sh
//! cargo run --release --example gen_store -- /tmp/hermes-bench/200 200 5
//! ```
//!
//! The store is deterministic (same arguments, same bytes, with the timestamps relative to a
//! fixed instant that the bench scripts pin with `HERMES_TEST_NOW`), and looks like a store that
//! has been in use: most entries are owned API keys with request counts, every seventh is
//! cooling after a 429 (with a streak and a deadline), every eleventh is an `env:` row whose
//! variable is not set (shown as "source missing"), and every entry carries an unknown key,
//! as stores written by hermes-agent do. The home is 0700 and auth.json 0600, so the first
//! command does not have to tighten anything.

use serde_json::{json, Map, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The instant the bench scripts pin with `HERMES_TEST_NOW` (2026-07-01T09:00:00Z).
const NOW: f64 = 1_782_896_400.0;

const PROVIDERS: &[(&str, &str, &str)] = &[
    ("openrouter", "sk-or-v1-", "https://openrouter.ai/api/v1"),
    ("anthropic", "sk-ant-api03-", "https://api.anthropic.com"),
    ("deepseek", "sk-ds-", "https://api.deepseek.com/v1"),
    ("xai", "xai-", "https://api.x.ai/v1"),
    ("gemini", "AIzaSy", "https://generativelanguage.googleapis.com/v1beta"),
    ("groq", "gsk_", "https://api.groq.com/openai/v1"),
    ("mistral", "mist-", "https://api.mistral.ai/v1"),
    ("together", "tgp_v1_", "https://api.together.xyz/v1"),
];

fn usage() -> ! {
    eprintln!("usage: gen_store HOME ENTRIES [PROVIDERS (1-{})]", PROVIDERS.len());
    std::process::exit(2);
}

/// A small deterministic hex stream (splitmix64), so ids and keys need no extra crate.
struct Hex(u64);

impl Hex {
    fn next(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            s.push_str(&format!("{z:016x}"));
        }
        s.truncate(len);
        s
    }
}

fn status(e: &mut Map<String, Value>, cooling: bool) {
    let fields: [(&str, Value); 6] = if cooling {
        [
            ("last_status", json!("exhausted")),
            ("last_status_at", json!(NOW - 30.0)),
            ("last_error_code", json!(429)),
            ("last_error_reason", json!("rate_limit_exceeded")),
            ("last_error_message", json!("Rate limit exceeded")),
            ("last_error_reset_at", json!(NOW + 270.0)),
        ]
    } else {
        [
            ("last_status", Value::Null),
            ("last_status_at", Value::Null),
            ("last_error_code", Value::Null),
            ("last_error_reason", Value::Null),
            ("last_error_message", Value::Null),
            ("last_error_reset_at", Value::Null),
        ]
    };
    for (k, v) in fields {
        e.insert(k.into(), v);
    }
}

fn main() -> anyhow::Result<()> {
    use anyhow::Context;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        usage();
    }
    let home = PathBuf::from(&args[0]);
    let n: usize = args[1].parse().unwrap_or_else(|_| usage());
    let p: usize = args.get(2).map_or(Some(5), |s| s.parse().ok()).unwrap_or_else(|| usage());
    if p == 0 || p > PROVIDERS.len() {
        usage();
    }

    let mut hex = Hex(0x6865_726d_6573 ^ n as u64);
    let mut pools: Vec<Vec<Value>> = vec![Vec::new(); p];
    for i in 0..n {
        let slot = i % p;
        let (_, prefix, base_url) = PROVIDERS[slot];
        let pool = &mut pools[slot];
        let priority = pool.len();
        let mut e = Map::new();
        e.insert("id".into(), json!(hex.next(6)));
        if i % 11 == 10 {
            // A borrowed row whose variable is not set: fingerprint only, shown as source missing.
            let var = format!("BENCH_UNSET_KEY_{i}");
            e.insert("label".into(), json!(var));
            e.insert("auth_type".into(), json!("api_key"));
            e.insert("priority".into(), json!(priority));
            e.insert("source".into(), json!(format!("env:{var}")));
            status(&mut e, false);
            e.insert("base_url".into(), json!(base_url));
            e.insert("request_count".into(), json!(i % 13));
            e.insert("secret_fingerprint".into(), json!(format!("sha256:{}", hex.next(16))));
        } else {
            e.insert("label".into(), json!(format!("api-key-{}", priority + 1)));
            e.insert("auth_type".into(), json!("api_key"));
            e.insert("priority".into(), json!(priority));
            e.insert("source".into(), json!("manual"));
            e.insert("access_token".into(), json!(format!("{prefix}{}", hex.next(48))));
            let cooling = i % 7 == 3;
            status(&mut e, cooling);
            e.insert("base_url".into(), json!(base_url));
            e.insert("request_count".into(), json!((i * 37) % 500));
            if cooling {
                e.insert("rate_limit_streak".into(), json!(2));
            }
        }
        // hermes-agent writes keys hermes does not know; they must survive and cost little.
        e.insert("x_agent_note".into(), json!({"created_by": "gen_store", "n": i}));
        pool.push(Value::Object(e));
    }

    let mut credential_pool = Map::new();
    for (slot, pool) in pools.into_iter().enumerate() {
        if !pool.is_empty() {
            credential_pool.insert(PROVIDERS[slot].0.into(), Value::Array(pool));
        }
    }
    let doc = json!({
        "version": 1,
        "providers": {},
        "credential_pool": credential_pool,
        "updated_at": "2026-07-01T08:59:00.000000+00:00",
    });

    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("chmod {}", home.display()))?;
    let path = home.join("auth.json");
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    eprintln!("wrote {} ({n} entries, {p} providers)", path.display());
    Ok(())
}
