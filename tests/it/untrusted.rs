//! Provider text and files are untrusted, and the home belongs to its user: a provider that
//! echoes the key back, terminal escapes in provider answers and labels, modes and owners of a
//! shared home, temp files of killed writers, duplicate JSON keys, FIFOs and devices as config
//! files, overflowing counts, a read-only home, an undelivered answer and a key typed where an
//! argument was expected.

use crate::common::*;
use serde_json::{json, Value};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// Only two of these look like keys: the others are masked because hermes knows them.
const K_OWNED: &str = "owned-AAAA-1111-secret-value";
const K_ENV: &str = "envkey-BBBB-2222-secret-value";
const K_DOTENV: &str = "dotenvkey-CCCC-3333-secret-value";
const K_CONFIG: &str = "cfg-config-DDDD-4444-secret-value";
const K_FALL: &str = "fb-fallback-EEEE-5555-secret-value";
const ALL: [&str; 5] = [K_OWNED, K_ENV, K_DOTENV, K_CONFIG, K_FALL];

const EVIL: &str = "\u{1b}]0;x\u{7}\u{1b}[2J";

/// A provider that refuses every request and quotes the key it was sent: in `error.code`,
/// `error.type`, a plain-string `error`, `error.message`, a top-level `code` and a header, one
/// shape after the other.
struct Echo {
    status: u16,
    n: AtomicUsize,
}

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let key = header("authorization")
            .map(|v| v.trim_start_matches("Bearer ").to_string())
            .or_else(|| header("x-api-key"))
            .unwrap_or_default();
        let body = match self.n.fetch_add(1, Ordering::SeqCst) % 4 {
            0 => json!({"error": {"code": format!("bad_key:{key}"), "message": format!("invalid api key: {key}")}}),
            1 => json!({"error": {"type": key, "message": format!("Incorrect API key provided: {key}{EVIL}")}}),
            2 => json!({"error": format!("invalid api key: {key}")}),
            _ => json!({"error": {"message": format!("key {key} rejected")}, "code": format!("{EVIL}{key}")}),
        };
        ResponseTemplate::new(self.status).set_body_json(body).insert_header("x-echo", key.as_str())
    }
}

async fn echo_server(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(Echo { status, n: AtomicUsize::new(0) }).mount(&server).await;
    server
}

