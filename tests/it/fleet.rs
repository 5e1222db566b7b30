//! Fleet-wide pool state on a real Redis server (docs/fleet.md): two homes on one server stand
//! in for two machines.
//!
//! Every test starts its own `redis-server` (the Debian package) on a free port in a temp
//! directory and stops it at the end. Without the binary a test is skipped and says so on
//! stderr, unless `HERMES_REQUIRE_REDIS` is set (as `.ci/run` does): then it fails.

use crate::common::*;
use crate::oauth_support::*;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of this test, stopped (killed) when dropped.
pub struct Redis {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
    args: Vec<String>,
}

fn redis_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("redis-server")).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    /// A fresh server, or `None` (the test is skipped) when redis-server is not installed.
    pub fn start(test: &str) -> Option<Redis> {
        Redis::start_with(test, &[])
    }

    pub fn start_with(test: &str, extra: &[&str]) -> Option<Redis> {
        let Some(bin) = redis_binary() else {
            if std::env::var_os("HERMES_REQUIRE_REDIS").is_some() {
                panic!("{test}: redis-server is not installed and HERMES_REQUIRE_REDIS is set");
            }
            eprintln!("skipped: fleet::{test} (redis-server is not installed; apt-get install redis-server)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut args: Vec<String> =
            ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(["--dir".to_string(), dir.path().display().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = spawn_server(&bin, port, &args);
        let r = Redis { child, port, _dir: dir, args };
        r.wait_ready();
        Some(r)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kill the server (as a crash would: nothing saved).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again, empty, on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_server(&redis_binary().unwrap(), self.port, &self.args);
        self.wait_ready();
    }

    /// One command through redis-cli's protocol, spoken by hand (no client crate in the tests).
    pub fn cmd(&self, args: &[&str]) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

fn spawn_server(bin: &PathBuf, port: u16, args: &[String]) -> Child {
    Command::new(bin)
        .arg("--port")
        .arg(port.to_string())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A home whose state lives on `redis` (extra `state:` lines appended).
fn fleet_home(redis: &Redis, extra: &str) -> Sealed {
    let s = Sealed::new();
    s.write_home_file("config.yaml", &format!("state:\n  backend: redis\n  url: {}\n{extra}", redis.url()));
    s
}

const K1: &str = "sk-or-v1-fleet-aaaaaaaaaaaaaaaa1111";
const K2: &str = "sk-or-v1-fleet-bbbbbbbbbbbbbbbb2222";
const K3: &str = "sk-or-v1-fleet-cccccccccccccccc3333";

fn with_keys(s: &Sealed) {
    s.add_key("openrouter", K1, Some("one"));
    s.add_key("openrouter", K2, Some("two"));
}

fn entry<'a>(list: &'a Value, label: &str) -> &'a Value {
    list["providers"][0]["entries"].as_array().unwrap().iter().find(|e| e["label"] == label).unwrap()
}

#[test]
fn a_bench_and_a_reset_cross_homes_with_the_same_deadline() {
    let Some(redis) = Redis::start("a_bench_and_a_reset_cross_homes_with_the_same_deadline") else { return };
    let (a, b) = (fleet_home(&redis, ""), fleet_home(&redis, ""));
    with_keys(&a);
    with_keys(&b);
    let o = a.run(&["auth", "report", "openrouter", "one", "--status", "429", "--retry-after", "120"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // B has never seen a 429, yet its next pick skips the benched key.
    let o = b.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K2, "{}", o.stderr);
    let (la, lb) = (a.run(&["auth", "list", "--json"]).json(), b.run(&["auth", "list", "--json"]).json());
    assert_eq!(lb["state"]["backend"], "redis");
    assert_eq!(lb["state"]["reachable"], true);
    let (ea, eb) = (entry(&la, "one"), entry(&lb, "one"));
    assert_eq!(eb["code"], 429, "{eb}");
    assert_eq!(eb["status"], "cooling", "{eb}");
    let left = |e: &Value| e["seconds_left"].as_f64().unwrap_or_else(|| panic!("no deadline in {e}"));
    assert!((left(ea) - left(eb)).abs() <= 1.0, "same deadline: {ea} / {eb}");
    // The key itself never went to the server.
    let dump = redis.cmd(&["HGETALL", "hermes:pool:openrouter"]);
    assert!(!dump.contains("fleet-aaaa") && !dump.contains("fleet-bbbb"), "{dump}");
    // A reset in B clears the bench for A.
    let o = b.run(&["auth", "reset", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = a.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K1, "{}", o.stderr);
    assert!(a.run(&["auth", "list"]).stdout.starts_with(&format!("State: {} (reachable)", redis.url())));
}

#[test]
fn sixteen_processes_on_two_homes_count_exactly() {
    let Some(redis) = Redis::start("sixteen_processes_on_two_homes_count_exactly") else { return };
    let extra = "";
    let homes = [fleet_home(&redis, extra), fleet_home(&redis, extra)];
    for h in &homes {
        h.write_home_file(
            "config.yaml",
            &format!(
                "state:\n  backend: redis\n  url: {}\ncredential_pool_strategies:\n  openrouter: least_used\n",
                redis.url()
            ),
        );
        with_keys(h);
        h.add_key("openrouter", K3, Some("three"));
    }
    const PER: usize = 200;
    let homes = std::sync::Arc::new(homes);
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let homes = homes.clone();
            std::thread::spawn(move || {
                let h = &homes[w % 2];
                for _ in 0..PER {
                    let o = h.run(&["auth", "token", "openrouter"]);
                    assert_eq!(o.code, 0, "{}", o.stderr);
                    let key = o.stdout.trim().to_string();
                    let label = [(K1, "one"), (K2, "two"), (K3, "three")].iter().find(|(k, _)| *k == key).unwrap().1;
                    let o = h.run(&["auth", "report", "openrouter", label, "--status", "200"]);
                    assert_eq!(o.code, 0, "{}", o.stderr);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let list = homes[0].run(&["auth", "list", "--json"]).json();
    let counts: Vec<i64> =
        ["one", "two", "three"].iter().map(|l| entry(&list, l)["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), (16 * PER) as i64, "{counts:?}");
    // least_used, picked atomically: the counts never drift apart by more than one.
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(hi - lo <= 1, "{counts:?}");
    let other = homes[1].run(&["auth", "list", "--json"]).json();
    assert_eq!(entry(&other, "one")["request_count"], entry(&list, "one")["request_count"]);
}

#[tokio::test]
async fn a_shared_login_is_refreshed_once_for_the_fleet() {
    let Some(redis) = Redis::start("a_shared_login_is_refreshed_once_for_the_fleet") else { return };
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v1/oauth/token"))
        .and(wiremock::matchers::body_partial_json(json!({"refresh_token": "rt-old"})))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600}))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let homes: Vec<Sealed> = (0..2)
        .map(|_| {
            let mut s = fleet_home(&redis, "  share_oauth: true\n");
            s.var("HERMES_ANTHROPIC_OAUTH_URL", &server.uri());
            // The same login copied to both machines.
            s.write_auth(&store(
                json!({"anthropic": [anthropic_entry("aaa111", "work", "at-old", "rt-old", T0 + 60.0)]}),
            ));
            s
        })
        .collect();
    let children: Vec<_> = (0..16).map(|i| spawn(&homes[i % 2], &["auth", "token", "anthropic"])).collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&o.stdout), "at-new\n", "{stderr}");
    }
    assert_eq!(posts(&server, "/v1/oauth/token").await.len(), 1, "exactly one refresh POST for the fleet");
    for h in &homes {
        // Both files end with the new tokens (the spent one would revoke the login).
        let list = h.run(&["auth", "list", "--json"]).json();
        assert_eq!(list["providers"][0]["entries"][0]["request_count"], 16);
        assert_eq!(h.pool("anthropic")[0]["refresh_token"], "rt-new", "{}", h.auth());
    }
}

#[test]
fn a_dead_server_falls_back_to_the_file_and_merges_back() {
    let Some(mut redis) = Redis::start("a_dead_server_falls_back_to_the_file_and_merges_back") else { return };
    let a = fleet_home(&redis, "");
    with_keys(&a);
    assert_eq!(a.run(&["auth", "token", "openrouter"]).stdout.trim(), K1);
    redis.kill();
    // `local`: served from auth.json, with one warning.
    for _ in 0..3 {
        let o = a.run(&["auth", "token", "openrouter"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let o = a.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0);
    assert!(!o.stderr.contains("warning"), "one warning a minute, not one per command: {}", o.stderr);
    let o = a.run(&["auth", "report", "openrouter", "one", "--status", "402"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // `fail`: a clear error and exit 1.
    let b = fleet_home(&redis, "  on_unavailable: fail\n");
    with_keys_offline(&b);
    let o = b.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains(&format!("{}: connection refused", redis.url())), "{}", o.stderr);
    // Back, empty: what A wrote meanwhile is merged back on its next command.
    redis.restart();
    let o = a.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K2, "the 402 bench made offline still holds: {}", o.stderr);
    let list = a.run(&["auth", "list", "--json"]).json();
    // The server came back empty: the four picks made while it was away are what it now has.
    assert_eq!(entry(&list, "one")["request_count"], 4, "{list}");
    assert_eq!(entry(&list, "one")["code"], 402, "{list}");
    assert!(a.pool("openrouter").iter().all(|e| e.get("fleet_pending").is_none()), "{}", a.auth());
    let dump = redis.cmd(&["HGETALL", "hermes:pool:openrouter"]);
    assert!(dump.contains("402"), "the server has the merged state: {dump}");
}

/// Keys added to a home whose server is down under `fail`: added with the server up first.
fn with_keys_offline(s: &Sealed) {
    // Adding writes auth.json, which `fail` refuses too; write the store directly.
    s.write_auth(&store(json!({"openrouter": [key_entry("k1", "one", K1, 0), key_entry("k2", "two", K2, 1)]})));
}

#[test]
fn a_slow_server_never_holds_a_command_past_the_timeout() {
    let Some(redis) =
        Redis::start_with("a_slow_server_never_holds_a_command_past_the_timeout", &["--enable-debug-command", "yes"])
    else {
        return;
    };
    let a = fleet_home(&redis, "");
    with_keys(&a);
    let port = redis.port;
    let sleeper = std::thread::spawn(move || {
        let r = Redis {
            child: Command::new("true").spawn().unwrap(),
            port,
            _dir: tempfile::tempdir().unwrap(),
            args: vec![],
        };
        let out = r.cmd(&["DEBUG", "SLEEP", "3"]);
        std::mem::forget(r);
        out
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let o = a.run(&["auth", "token", "openrouter"]);
    let took = t.elapsed();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("no answer within"), "{}", o.stderr);
    assert!(took < Duration::from_millis(1500), "waited {took:?} on a server asleep for 3 s");
    assert!(sleeper.join().unwrap().starts_with("+OK"), "the server really slept");
}

#[test]
fn bad_settings_get_one_clear_line() {
    let Some(redis) = Redis::start_with("bad_settings_get_one_clear_line", &["--requirepass", "s3cret-pass"]) else {
        return;
    };
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("one"));
    let cases = [
        ("state:\n  backend: redis\n", "state.url: required with state.backend: redis"),
        ("state:\n  backend: redis\n  url: http://127.0.0.1:1/\n", "state.url: expected a redis://"),
        ("state:\n  backend: mongo\n", "state.backend: expected \"file\" or \"redis\", found \"mongo\""),
        (
            &format!(
                "state:\n  backend: redis\n  url: redis://:wrong-pass@127.0.0.1:{}/0\n  on_unavailable: fail\n",
                redis.port
            ),
            "authentication failed",
        ),
    ];
    for (config, expected) in cases {
        s.write_home_file("config.yaml", config);
        let o = s.run(&["auth", "token", "openrouter"]);
        assert_ne!(o.code, 0, "{config}");
        assert!(o.stderr.contains(expected), "{config}: {}", o.stderr);
        assert!(!o.stderr.contains("wrong-pass"), "the password is never shown: {}", o.stderr);
    }
    // The right password from the environment.
    let mut s2 = Sealed::new();
    s2.write_home_file(
        "config.yaml",
        &format!("state:\n  backend: redis\n  url: redis://127.0.0.1:{}/0\n  on_unavailable: fail\n", redis.port),
    );
    s2.var("HERMES_STATE_PASSWORD", "s3cret-pass");
    s2.add_key("openrouter", K1, Some("one"));
    let o = s2.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K1, "{}", o.stderr);
    // A server that is not Redis (an HTTP listener that closes at once).
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let fake_port = fake.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in fake.incoming().flatten() {
            use std::io::Write;
            let mut c = c;
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    s2.write_home_file(
        "config.yaml",
        &format!("state:\n  backend: redis\n  url: redis://127.0.0.1:{fake_port}/0\n  on_unavailable: fail\n"),
    );
    let o = s2.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stderr
            .trim()
            .lines()
            .next()
            .map(|l| l.contains("Redis protocol") || l.contains("does not answer like Redis")),
        Some(true),
        "{}",
        o.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_on_one_server_count_exactly_and_skip_a_benched_key() {
    use crate::serve::Gateway;
    use wiremock::matchers::{header, method};
    let Some(redis) = Redis::start("two_gateways_on_one_server_count_exactly_and_skip_a_benched_key") else { return };
    let server = wiremock::MockServer::start().await;
    let key = |i: usize| format!("sk-mock-fleet-{i}-000000");
    for i in 0..4 {
        wiremock::Mock::given(method("POST"))
            .and(header("authorization", format!("Bearer {}", key(i))))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_json(
                    json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}]}),
                ),
            )
            .mount(&server)
            .await;
    }
    let homes: Vec<Sealed> = (0..2)
        .map(|_| {
            let mut s = Sealed::new();
            s.var("HERMES_SERVE_KEY", "hsk-fleet-client-key-0001");
            s.write_home_file(
                "config.yaml",
                &format!(
                    "state:\n  backend: redis\n  url: {}\ncredential_pool_strategies:\n  custom:mock: round_robin\n\
                     custom_providers:\n  - name: mock\n    base_url: {}/v1\n",
                    redis.url(),
                    server.uri()
                ),
            );
            for i in 0..4 {
                s.add_key("mock", &key(i), Some(&format!("k{i}")));
            }
            s
        })
        .collect();
    // Benched on one machine before either gateway starts: neither may send it anything.
    let o = homes[0].run(&["auth", "report", "custom:mock", "k0", "--status", "429", "--retry-after", "3600"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let gateways: Vec<Gateway> = homes.iter().map(Gateway::start).collect();
    const CLIENTS: usize = 8;
    const EACH: usize = 50;
    let mut tasks = Vec::new();
    for g in &gateways {
        for _ in 0..CLIENTS {
            let url = format!("{}/v1/chat/completions", g.base);
            tasks.push(tokio::spawn(async move {
                let c = reqwest::Client::new();
                for _ in 0..EACH {
                    let r = c
                        .post(&url)
                        .bearer_auth("hsk-fleet-client-key-0001")
                        .json(&json!({"model": "custom:mock:m1", "messages": []}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    for g in gateways {
        let (code, lines) = g.stop();
        assert_eq!(code, 0, "{lines:?}");
    }
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2 * CLIENTS * EACH);
    let sent_to = |i: usize| {
        let want = format!("Bearer {}", key(i));
        received.iter().filter(|r| r.headers.get("authorization").is_some_and(|v| v.to_str().unwrap() == want)).count()
            as i64
    };
    assert_eq!(sent_to(0), 0, "a key benched fleet-wide was used");
    let list = homes[1].run(&["auth", "list", "custom:mock", "--json"]).json();
    let counts: Vec<i64> = (1..4).map(|i| entry(&list, &format!("k{i}"))["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts, (1..4).map(sent_to).collect::<Vec<_>>(), "the fleet's counts are what the upstream received");
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(hi - lo <= 1, "round_robin across two gateways: {counts:?}");
    // Each answer's usage is recorded in batches after the reply: every batch, the last one
    // at the stop included, reached the server.
    let usage = homes[0].run(&["auth", "usage", "custom:mock", "--json"]).json();
    let served: i64 = usage["entries"].as_array().unwrap().iter().map(|e| e["requests"].as_i64().unwrap()).sum();
    assert_eq!(served, (2 * CLIENTS * EACH) as i64, "{usage}");
}

#[test]
fn threads_of_two_library_homes_never_lose_a_pick() {
    let Some(redis) = Redis::start("threads_of_two_library_homes_never_lose_a_pick") else { return };
    let homes: Vec<Sealed> = (0..2)
        .map(|_| {
            let s = Sealed::new();
            s.write_home_file(
                "config.yaml",
                &format!(
                    "state:\n  backend: redis\n  url: {}\n  on_unavailable: fail\ncredential_pool_strategies:\n  openrouter: least_used\n",
                    redis.url()
                ),
            );
            with_keys(&s);
            s.add_key("openrouter", K3, Some("three"));
            s
        })
        .collect();
    // One long-lived Home per home (as a program on the library keeps), four threads on each.
    const EACH: usize = 300;
    let opened: Vec<std::sync::Arc<hermes::home::Home>> =
        homes.iter().map(|s| std::sync::Arc::new(hermes::home::Home::open(s.context().0).unwrap())).collect();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let home = opened[t % 2].clone();
            std::thread::spawn(move || {
                let pool = home.pool("openrouter").unwrap();
                for _ in 0..EACH {
                    let p = hermes::ops::pick(&home, &pool, &[]).unwrap();
                    hermes::ops::report(&home, &pool, &p.id, &hermes::pool::cooldown::Outcome::Success).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let list = homes[1].run(&["auth", "list", "--json"]).json();
    let counts: Vec<i64> =
        ["one", "two", "three"].iter().map(|l| entry(&list, l)["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), (8 * EACH) as i64, "{counts:?}");
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(hi - lo <= 1, "least_used, atomically: {counts:?}");
}

#[test]
fn a_unix_socket_and_the_url_variable_work() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("redis.sock");
    let sock_arg = sock.display().to_string();
    let Some(redis) = Redis::start_with(
        "a_unix_socket_and_the_url_variable_work",
        &["--unixsocket", &sock_arg, "--unixsocketperm", "700"],
    ) else {
        return;
    };
    // config.yaml names a server that is not there; HERMES_STATE_URL wins.
    let mut a = Sealed::new();
    a.write_home_file(
        "config.yaml",
        "state:\n  backend: redis\n  url: redis://127.0.0.1:1/0\n  on_unavailable: fail\n",
    );
    a.var("HERMES_STATE_URL", &format!("unix://{sock_arg}"));
    with_keys(&a);
    let o = a.run(&["auth", "report", "openrouter", "one", "--status", "402"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The same server over TCP sees the bench.
    let b = fleet_home(&redis, "  on_unavailable: fail\n");
    with_keys(&b);
    let o = b.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.stdout.trim(), K2, "{}", o.stderr);
    assert!(a.run(&["auth", "list"]).stdout.starts_with(&format!("State: unix://{sock_arg} (reachable)")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_goes_on_without_the_server_or_answers_503() {
    use crate::serve::Gateway;
    let Some(mut redis) = Redis::start("a_gateway_goes_on_without_the_server_or_answers_503") else { return };
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}]})),
        )
        .mount(&server)
        .await;
    let gateway_home = |mode: &str| {
        let mut s = Sealed::new();
        s.var("HERMES_SERVE_KEY", "hsk-fleet-client-key-0002");
        s.write_home_file(
            "config.yaml",
            &format!(
                "state:\n  backend: redis\n  url: {}\n  on_unavailable: {mode}\ncustom_providers:\n  - name: mock\n    base_url: {}/v1\n",
                redis.url(),
                server.uri()
            ),
        );
        s.add_key("mock", "sk-mock-fleet-down-000000", Some("k0"));
        s
    };
    let (local, fail) = (gateway_home("local"), gateway_home("fail"));
    let (gl, gf) = (Gateway::start(&local), Gateway::start(&fail));
    let ask = |base: String| async move {
        let r = reqwest::Client::new()
            .post(format!("{base}/v1/chat/completions"))
            .bearer_auth("hsk-fleet-client-key-0002")
            .json(&json!({"model": "custom:mock:m1", "messages": []}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(ask(gl.base.clone()).await.0, 200);
    assert_eq!(ask(gf.base.clone()).await.0, 200);
    redis.kill();
    for _ in 0..3 {
        assert_eq!(ask(gl.base.clone()).await.0, 200, "local: served from auth.json");
        let (status, body) = ask(gf.base.clone()).await;
        assert_eq!(status, 503, "fail: {body}");
        assert!(["connection refused", "connection lost", "no answer"].iter().any(|w| body.contains(w)), "{body}");
    }
    let (code, lines) = gl.stop();
    assert_eq!(code, 0, "{lines:?}");
    let (code, lines) = gf.stop();
    assert_eq!(code, 0, "{lines:?}");
}

#[test]
fn tokens_rotated_in_the_file_are_published_not_reverted() {
    let Some(redis) = Redis::start("tokens_rotated_in_the_file_are_published_not_reverted") else { return };
    let home = |extra: &str| {
        let s = fleet_home(&redis, &format!("  share_oauth: true\n{extra}"));
        s.write_auth(&store(
            json!({"anthropic": [anthropic_entry("aaa111", "work", "at-one", "rt-one", T0 + 7200.0)]}),
        ));
        s
    };
    let (a, b) = (home(""), home(""));
    assert_eq!(a.run(&["auth", "token", "anthropic"]).stdout.trim(), "at-one");
    // Another tool (hermes-agent) rotates the login in A's auth.json.
    let mut doc = a.auth();
    doc["credential_pool"]["anthropic"][0]["access_token"] = json!("at-two");
    doc["credential_pool"]["anthropic"][0]["refresh_token"] = json!("rt-two");
    a.write_auth(&doc);
    // A's next command keeps its live tokens and gives them to the fleet.
    let o = a.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.stdout.trim(), "at-two", "{}", o.stderr);
    assert_eq!(a.pool("anthropic")[0]["refresh_token"], "rt-two");
    let o = b.run(&["auth", "token", "anthropic"]);
    assert_eq!(o.stdout.trim(), "at-two", "B adopts the fleet's tokens: {}", o.stderr);
    assert_eq!(b.pool("anthropic")[0]["refresh_token"], "rt-two", "{}", b.auth());
    // Without share_oauth no token reaches the server.
    let dump = redis.cmd(&["HGETALL", "hermes:pool:anthropic"]);
    assert!(dump.contains("rt-two"), "shared on purpose: {dump}");
    let c = fleet_home(&redis, "  prefix: \"other:\"\n");
    c.write_auth(&store(json!({"anthropic": [anthropic_entry("ccc111", "work", "at-c", "rt-c", T0 + 7200.0)]})));
    assert_eq!(c.run(&["auth", "token", "anthropic"]).stdout.trim(), "at-c");
    let dump = redis.cmd(&["HGETALL", "other:pool:anthropic"]);
    assert!(!dump.contains("rt-c") && !dump.contains("at-c"), "{dump}");
}

#[tokio::test]
async fn usage_served_while_the_server_was_away_is_added_back() {
    let Some(redis) = Redis::start("usage_served_while_the_server_was_away_is_added_back") else { return };
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7}
        })))
        .mount(&server)
        .await;
    let config = |url: &str| {
        format!(
            "state:\n  backend: redis\n  url: {url}\nmodel:\n  provider: custom:mock\n  default: m1\n\
             custom_providers:\n  - name: mock\n    base_url: {}/v1\n",
            server.uri()
        )
    };
    let s = Sealed::new();
    s.write_home_file("config.yaml", &config(&redis.url()));
    s.add_key("mock", "sk-fleet-usage-00000000", Some("k1"));
    assert_eq!(s.run(&["chat", "-q", "hi"]).code, 0);
    // The server out of reach (as a dead address): two answers counted locally, marked pending.
    s.write_home_file("config.yaml", &config(&format!("redis://127.0.0.1:{}/0", free_port())));
    for _ in 0..2 {
        let o = s.run(&["chat", "-q", "hi"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    // Back: the next command merges them into the fleet's.
    s.write_home_file("config.yaml", &config(&redis.url()));
    assert_eq!(s.run(&["chat", "-q", "hi"]).code, 0);
    let o = s.run(&["auth", "usage", "--json"]);
    let e = &o.json()["entries"][0];
    assert_eq!((e["requests"].clone(), e["input_tokens"].clone()), (json!(4), json!(44)), "{}", o.stdout);
}

#[test]
fn a_long_lived_home_sees_what_others_change_between_its_picks() {
    // A program on the library starts each transaction from the document its last commit left;
    // a change to auth.json or to the server in between must still reach its next pick.
    let Some(redis) = Redis::start("a_long_lived_home_sees_what_others_change_between_its_picks") else { return };
    let s = fleet_home(&redis, "  on_unavailable: fail\ncredential_pool_strategies:\n  openrouter: least_used\n");
    with_keys(&s);
    let home = hermes::home::Home::open(s.context().0).unwrap();
    let pool = home.pool("openrouter").unwrap();
    let pick = || hermes::ops::pick(&home, &pool, &[]).unwrap().label;
    let picked: Vec<String> = (0..4).map(|_| pick()).collect();
    assert_eq!(picked.iter().filter(|l| *l == "one").count(), 2, "{picked:?}");
    // Another process benches "one" on the server, and this process reads the pools (as the
    // gateway's /hermes/pools does) before it picks again: every pick goes to "two".
    assert_eq!(s.run(&["auth", "report", "openrouter", "one", "--status", "402"]).code, 0);
    home.state().read().unwrap();
    assert!((0..3).all(|_| pick() == "two"));
    // Another process adds a key to auth.json: least_used sends the next picks to it.
    s.add_key("openrouter", K3, Some("three"));
    let picked: Vec<String> = (0..5).map(|_| pick()).collect();
    assert!(picked.iter().take(5).all(|l| l == "three"), "{picked:?}");
    // A reset from another home on the same server brings "one" back (it has the fewest).
    let other = fleet_home(&redis, "  on_unavailable: fail\n");
    with_keys(&other);
    assert_eq!(other.run(&["auth", "reset", "openrouter"]).code, 0);
    assert_eq!(pick(), "one");
    // An outcome that changes nothing (a good answer on an entry without a status), then a bench
    // from the other home: the next pick still sees it.
    let ok = hermes::pool::cooldown::Outcome::Success;
    let one = hermes::ops::pick(&home, &pool, &[]).unwrap();
    assert_eq!(one.label, "one");
    hermes::ops::report(&home, &pool, &one.id, &ok).unwrap();
    assert_eq!(other.run(&["auth", "report", "openrouter", "one", "--status", "429"]).code, 0);
    assert_ne!(pick(), "one");
    let list = s.run(&["auth", "list", "--json"]).json();
    let counts: Vec<i64> =
        ["one", "two", "three"].iter().map(|l| entry(&list, l)["request_count"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), 15, "{counts:?}");
}

/// A pool of `n` API keys as another tool may have written it: counts of 5 and every second key
/// benched after a 429 until far in the future when `benched`.
fn big_pool(n: usize, benched: bool) -> String {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            let mut e = serde_json::json!({
                "id": format!("e{i:04}"), "label": format!("k{i:04}"), "auth_type": "api_key",
                "priority": i, "source": "manual", "access_token": format!("sk-or-v1-big-{i:04}-0123456789abcdef"),
                "request_count": if benched { 5 } else { 0 },
            });
            if benched && i % 2 == 1 {
                let m = e.as_object_mut().unwrap();
                m.insert("last_status".into(), "exhausted".into());
                m.insert("last_status_at".into(), 1_700_000_000.0.into());
                m.insert("last_error_code".into(), 429.into());
                m.insert("last_error_reason".into(), "rate_limit".into());
                m.insert("last_error_message".into(), "slow down".into());
                m.insert("last_error_reset_at".into(), 4_000_000_000.0.into());
                m.insert("rate_limit_streak".into(), 2.into());
            }
            e
        })
        .collect();
    serde_json::json!({"version": 1, "credential_pool": {"openrouter": entries}}).to_string()
}

#[test]
fn a_pool_of_hundreds_of_keys_goes_to_the_server_and_back_whole() {
    // 1,100 keys on round_robin: the first pick moves every key's place, so its commit sets
    // thousands of fields, and the reset deletes 550 streaks: more than one call of the commit
    // script spreads at once.
    let Some(redis) = Redis::start("a_pool_of_hundreds_of_keys_goes_to_the_server_and_back_whole") else { return };
    let a = fleet_home(&redis, "  on_unavailable: fail\ncredential_pool_strategies:\n  openrouter: round_robin\n");
    a.write_home_file("auth.json", &big_pool(1100, true));
    let o = a.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Another machine with the same keys and nothing of their history sees the fleet's.
    let b = fleet_home(&redis, "  on_unavailable: fail\n");
    b.write_home_file("auth.json", &big_pool(1100, false));
    let list = b.run(&["auth", "list", "--json"]).json();
    let entries = list["providers"][0]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1100);
    let total: i64 = entries.iter().map(|e| e["request_count"].as_i64().unwrap()).sum();
    assert_eq!(total, 1100 * 5 + 1, "every count and the pick");
    let cooling: Vec<&Value> = entries.iter().filter(|e| e["status"] == "cooling").collect();
    assert_eq!(cooling.len(), 550);
    // The deadline crossed as seconds from the server's now: the same to within a second.
    let until = |e: &Value| e["until"].as_str().unwrap_or_default().to_string();
    assert!(
        cooling.iter().all(|e| e["code"] == 429 && until(e).starts_with("2096-10-02T07:06:")),
        "{:?}",
        until(cooling[0])
    );
    assert_eq!(b.run(&["auth", "reset", "openrouter"]).code, 0);
    let list = a.run(&["auth", "list", "--json"]).json();
    let entries = list["providers"][0]["entries"].as_array().unwrap();
    let left = entries.iter().filter(|e| e["status"] == "cooling" || !e["code"].is_null()).count();
    assert_eq!(left, 0, "entries still benched after the reset");
    // The streaks went by deletion, all of them.
    let fields = redis.cmd(&["HKEYS", "hermes:pool:openrouter"]);
    assert_eq!(fields.lines().filter(|l| l.ends_with("|rate_limit_streak")).count(), 0);
}

/// auth.json with two entries holding one key ("twin-a", "twin-b") and a third ("other").
fn twins_pool() -> String {
    let row = |id: &str, key: &str, priority: i64| {
        serde_json::json!({"id": id, "label": id, "auth_type": "api_key", "priority": priority,
            "source": "manual", "access_token": key, "request_count": 0})
    };
    let pool = vec![row("twin-a", K1, 0), row("twin-b", K1, 1), row("other", K2, 2)];
    serde_json::json!({"version": 1, "credential_pool": {"openrouter": pool}}).to_string()
}

#[test]
fn a_key_added_twice_counts_every_pick_of_either_entry() {
    // Two entries holding one key share a fleet id: the server has one count for both, and a
    // long-lived process picking them in turn must add to it every time (also in the first
    // commit, which writes both entries whole).
    let Some(redis) = Redis::start("a_key_added_twice_counts_every_pick_of_either_entry") else { return };
    let s = fleet_home(&redis, "  on_unavailable: fail\ncredential_pool_strategies:\n  openrouter: round_robin\n");
    s.write_home_file("auth.json", &twins_pool());
    let home = hermes::home::Home::open(s.context().0).unwrap();
    let pool = home.pool("openrouter").unwrap();
    let mut twins = 0;
    for _ in 0..30 {
        if hermes::ops::pick(&home, &pool, &[]).unwrap().label != "other" {
            twins += 1;
        }
    }
    assert!(twins >= 10, "round_robin goes through both twins: {twins}");
    let list = s.run(&["auth", "list", "--json"]).json();
    let count = |l: &str| entry(&list, l)["request_count"].as_i64().unwrap();
    assert_eq!((count("twin-a"), count("twin-b")), (twins, twins), "one count on the server for the key");
    assert_eq!(count("other"), 30 - twins);
}

#[test]
fn a_step_of_this_machines_clock_does_not_end_a_bench_early() {
    // The server keeps deadlines on its own clock; a long-lived process moves them onto its
    // clock. When that clock is set forward, a bench the server still holds must not look over.
    let Some(redis) = Redis::start("a_step_of_this_machines_clock_does_not_end_a_bench_early") else { return };
    let s = fleet_home(&redis, "  on_unavailable: fail\n");
    with_keys(&s);
    let (ctx, clock, _) = s.context();
    let home = hermes::home::Home::open(ctx).unwrap();
    let pool = home.pool("openrouter").unwrap();
    assert_eq!(s.run(&["auth", "report", "openrouter", "one", "--status", "429"]).code, 0);
    let list = s.run(&["auth", "list", "--json"]).json();
    let left = entry(&list, "one")["seconds_left"].as_f64().unwrap();
    assert!(left > 0.0);
    let two = hermes::ops::pick(&home, &pool, &[]).unwrap();
    assert_eq!(two.label, "two");
    // This machine's clock jumps past the deadline; the server's does not move.
    clock.advance(left + 60.0);
    // A transaction that reads the server again (a good answer changes nothing here), then picks.
    hermes::ops::report(&home, &pool, &two.id, &hermes::pool::cooldown::Outcome::Success).unwrap();
    for _ in 0..3 {
        assert_eq!(hermes::ops::pick(&home, &pool, &[]).unwrap().label, "two", "one is still benched on the server");
    }
}

/// Twins and a third key on round_robin: 3 picks, the server killed (its data saved first when
/// `saved`), 6 picks from auth.json, the server back. Returns the counts then listed.
fn twins_through_an_outage(test: &str, saved: bool) -> Option<(i64, i64, i64)> {
    let mut redis = Redis::start(test)?;
    let a = fleet_home(&redis, "credential_pool_strategies:\n  openrouter: round_robin\n");
    a.write_home_file("auth.json", &twins_pool());
    for _ in 0..3 {
        assert_eq!(a.run(&["auth", "token", "openrouter"]).code, 0);
    }
    if saved {
        assert!(redis.cmd(&["SAVE"]).starts_with("+OK"));
    }
    redis.kill();
    for _ in 0..6 {
        let o = a.run(&["auth", "token", "openrouter"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    assert!(a.pool("openrouter").iter().filter(|e| e.get("fleet_pending").is_some()).count() >= 2, "{}", a.auth());
    redis.restart();
    let list = a.run(&["auth", "list", "--json"]).json();
    assert!(a.pool("openrouter").iter().all(|e| e.get("fleet_pending").is_none()), "{}", a.auth());
    let count = |l: &str| entry(&list, l)["request_count"].as_i64().unwrap();
    Some((count("twin-a"), count("twin-b"), count("other")))
}

#[test]
fn twins_used_while_the_server_was_away_add_up_when_it_is_back() {
    let test = "twins_used_while_the_server_was_away_add_up_when_it_is_back";
    let Some((a, b, other)) = twins_through_an_outage(test, true) else { return };
    assert_eq!(a, b, "one count for the key");
    assert_eq!(a + other, 9, "every pick, before and while away");
}

#[test]
fn twins_used_while_the_server_was_away_add_up_when_it_comes_back_empty() {
    // The server lost what it held: what was served while it was away is what it now has.
    let test = "twins_used_while_the_server_was_away_add_up_when_it_comes_back_empty";
    let Some((a, b, other)) = twins_through_an_outage(test, false) else { return };
    assert_eq!(a, b, "one count for the key");
    assert_eq!(a + other, 6, "every pick made while it was away");
}

#[test]
fn twins_benched_while_the_server_was_away_keep_the_later_bench() {
    // Both twins were benched while away, each from its own history (a longer streak, a longer
    // bench): the key keeps the later deadline whichever twin comes first in auth.json.
    let Some(redis) = Redis::start("twins_benched_while_the_server_was_away_keep_the_later_bench") else { return };
    let a = fleet_home(&redis, "");
    a.write_home_file("auth.json", &twins_pool());
    assert_eq!(a.run(&["auth", "token", "openrouter"]).code, 0);
    // What an outage leaves behind: both twins benched and marked as changed while away.
    let mut doc: Value = a.auth();
    for (twin, until, streak) in [(0, 3_000_000_000.0, 1), (1, 4_000_000_000.0, 3)] {
        let m = doc["credential_pool"]["openrouter"][twin].as_object_mut().unwrap();
        for (k, v) in [
            ("last_status", Value::from("exhausted")),
            ("last_status_at", Value::from(1_780_000_000.0)),
            ("last_error_code", Value::from(429)),
            ("last_error_reason", Value::from("rate_limit")),
            ("last_error_reset_at", Value::from(until)),
            ("rate_limit_streak", Value::from(streak)),
            ("fleet_pending", serde_json::json!({"requests": 0})),
        ] {
            m.insert(k.to_string(), v);
        }
    }
    a.write_home_file("auth.json", &doc.to_string());
    let list = a.run(&["auth", "list", "--json"]).json();
    for twin in ["twin-a", "twin-b"] {
        let e = entry(&list, twin);
        assert!(e["until"].as_str().is_some_and(|u| u.starts_with("2096-")), "{twin}: {e}");
    }
    // And so does another machine.
    let b = fleet_home(&redis, "");
    b.write_home_file("auth.json", &twins_pool());
    let list = b.run(&["auth", "list", "--json"]).json();
    assert!(entry(&list, "twin-a")["until"].as_str().is_some_and(|u| u.starts_with("2096-")), "{list}");
}

#[test]
fn an_abandoned_transaction_leaves_nothing_for_the_next() {
    // A closure that edits outside the pools and then gives up (an `auth add` that finds the key
    // already there) must leave the next transaction the document as auth.json has it.
    let Some(redis) = Redis::start("an_abandoned_transaction_leaves_nothing_for_the_next") else { return };
    let s = fleet_home(&redis, "  on_unavailable: fail\n");
    with_keys(&s);
    let home = hermes::home::Home::open(s.context().0).unwrap();
    let pool = home.pool("openrouter").unwrap();
    hermes::ops::pick(&home, &pool, &[]).unwrap();
    let state = home.state();
    state
        .transact(1.0, &mut |doc| {
            doc.set_suppressed("openrouter", vec!["env:GIVEN_UP".into()]);
            false
        })
        .unwrap();
    let mut seen = Vec::new();
    state
        .transact(1.0, &mut |doc| {
            seen = doc.suppressed("openrouter");
            false
        })
        .unwrap();
    assert!(seen.is_empty(), "{seen:?}");
}

/// A TCP relay to `port` on 127.0.0.1 that loses the server's answer to the first command
/// carrying a commit marker (`commit:`): the command reaches the server and runs, its answer
/// never reaches the client, and that connection is closed. Every other byte passes.
fn relay_losing_one_commit_answer(port: u16) -> u16 {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_port = listener.local_addr().unwrap().port();
    let lost_one = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return };
            let mute = Arc::new(AtomicBool::new(false));
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_in, mut c_out) = (server, client);
            let (lost_one, mute_in) = (lost_one.clone(), mute.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while let Ok(n @ 1..) = c_in.read(&mut buf) {
                    let chunk = &buf[..n];
                    let marker = chunk.windows(7).any(|w| w == b"commit:");
                    if marker && !lost_one.swap(true, Ordering::SeqCst) {
                        // Muted before the command leaves, so its answer cannot slip through.
                        mute_in.store(true, Ordering::SeqCst);
                        let _ = s_out.write_all(chunk);
                        std::thread::sleep(Duration::from_millis(300));
                        let _ = c_in.shutdown(std::net::Shutdown::Both);
                        let _ = s_out.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    if s_out.write_all(chunk).is_err() {
                        return;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while let Ok(n @ 1..) = s_in.read(&mut buf) {
                    if mute.load(Ordering::SeqCst) {
                        continue;
                    }
                    if c_out.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    relay_port
}

#[test]
fn a_commit_whose_answer_is_lost_is_not_counted_twice() {
    // The commit ran on the server but its answer never came back (a timeout): hermes asks the
    // server for the commit's marker on a new connection, finds it, and does not run the pick
    // again on auth.json (which would add it a second time when merged back).
    let Some(redis) = Redis::start("a_commit_whose_answer_is_lost_is_not_counted_twice") else { return };
    let s = fleet_home(&redis, "credential_pool_strategies:\n  openrouter: least_used\n");
    with_keys(&s);
    // One pick straight to the server first: its scripts are then loaded there, so the relayed
    // commit runs at once instead of being answered "no such script".
    assert_eq!(s.run(&["auth", "token", "openrouter"]).code, 0);
    let relay = relay_losing_one_commit_answer(redis.port);
    let relayed = format!(
        "state:\n  backend: redis\n  url: redis://127.0.0.1:{relay}/0\ncredential_pool_strategies:\n  openrouter: least_used\n"
    );
    s.write_home_file("config.yaml", &relayed);
    let o = s.run(&["auth", "token", "openrouter"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("warning"), "the commit was found applied, not redone locally: {}", o.stderr);
    assert!(s.pool("openrouter").iter().all(|e| e.get("fleet_pending").is_none()), "{}", s.auth());
    // A third pick, straight to the server again: three picks in all, not four.
    s.write_home_file(
        "config.yaml",
        &format!(
            "state:\n  backend: redis\n  url: {}\ncredential_pool_strategies:\n  openrouter: least_used\n",
            redis.url()
        ),
    );
    assert_eq!(s.run(&["auth", "token", "openrouter"]).code, 0);
    let list = s.run(&["auth", "list", "--json"]).json();
    let total: i64 = ["one", "two"].iter().map(|l| entry(&list, l)["request_count"].as_i64().unwrap_or(0)).sum();
    assert_eq!(total, 3, "{list}");
    // A long-lived process leaves one marker, overwritten by each commit, not one per commit.
    let markers = || redis.cmd(&["KEYS", "hermes:commit:*"]).lines().next().unwrap().to_string();
    let before = markers();
    let home = hermes::home::Home::open(s.context().0).unwrap();
    let pool = home.pool("openrouter").unwrap();
    for _ in 0..5 {
        hermes::ops::pick(&home, &pool, &[]).unwrap();
    }
    assert_eq!((before.as_str(), markers().as_str()), ("*3", "*4"));
}
