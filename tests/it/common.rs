//! A sealed hermes home for integration tests: a temp HOME and HERMES_HOME, a cleared
//! environment (the host's real keys never leak in), fixed NO_COLOR and COLUMNS, and a pinned
//! clock through the hidden `HERMES_TEST_NOW` variable.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// 2026-07-01T09:00:00Z
pub const T0: f64 = 1_782_896_400.0;

pub struct Sealed {
    pub dir: TempDir,
    pub home: PathBuf,
    pub user_home: PathBuf,
    pub vars: BTreeMap<String, String>,
    pub now: f64,
}

impl Sealed {
    pub fn new() -> Sealed {
        let dir = tempfile::tempdir().expect("tempdir");
        let user_home = dir.path().join("user");
        std::fs::create_dir_all(&user_home).unwrap();
        let home = user_home.join(".hermes");
        Sealed { dir, home, user_home, vars: BTreeMap::new(), now: T0 }
    }

    pub fn var(&mut self, k: &str, v: &str) -> &mut Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    pub fn unset(&mut self, k: &str) -> &mut Self {
        self.vars.remove(k);
        self
    }

    /// The hermes binary with the sealed environment.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.process())
    }

    /// The whole environment of a sealed run: temp HOME and HERMES_HOME, NO_COLOR, COLUMNS, the
    /// pinned clock and recorded sleeps, then the variables the test set (which win). Process,
    /// pty and in-process tests all start from this list.
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), std::env::var("PATH").unwrap_or_default());
        env.insert("HOME".to_string(), self.user_home.display().to_string());
        env.insert("HERMES_HOME".to_string(), self.home.display().to_string());
        env.insert("NO_COLOR".to_string(), "1".to_string());
        env.insert("COLUMNS".to_string(), "200".to_string());
        env.insert("HERMES_TEST_NOW".to_string(), format!("{}", self.now));
        env.insert("HERMES_TEST_NO_SLEEP".to_string(), "1".to_string());
        env.extend(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    /// `program` with a cleared environment plus [`Sealed::env`].
    pub fn sealed_command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env_clear().envs(self.env());
        c
    }

    /// The hermes binary as a plain [`std::process::Command`] with the same sealed environment,
    /// for tests that spawn several children at once (or kill one) instead of waiting on each.
    pub fn process(&self) -> std::process::Command {
        self.sealed_command(env!("CARGO_BIN_EXE_hermes"))
    }

    /// The hermes binary as an unprivileged user. Root ignores permission bits, so where the
    /// tests run as root (CI does) the command runs as `nobody` through `setpriv`, and the temp
    /// directories above the home are opened to it; elsewhere it is [`Sealed::process`].
    pub fn unprivileged(&self) -> std::process::Command {
        if !self.is_root() {
            return self.process();
        }
        for d in [self.dir.path(), self.user_home.as_path()] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut c = self.sealed_command("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_hermes")]);
        c
    }

    /// Whether the tests run as root (a file we create is owned by uid 0).
    pub fn is_root(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let probe = self.dir.path().join(".uid-probe");
        std::fs::write(&probe, "").unwrap();
        let uid = std::fs::metadata(&probe).unwrap().uid();
        std::fs::remove_file(&probe).unwrap();
        uid == 0
    }

    /// An in-process [`hermes::context::Context`] over the same environment, with a fixed clock
    /// at [`Sealed::now`] and a recording sleeper.
    pub fn context(
        &self,
    ) -> (hermes::context::Context, hermes::context::FixedClock, hermes::context::RecordingSleeper) {
        hermes::context::Context::for_test(self.env(), self.now)
    }

    /// `hermes <args>` with empty stdin.
    pub fn run(&self, args: &[&str]) -> Out {
        let o = self.cmd().args(args).write_stdin("").output().expect("run hermes");
        Out::from(o)
    }

    /// `hermes <args>` with the given stdin.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let o = self.cmd().args(args).write_stdin(stdin.to_string()).output().expect("run hermes");
        Out::from(o)
    }

    pub fn auth_path(&self) -> PathBuf {
        self.home.join("auth.json")
    }

    pub fn auth(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.auth_path()).expect("auth.json exists")).expect("valid JSON")
    }

    pub fn auth_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.auth_path()).ok()
    }

    pub fn write_auth(&self, v: &Value) {
        self.write_home_file("auth.json", &serde_json::to_string_pretty(v).unwrap());
    }

    pub fn write_home_file(&self, name: &str, text: &str) {
        std::fs::create_dir_all(&self.home).unwrap();
        std::fs::set_permissions(&self.home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = self.home.join(name);
        std::fs::write(&path, text).unwrap();
        // As hermes and hermes-agent write them: a store other users cannot read.
        if name == "auth.json" {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    pub fn pool(&self, key: &str) -> Vec<Value> {
        self.auth()["credential_pool"][key].as_array().cloned().unwrap_or_default()
    }

    /// Add a key through the CLI (stdin), asserting success.
    pub fn add_key(&self, provider: &str, key: &str, label: Option<&str>) -> Out {
        let mut args = vec!["auth", "add", provider, "--api-key", "-"];
        if let Some(l) = label {
            args.extend(["--label", l]);
        }
        let o = self.run_stdin(&args, key);
        assert_eq!(o.code, 0, "add failed: {}", o.stderr);
        o
    }
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Out {
    fn from(o: std::process::Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

// Fixtures: stored entries and documents as hermes-agent 0.19 and hermes write them.

/// An unsigned JWT with these claims.
pub fn jwt(claims: Value) -> String {
    hermes::model::jwt::unsigned(&claims)
}

/// An owned, refreshable anthropic login expiring at `expires_at` (epoch seconds).
pub fn anthropic_entry(id: &str, label: &str, access: &str, refresh: &str, expires_at: f64) -> Value {
    json!({"id": id, "label": label, "auth_type": "oauth", "priority": 0, "source": "manual:hermes_pkce",
        "access_token": access, "refresh_token": refresh, "last_status": null, "last_status_at": null,
        "last_error_code": null, "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null,
        "base_url": "https://api.anthropic.com", "expires_at_ms": (expires_at * 1000.0) as i64, "request_count": 0})
}

/// An API-key entry.
pub fn key_entry(id: &str, label: &str, key: &str, priority: i64) -> Value {
    json!({"id": id, "label": label, "auth_type": "api_key", "priority": priority, "source": "manual",
        "access_token": key, "last_status": null, "last_status_at": null, "last_error_code": null,
        "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null, "request_count": 0})
}

/// A store with these pools.
pub fn store(pools: Value) -> Value {
    json!({"version": 1, "providers": {}, "credential_pool": pools})
}

/// A copy of `entry` with `field` set to `value`.
pub fn with(mut entry: Value, field: &str, value: Value) -> Value {
    entry[field] = value;
    entry
}

pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}