/// Every regular file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(list) = std::fs::read_dir(dir) else { return out };
    for e in list.flatten() {
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.extend(files_under(&p));
        } else if meta.is_file() {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn count(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

fn assert_no_secret(what: &str, o: &Out) {
    for k in ALL {
        assert!(!o.stdout.contains(k) && !o.stderr.contains(k), "{what} leaked {k}:\n{}\n{}", o.stdout, o.stderr);
    }
}

/// The home of the echo test: the primary pool `deepseek` holds an owned key and an env key;
/// the fallbacks are a custom pool whose key is in config.yaml, `xai` whose key is in `.env`,
/// and a fallback step with its own key. Every one of them answers `status` and echoes.
fn echo_home(server: &MockServer) -> Sealed {
    let mut s = Sealed::new();
    let url = format!("{}/v1", server.uri());
    s.var("DEEPSEEK_API_KEY", K_ENV).var("DEEPSEEK_BASE_URL", &url);
    s.write_home_file(".env", &format!("XAI_API_KEY={K_DOTENV}\nXAI_BASE_URL={url}\n"));
    s.write_home_file(
        "config.yaml",
        &format!(
            "model:\n  provider: deepseek\n  default: mock-model\n\
             custom_providers:\n  - name: mock\n    base_url: {url}\n    api_key: {K_CONFIG}\n\
             fallback_providers:\n  - provider: custom:mock\n    model: m1\n  - provider: xai\n    model: m2\n\
             \x20 - provider: custom:mock\n    model: m3\n    base_url: {url}\n    api_key: {K_FALL}\n"
        ),
    );
    s.add_key("deepseek", K_OWNED, Some("owned"));
    s
}

#[tokio::test]
async fn provider_text_echoing_any_key_is_masked_everywhere() {
    for status in [429, 402, 401] {
        let server = echo_server(status).await;
        let s = echo_home(&server);
        let mut outs = Vec::new();
        for args in [vec!["chat", "-q", "hi", "-v"], vec!["chat", "-q", "hi", "--json"]] {
            let o = s.run(&args);
            assert_ne!(o.code, 0, "every provider refuses: {}", o.stderr);
            outs.push((args.join(" "), o));
        }
        // Every key was really sent (and so echoed).
        let sent: Vec<String> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter_map(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string))
            .collect();
        // A refused key (401) fails the request at once; 429 and 402 walk the whole chain.
        let walked: &[&str] = if status == 401 { &[K_OWNED, K_ENV, K_CONFIG] } else { &ALL };
        for k in walked {
            assert!(sent.iter().any(|h| h.contains(k)), "{k} was never sent ({status}): {sent:?}");
        }
        // A report with a message quoting other keys masks them all.
        let msg = format!("echo {K_ENV} {K_DOTENV} {K_CONFIG} {K_FALL} {K_OWNED}");
        let o = s.run(&["auth", "report", "deepseek", "owned", "--status", "429", "--message", &msg]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        outs.push(("report".into(), o));
        for args in [
            vec!["auth", "list"],
            vec!["auth", "list", "--json"],
            vec!["auth", "list", "-v"],
            vec!["auth", "explain", "deepseek"],
            vec!["auth", "explain", "deepseek", "--json"],
            vec!["auth", "explain", "xai"],
            vec!["auth", "explain", "custom:mock"],
            vec!["auth", "status", "deepseek"],
            vec!["auth", "status", "deepseek", "--json"],
        ] {
            outs.push((args.join(" "), s.run(&args)));
        }
        for (what, o) in &outs {
            assert_no_secret(&format!("{what} ({status})"), o);
            assert!(!o.stdout.contains('\u{1b}') && !o.stderr.contains('\u{1b}'), "{what}: ESC reached the terminal");
        }
        // The list shows that something was stored, masked.
        let list = s.run(&["auth", "list", "--json"]).json();
        let text = list.to_string();
        assert!(text.contains("…"), "masked forms are shown: {text}");

        // On disk: the owned key only as its own access_token; the borrowed ones nowhere (their
        // own source files aside).
        for (path, bytes) in files_under(&s.home) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            for k in ALL {
                let allowed = match (name.as_str(), k) {
                    ("auth.json", K_OWNED) => 1,
                    (".env", K_DOTENV) => 1,
                    ("config.yaml", K_CONFIG | K_FALL) => 1,
                    _ => 0,
                };
                assert_eq!(count(&bytes, k), allowed, "{name} holds {k} ({status})");
            }
            assert!(!bytes.contains(&0x1b), "{name} holds an ESC byte ({status})");
        }
        let pool = s.pool("deepseek");
        let owned = pool.iter().find(|e| e["label"] == "owned").unwrap();
        assert!(owned["last_error_message"].as_str().unwrap().contains("…"), "{owned}");
    }
}

#[test]
fn escapes_in_labels_names_and_provider_text_never_reach_the_terminal() {
    let mut s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        &format!("custom_providers:\n  - name: \"ev\\e[2Jil\"\n    base_url: http://127.0.0.1:9/v1\n    api_key: {K_CONFIG}\n"),
    );
    // A store as another tool may write it: the label and the stored provider text carry escapes.
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": format!("lab{EVIL}el"), "auth_type": "api_key", "priority": 0, "source": "manual",
         "access_token": K_OWNED, "last_status": "exhausted", "last_status_at": T0, "last_error_code": 429,
         "last_error_reason": format!("rate{EVIL}"), "last_error_message": format!("slow{EVIL}down"),
         "last_error_reset_at": T0 + 600.0},
        {"id": "bbbbbb", "label": "plain", "auth_type": "api_key", "priority": 1, "source": "manual",
         "access_token": K_ENV}]}}));
    s.var("OPENROUTER_API_KEY", K_DOTENV);
    let runs: Vec<(Vec<&str>, &str)> = vec![
        (vec!["auth", "list"], ""),
        (vec!["auth", "list", "-v"], ""),
        (vec!["auth", "explain", "openrouter"], ""),
        (vec!["auth", "status", "openrouter"], ""),
        (vec!["auth", "report", "openrouter", "aaaaaa", "--status", "429", "--reason", EVIL, "--message", EVIL], ""),
        (vec!["auth", "list", "\u{1b}[2Jnosuch"], ""),
        (vec!["auth", "add", "\u{1b}[2Jnosuch", "--api-key", "-"], "sk-whatever-1234567890"),
        (vec!["auth", "add", "openrouter", "--api-key", "-"], "\u{1b}[2Jsk-or-v1-1234567890abcdef"),
        (vec!["auth", "add", "openrouter", "--api-key", "-", "--label", "x\u{1b}[2J"], "sk-or-v1-1234567890abcdef"),
        (vec!["auth", "reset", "openrouter", "aaaaaa"], ""),
        (vec!["auth", "remove", "openrouter", "aaaaaa"], ""),
        (vec!["auth", "list", "custom:ev\u{1b}[2Jil"], ""),
        (vec!["auth", "list"], ""),
        (vec!["nosuch\u{1b}[2J"], ""),
    ];
    for (args, stdin) in runs {
        let o = s.cmd().args(&args).write_stdin(stdin).output().unwrap();
        assert!(!o.stdout.contains(&0x1b), "{args:?}: ESC on stdout: {:?}", String::from_utf8_lossy(&o.stdout));
        assert!(!o.stderr.contains(&0x1b), "{args:?}: ESC on stderr: {:?}", String::from_utf8_lossy(&o.stderr));
    }
    // `--json` keeps the exact label (JSON escapes it); the stored provider text of the report
    // above was sanitised before it was stored.
    let s2 = Sealed::new();
    s2.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": format!("lab{EVIL}el"), "auth_type": "api_key", "priority": 0, "source": "manual",
         "access_token": K_OWNED}]}}));
    let o = s2.run(&["auth", "list", "--json"]);
    assert!(o.stdout.contains("\\u001b"), "{}", o.stdout);
    assert_eq!(o.json()["providers"][0]["entries"][0]["label"], format!("lab{EVIL}el"));
    let o = s2.run(&[
        "auth",
        "report",
        "openrouter",
        "aaaaaa",
        "--status",
        "429",
        "--reason",
        EVIL,
        "--message",
        "a\u{1b}[2Jb",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let e = &s2.pool("openrouter")[0];
    assert_eq!(e["last_error_message"], "a [2Jb");
    assert_eq!(e["last_error_reason"], "]0;x [2J");
}

#[test]
fn a_read_never_changes_modes_and_shared_bits_survive_writes() {
    for dir_mode in [0o1777, 0o2775] {
        let s = Sealed::new();
        std::fs::create_dir_all(&s.home).unwrap();
        std::fs::set_permissions(&s.home, std::fs::Permissions::from_mode(dir_mode)).unwrap();
        let mode_of = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let o = s.run(&["auth", "list"]);
        assert_eq!(o.code, 0);
        assert_eq!(mode_of(&s.home), dir_mode, "a read chmodded the home");
        // A home anyone may write to is worth a warning; a group-writable one (umask 002) is not.
        let warned = o.stderr.contains(&format!("mode {dir_mode:04o}"));
        assert_eq!(warned, dir_mode & 0o002 != 0, "{}", o.stderr);
        s.add_key("openrouter", K_OWNED, None);
        assert_eq!(mode_of(&s.home), dir_mode, "a write dropped the shared bits");
        assert_eq!(mode_of(&s.auth_path()), 0o600);
    }
    // A symlinked store's target keeps its mode on a read.
    let s = Sealed::new();
    std::fs::create_dir_all(&s.home).unwrap();
    let target = s.dir.path().join("elsewhere.json");
    std::fs::write(&target, r#"{"version": 1, "credential_pool": {}}"#).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&target, s.auth_path()).unwrap();
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(mode(&target), 0o644);
    assert!(o.stderr.contains("chmod 600"), "{}", o.stderr);
}

#[test]
fn temp_files_of_killed_writers_are_removed_and_reported() {
    let s = Sealed::new();
    s.add_key("openrouter", K_OWNED, None);
    let removed_key = "sk-or-v1-REMOVED-9999-secret";
    let stale: Vec<PathBuf> = (0..3).map(|i| s.home.join(format!("auth.json.tmp.0.00000000000000a{i}"))).collect();
    for p in &stale {
        std::fs::write(p, format!("{{\"access_token\": \"{removed_key}\"}}")).unwrap();
    }
    let o = s.run(&["auth", "repair"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("removed 3 temp files"), "{}", o.stderr);
    assert!(stale.iter().all(|p| !p.exists()));
    // A writer removes them too.
    std::fs::write(&stale[0], removed_key).unwrap();
    s.add_key("openrouter", K_ENV, None);
    assert!(!stale[0].exists());
    assert!(files_under(&s.home).iter().all(|(_, b)| count(b, removed_key) == 0));
}

#[test]
fn a_duplicate_key_is_an_invalid_store() {
    let s = Sealed::new();
    let text = format!(
        r#"{{"version": 1, "credential_pool": {{"openrouter": [{{"id": "aaaaaa", "label": "a", "auth_type": "api_key", "priority": 0, "source": "manual", "access_token": "{K_OWNED}"}}]}}, "credential_pool": {{}}}}"#
    );
    s.write_home_file("auth.json", &text);
    for args in [vec!["auth", "list"], vec!["auth", "repair"], vec!["auth", "token", "openrouter"]] {
        let o = s.run(&args);
        assert_eq!(o.code, 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("duplicate key \"credential_pool\""), "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("auth.json"), "{}", o.stderr);
    }
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], K_ENV);
    assert_eq!(o.code, 1);
    assert_eq!(std::fs::read_to_string(s.auth_path()).unwrap(), text, "bytes kept");
}

#[test]
fn a_root_write_keeps_the_owner_of_the_store() {
    let s = Sealed::new();
    if !s.is_root() {
        eprintln!("skipped a_root_write_keeps_the_owner_of_the_store: needs root");
        return;
    }
    s.add_key("openrouter", K_OWNED, None);
    let (uid, gid) = (65534, 65534);
    for p in [s.home.clone(), s.auth_path(), s.home.join("auth.lock")] {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
    }
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let meta = std::fs::metadata(s.auth_path()).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (uid, gid), "root took the store");
    assert_eq!(mode(&s.auth_path()), 0o600);
    // A file created new in that home takes the home's owner too.
    std::fs::remove_file(s.home.join("auth.lock")).unwrap();
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0);
    let lock = std::fs::metadata(s.home.join("auth.lock")).unwrap();
    assert_eq!((lock.uid(), lock.gid()), (uid, gid));
}

