//! Process state behind one injectable type: environment variables, the clock, the sleeper
//! and the home directory. Library code never reads `std::env` or the system clock directly;
//! tests build a [`Context`] from a map and a fixed time.

use crate::vars;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Seconds since the Unix epoch, UTC, possibly with a fraction (the store's `epoch` type).
pub type Epoch = f64;

/// Source of "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> Epoch;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place the wall clock is read (clippy.toml disallows it elsewhere).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Epoch {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        d.as_secs_f64()
    }
}

/// A clock that returns a settable instant; sleeps through [`RecordingSleeper`] advance it.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<Epoch>>);

impl FixedClock {
    pub fn new(at: Epoch) -> Self {
        FixedClock(Arc::new(Mutex::new(at)))
    }
    pub fn set(&self, at: Epoch) {
        *self.0.lock().expect("clock poisoned") = at;
    }
    pub fn advance(&self, secs: f64) {
        *self.0.lock().expect("clock poisoned") += secs;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Epoch {
        *self.0.lock().expect("clock poisoned")
    }
}

/// Every wait goes through a sleeper so tests never wait out a real cooldown.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    /// Blocking variant for synchronous code (lock polling).
    fn sleep_blocking(&self, d: Duration);
}

/// The real sleeper (tokio for async, `std::thread::sleep` for blocking).
#[derive(Debug, Default, Clone, Copy)]
pub struct RealSleeper;

impl Sleeper for RealSleeper {
    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
    fn sleep_blocking(&self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// Records the requested sleeps and returns at once; advances a [`FixedClock`] if given.
#[derive(Debug, Clone, Default)]
pub struct RecordingSleeper {
    pub slept: Arc<Mutex<Vec<Duration>>>,
    pub clock: Option<FixedClock>,
}

impl RecordingSleeper {
    pub fn total(&self) -> Duration {
        self.slept.lock().expect("poisoned").iter().sum()
    }
    fn record(&self, d: Duration) {
        self.slept.lock().expect("poisoned").push(d);
        if let Some(c) = &self.clock {
            c.advance(d.as_secs_f64());
        }
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, d: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.record(d);
        Box::pin(std::future::ready(()))
    }
    fn sleep_blocking(&self, d: Duration) {
        self.record(d);
    }
}

/// The environment hermes runs in.
#[derive(Clone)]
pub struct Context {
    vars: BTreeMap<String, String>,
    pub clock: Arc<dyn Clock>,
    pub sleeper: Arc<dyn Sleeper>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Variable values may hold keys: list names only.
        f.debug_struct("Context").field("vars", &self.vars.keys().collect::<Vec<_>>()).finish()
    }
}

impl Context {
    /// Build from the real process: its variables, the system clock (or `HERMES_TEST_NOW`), and
    /// real sleeps (or recorded ones under `HERMES_TEST_NO_SLEEP`).
    // The one place the process environment is read (clippy.toml disallows it elsewhere).
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Self {
        let vars: BTreeMap<String, String> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        let mut ctx = Context::with_vars(vars);
        if let Some(t) = ctx.var(vars::TEST_NOW).and_then(|v| v.trim().parse::<f64>().ok()) {
            let clock = FixedClock::new(t);
            if ctx.var(vars::TEST_NO_SLEEP).is_some() {
                ctx.sleeper = Arc::new(RecordingSleeper { clock: Some(clock.clone()), ..Default::default() });
            }
            ctx.clock = Arc::new(clock);
        } else if ctx.var(vars::TEST_NO_SLEEP).is_some() {
            ctx.sleeper = Arc::new(RecordingSleeper::default());
        }
        ctx
    }

    /// A context over the given variables with the real clock and sleeper.
    pub fn with_vars(vars: BTreeMap<String, String>) -> Self {
        Context { vars, clock: Arc::new(SystemClock), sleeper: Arc::new(RealSleeper) }
    }

    /// A test context: given variables, a fixed clock and a recording sleeper sharing that clock.
    pub fn for_test<I, K, V>(vars: I, now: Epoch) -> (Self, FixedClock, RecordingSleeper)
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let clock = FixedClock::new(now);
        let sleeper = RecordingSleeper { clock: Some(clock.clone()), ..Default::default() };
        let ctx = Context {
            vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            clock: Arc::new(clock.clone()),
            sleeper: Arc::new(sleeper.clone()),
        };
        (ctx, clock, sleeper)
    }

    /// A process variable, if set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Whether a process variable is set at all, empty or not.
    pub fn vars_contains(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    pub fn set_var(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn now(&self) -> Epoch {
        self.clock.now()
    }

    /// The user's home directory: `HOME`, else what the OS reports.
    pub fn user_home(&self) -> Option<PathBuf> {
        if let Some(h) = self.var(vars::HOME) {
            return Some(PathBuf::from(h));
        }
        directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
    }

    /// `HERMES_HOME` if set and not empty, otherwise `~/.hermes`.
    pub fn hermes_home(&self) -> Option<PathBuf> {
        if let Some(h) = self.var(vars::HERMES_HOME) {
            return Some(PathBuf::from(h));
        }
        self.user_home().map(|h| h.join(".hermes"))
    }

    /// Whether colour may be used on a stream that is a terminal.
    pub fn colour_allowed(&self) -> bool {
        self.var(vars::NO_COLOR).is_none() && self.var(vars::TERM) != Some("dumb")
    }
}