/// Run `hermes args` and give up (failing) after `limit`.
fn run_bounded(s: &Sealed, args: &[&str], limit: Duration) -> Out {
    let mut child = s
        .process()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Out::from(child.wait_with_output().unwrap());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("hermes {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_fifo_or_device_as_config_or_env_is_refused_at_once() {
    for name in ["config.yaml", ".env"] {
        let s = Sealed::new();
        std::fs::create_dir_all(&s.home).unwrap();
        let fifo = s.home.join(name);
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let o = run_bounded(&s, &["auth", "list"], Duration::from_secs(10));
        assert_eq!(o.code, 1, "{name}: {}", o.stderr);
        assert!(o.stderr.contains(name) && o.stderr.contains("not a regular file"), "{}", o.stderr);
        std::fs::remove_file(&fifo).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &fifo).unwrap();
        let o = run_bounded(&s, &["auth", "list"], Duration::from_secs(10));
        assert_eq!(o.code, 1, "{name}: {}", o.stderr);
        assert!(o.stderr.contains("not a regular file"), "{}", o.stderr);
        assert_eq!(o.stderr.lines().count(), 1, "one clear line: {}", o.stderr);
    }
    // A huge regular file is refused by size, not read into memory.
    let s = Sealed::new();
    std::fs::create_dir_all(&s.home).unwrap();
    let f = std::fs::File::create(s.home.join("config.yaml")).unwrap();
    f.set_len(64 * 1024 * 1024).unwrap();
    let o = run_bounded(&s, &["auth", "list"], Duration::from_secs(10));
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("the limit is"), "{}", o.stderr);
}

fn entry(id: &str, priority: Value, count: Value, key: &str) -> Value {
    with(with(key_entry(id, id, key, 0), "priority", priority), "request_count", count)
}

#[test]
fn counts_saturate_and_negatives_count_as_zero() {
    let s = Sealed::new();
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [entry("aaaaaa", json!(0), json!(i64::MAX), K_OWNED)]}}));
    assert_eq!(s.run(&["auth", "token", "openrouter"]).code, 0);
    assert_eq!(s.pool("openrouter")[0]["request_count"], json!(i64::MAX));

    // least_used: a negative count is 0, so the other entry gets its turn.
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: least_used\n");
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        entry("aaaaaa", json!(0), json!(-1000), K_OWNED), entry("bbbbbb", json!(1), json!(3), K_ENV)]}}));
    let picks: Vec<String> =
        (0..10).map(|_| s.run(&["auth", "token", "openrouter"]).stdout.trim().to_string()).collect();
    assert!(picks.iter().any(|p| p == K_ENV), "a negative count won least_used forever");
    // fill_first: a negative priority does not jump the queue.
    let s = Sealed::new();
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        entry("aaaaaa", json!(0), json!(0), K_OWNED), entry("bbbbbb", json!(-5), json!(0), K_ENV)]}}));
    assert_eq!(s.run(&["auth", "token", "openrouter"]).stdout.trim(), K_OWNED);
}

#[test]
fn a_read_only_home_says_permission_denied() {
    let s = Sealed::new();
    s.add_key("openrouter", K_OWNED, None);
    std::fs::remove_file(s.home.join("auth.lock")).unwrap();
    std::fs::set_permissions(&s.home, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(s.auth_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = s.unprivileged();
    let o =
        Out::from(c.args(["auth", "remove", "openrouter", "1"]).stdin(std::process::Stdio::null()).output().unwrap());
    std::fs::set_permissions(&s.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("auth.lock") && o.stderr.contains("Permission denied"), "{}", o.stderr);
    assert!(!o.stderr.contains("No such file"), "{}", o.stderr);
    assert_eq!(s.pool("openrouter").len(), 1);
}

#[test]
fn an_undelivered_token_is_a_failure() {
    let s = Sealed::new();
    s.add_key("openrouter", K_OWNED, None);
    let mut child = s
        .process()
        .args(["auth", "token", "openrouter"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before hermes writes: the answer cannot be delivered.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_ne!(o.status.code(), Some(0), "the secret was never delivered");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("could not write"), "{err}");
    assert!(!err.contains(K_OWNED));
    // The same with --json, whose error document cannot be written either.
    let mut child = s
        .process()
        .args(["auth", "token", "openrouter", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_key_typed_as_an_argument_is_masked_in_the_usage_error() {
    let s = Sealed::new();
    const TYPED: &str = "sk-env-BBBB-2222-secret-value";
    for args in [
        vec!["auth", "add", "deepseek", TYPED],
        vec!["auth", "add", "deepseek", TYPED, "--json"],
        vec!["auth", "add", "deepseek", "--type=sk-env-BBBB-2222-secret-value"],
    ] {
        let o = s.run(&args);
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(!o.stderr.contains(TYPED) && !o.stdout.contains(TYPED), "{}{}", o.stderr, o.stdout);
        assert!(o.stderr.contains("sk-e…alue"), "{}", o.stderr);
        assert!(o.stderr.contains("--api-key -"), "{}", o.stderr);
    }
    // An ordinary typo is quoted as it is.
    let o = s.run(&["auth", "lst"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("lst"), "{}", o.stderr);
}

#[test]
fn an_unreadable_store_is_an_error_never_an_empty_store() {
    let s = Sealed::new();
    s.add_key("openrouter", K_OWNED, None);
    let before = std::fs::read(s.auth_path()).unwrap();
    // The home is open to the unprivileged user, auth.json is not.
    std::fs::remove_file(s.home.join("auth.lock")).unwrap();
    std::fs::set_permissions(&s.home, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(s.auth_path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    for (args, stdin) in [(vec!["auth", "list"], ""), (vec!["auth", "add", "openrouter", "--api-key", "-"], K_ENV)] {
        let mut c = s.unprivileged();
        c.args(&args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = c.stderr(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
        let o = Out::from(child.wait_with_output().unwrap());
        assert_eq!(o.code, 1, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("auth.json") && o.stderr.contains("cannot read"), "{}", o.stderr);
    }
    std::fs::set_permissions(s.auth_path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&s.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(std::fs::read(s.auth_path()).unwrap(), before, "nothing wrote over it");
}

#[test]
fn newlines_and_c1_controls_in_stored_text_stay_on_their_line() {
    let s = Sealed::new();
    let label = "two\nlines\u{9b}2J\u{7f}";
    s.write_auth(&json!({"version": 1, "credential_pool": {"openrouter": [
        {"id": "aaaaaa", "label": label, "auth_type": "api_key", "priority": 0, "source": "manual",
         "access_token": K_OWNED, "last_status": "exhausted", "last_status_at": T0, "last_error_code": 402,
         "last_error_reason": "forged\nerror: line", "last_error_message": format!("key {K_OWNED}\nagain"),
         "last_error_reset_at": T0 + 600.0}]}}));
    for args in [
        vec!["auth", "list"],
        vec!["auth", "status", "openrouter"],
        vec!["auth", "explain", "openrouter"],
        vec!["auth", "token", "openrouter"],
        vec!["auth", "report", "openrouter", "aaaaaa", "--status", "402"],
        vec!["auth", "list", "--json"],
        vec!["auth", "explain", "openrouter", "--json"],
    ] {
        let o = s.run(&args);
        for (name, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{args:?} {name}: {text:?}");
            assert!(!text.lines().any(|l| l.starts_with("lines") || l.starts_with("error: line")), "{args:?}: {text}");
            assert!(!text.contains(K_OWNED) || args[1] == "token", "{args:?} showed a stored key: {text}");
        }
        if args.contains(&"--json") {
            // Valid JSON, and the label comes back exactly.
            let doc = o.json();
            if args[1] == "list" {
                assert_eq!(doc["providers"][0]["entries"][0]["label"], label);
            }
        }
    }
}
