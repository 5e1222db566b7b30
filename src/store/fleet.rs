//! Fleet-wide pool state on a Redis or Valkey server (docs/fleet.md).
//!
//! The credentials stay in auth.json; what a fleet of machines must agree on lives on the
//! server, one hash per pool (`<prefix>pool:<pool key>`), one group of fields per entry, keyed by
//! the entry's fleet id (the fingerprint of its secret, never the secret):
//! `<fleet id>|last_status`, `<fleet id>|request_count`, … (the [`SHARED`] fields), and with
//! `state.share_oauth` the OAuth tokens of a login. Every hash has a version `v`.
//!
//! A transaction reads the hashes of the document's pools with the server's clock (one script),
//! lays them over the local document, runs the caller's closure, and commits the fields it
//! changed with a second script that applies them only if no pool it writes has moved on since
//! the read (the version check) and bumps the versions: an atomic compare-and-set, retried on
//! a conflict, so no pick or outcome is lost between machines. Times hermes computes (status
//! times and reset deadlines) cross the wire relative to the transaction's `now` and are stored
//! on the server's clock, so machines whose clocks drift agree on when an entry comes back.
//!
//! auth.json is written only when something besides the shared fields changes (an entry added
//! or removed, new tokens), and then with the fleet's values, so the local copy stays close.
//! While the server cannot be reached, `on_unavailable: local` carries on with auth.json alone
//! and marks what it changed (`fleet_pending`); the first transaction that reaches the server
//! again merges it back (counts added, the later status kept).

use super::state::{BackendStatus, Committed, GrantGuard, PoolState};
use super::{Store, StoreError};
use crate::config::{OnUnavailable, StateConfig};
use crate::context::{Clock, Epoch};
use crate::model::entry::{self, AuthType};
use crate::model::AuthDoc;
use crate::secret::fingerprint;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fields every entry shares with the fleet: its status, counts and place in the order, what
/// its provider last announced and what it served.
pub const SHARED: [&str; 11] = [
    entry::LAST_STATUS,
    entry::LAST_STATUS_AT,
    entry::LAST_ERROR_CODE,
    entry::LAST_ERROR_REASON,
    entry::LAST_ERROR_MESSAGE,
    entry::LAST_ERROR_RESET_AT,
    entry::REQUEST_COUNT,
    entry::RATE_LIMIT_STREAK,
    entry::PRIORITY,
    crate::pool::headroom::FIELD,
    crate::pool::usage::FIELD,
];
/// Shared fields that hold a time hermes computed: stored on the server's clock.
const TIMES: [&str; 2] = [entry::LAST_STATUS_AT, entry::LAST_ERROR_RESET_AT];
/// The entry's stable fleet id, kept locally once an OAuth login rotates its tokens.
pub const FLEET_ID: &str = "fleet_id";
/// What this machine changed while the server was unreachable: `{"requests": n}`.
pub const FLEET_PENDING: &str = "fleet_pending";
/// With `share_oauth`: the fingerprint of the refresh token this machine last synced with the
/// fleet; a file whose token differs has rotated since, and its tokens win.
pub const FLEET_RT: &str = "fleet_refresh_fingerprint";
/// Fields that stay on this machine even for a shared OAuth login.
const LOCAL: [&str; 7] = [entry::ID, entry::LABEL, entry::SOURCE, entry::AUTH_TYPE, FLEET_ID, FLEET_PENDING, FLEET_RT];
/// How long a shared refresh lock lives if its holder dies (longer than any refresh POST).
const GRANT_LOCK_MS: u64 = 60_000;
/// How long after a failure the server is left alone before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Conflicting commits tried before a transaction gives up.
const MAX_ATTEMPTS: u32 = 500;
/// The degraded-mode warning is printed at most this often (across processes of one home).
const WARN_EVERY: Duration = Duration::from_secs(60);

// Each hash comes back as one JSON array `[field, value, ...]`: one bulk string per pool is
// much cheaper for the client to parse than a reply of hundreds of bulk strings.
// ARGV[i] is the stamp (`<epoch>:<version>`) of KEYS[i] the caller already holds: then the
// answer is `=` instead. The epoch is set when a hash is created, so a server that lost its data
// and counted versions again from 0 is never taken for the one the caller saw.
const READ_SCRIPT: &str = r#"
local t = redis.call('TIME')
local out = {t[1], t[2]}
for i, k in ipairs(KEYS) do
  local ev = redis.call('HMGET', k, 'e', 'v')
  if ((ev[1] or '') .. ':' .. (ev[2] or '0')) == ARGV[i] then
    out[#out + 1] = '='
  else
    local h = redis.call('HGETALL', k)
    out[#out + 1] = (#h == 0) and '[]' or cjson.encode(h)
  end
end
return out
"#;

// KEYS: the pools' hashes, then this process's commit marker. ARGV: the stamp each pool is
// expected to have (one per pool, in KEYS order), then per pool: the number of fields to set and
// as many `field, JSON text` pairs, the number of times and as many `field, seconds from the
// server's now` pairs, the number of fields to delete and those fields; last, this commit's
// number, left in the marker. Flat arguments instead of one JSON document: no decoding and no
// tables to build in the script, which is most of its time on the server every machine of the
// fleet shares. Each hash gets one HSET (its fields, the new version and, when new, its epoch)
// and at most one HDEL: every call out of Lua costs the server more than the work it does.
// Answers {1, TIME, each key's epoch} when applied (the caller applies the same writes to its
// copy), or {0, TIME, the keys' hashes} on a conflict, so that the caller's copy is fresh
// either way.
const COMMIT_SCRIPT: &str = r#"
local t = redis.call('TIME')
local n = #KEYS - 1
local ev = {}
for i = 1, n do
  local h = redis.call('HMGET', KEYS[i], 'e', 'v')
  if ((h[1] or '') .. ':' .. (h[2] or '0')) ~= ARGV[i] then
    local out = {0, t[1], t[2]}
    for j = 1, n do
      local all = redis.call('HGETALL', KEYS[j])
      out[#out + 1] = (#all == 0) and '[]' or cjson.encode(all)
    end
    return out
  end
  ev[i] = h
end
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out = {1, t[1], t[2]}
local p = n + 1
for i = 1, n do
  local k = KEYS[i]
  local e = ev[i][1] or (t[1] .. '.' .. t[2])
  local w = {'e', e, 'v', tonumber(ev[i][2] or '0') + 1}
  local ns = tonumber(ARGV[p])
  p = p + 1
  for j = p, p + 2 * ns - 1 do w[#w + 1] = ARGV[j] end
  p = p + 2 * ns
  local nr = tonumber(ARGV[p])
  p = p + 1
  for j = 0, nr - 1 do
    w[#w + 1] = ARGV[p + 2 * j]
    w[#w + 1] = string.format('%.6f', now + tonumber(ARGV[p + 2 * j + 1]))
  end
  p = p + 2 * nr
  -- In slices: unpack has a limit on how many values it spreads.
  for j = 1, #w, 1000 do
    redis.call('HSET', k, unpack(w, j, math.min(j + 999, #w)))
  end
  local nd = tonumber(ARGV[p])
  p = p + 1
  for j = 0, nd - 1, 500 do
    redis.call('HDEL', k, unpack(ARGV, p + j, p + math.min(j + 500, nd) - 1))
  end
  p = p + nd
  out[#out + 1] = e
end
redis.call('SET', KEYS[n + 1], ARGV[p], 'PX', 60000)
return out
"#;

const RELEASE_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// The connection to the server, shared by the state and its held grant locks.
struct Link {
    info: redis::ConnectionInfo,
    /// The URL as shown to people: scheme, host, port and database, no password.
    shown: String,
    connect_timeout: Duration,
    command_timeout: Duration,
    conn: Mutex<Option<redis::Connection>>,
    /// After a failure: no new attempt before this instant, and why it failed.
    down: Mutex<Option<(Instant, String)>>,
    /// Bumped at every new connection: state read over an earlier one may be from a server
    /// that has since lost its data, so it is not reused.
    generation: std::sync::atomic::AtomicU64,
}

impl Link {
    /// Run `op` on the connection, connecting first if needed. A failure drops the connection
    /// (a late reply must not be read as the next command's) and rests the server for a second.
    fn with<T>(&self, op: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T, String> {
        self.with_rest(true, op)
    }

    /// [`Link::with`], optionally trying to connect even while the server rests (to find out
    /// whether a commit whose answer was lost went through).
    fn with_rest<T>(
        &self,
        rest: bool,
        op: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            if let Some((until, why)) = &*self.down.lock().unwrap_or_else(|p| p.into_inner()) {
                if rest && Instant::now() < *until {
                    return Err(why.clone());
                }
            }
            match self.connect() {
                Ok(c) => {
                    self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    *slot = Some(c)
                }
                Err(why) => return Err(self.rest(why)),
            }
        }
        let conn = slot.as_mut().expect("connected above");
        match op(conn) {
            Ok(v) => {
                *self.down.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(v)
            }
            Err(e) => {
                *slot = None;
                Err(self.rest(describe(&e, self.command_timeout)))
            }
        }
    }

    fn rest(&self, why: String) -> String {
        *self.down.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now() + RETRY_AFTER, why.clone()));
        why
    }

    fn connect(&self) -> Result<redis::Connection, String> {
        let client = redis::Client::open(self.info.clone()).map_err(|e| describe(&e, self.connect_timeout))?;
        let mut conn =
            client.get_connection_with_timeout(self.connect_timeout).map_err(|e| describe(&e, self.connect_timeout))?;
        let io = |e: redis::RedisError| describe(&e, self.command_timeout);
        conn.set_read_timeout(Some(self.command_timeout)).map_err(io)?;
        conn.set_write_timeout(Some(self.command_timeout)).map_err(io)?;
        // A server that does not speak Redis fails here rather than in the middle of a pick.
        let pong: String = redis::cmd("PING").query(&mut conn).map_err(io)?;
        if pong != "PONG" {
            return Err("the server does not answer like Redis (PING)".into());
        }
        Ok(conn)
    }
}

/// One line for a Redis error: never the URL (it may hold the password), never a panic.
fn describe(e: &redis::RedisError, timeout: Duration) -> String {
    use redis::ErrorKind;
    if e.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    match e.kind() {
        ErrorKind::AuthenticationFailed => {
            "authentication failed (check the password in state.url or HERMES_STATE_PASSWORD)".into()
        }
        ErrorKind::ParseError => "the server does not speak the Redis protocol".into(),
        ErrorKind::InvalidClientConfig => format!("invalid state.url: {}", crate::text::one_line(&e.to_string())),
        _ if e.is_connection_refusal() => "connection refused".into(),
        _ if e.is_connection_dropped() || e.is_unrecoverable_error() => {
            format!("connection lost ({})", crate::text::one_line(&e.to_string()))
        }
        _ if e.code() == Some("NOAUTH") || e.code() == Some("WRONGPASS") => {
            "authentication failed (check the password in state.url or HERMES_STATE_PASSWORD)".into()
        }
        _ => crate::text::one_line(&e.to_string()).into_owned(),
    }
}

/// Pool state shared by a fleet through a Redis or Valkey server, over the local auth.json.
pub struct FleetState {
    file: Store,
    link: Arc<Link>,
    prefix: String,
    on_unavailable: OnUnavailable,
    share_oauth: bool,
    clock: Arc<dyn Clock>,
    read_script: redis::Script,
    commit_script: redis::Script,
    warn: Arc<dyn Fn(&str) + Send + Sync>,
    /// The last auth.json parsed, with the identity of the file it came from: a long-lived
    /// process (the gateway, a program on the library) does not parse an unchanged file again.
    cache: Mutex<Option<(FileStamp, Arc<AuthDoc>)>>,
    /// The pools as the server last answered: a transaction starts from it and its commit
    /// checks the versions, so an uncontended pick is one round trip.
    snapshot: Mutex<Option<Snapshot>>,
    /// Held by each transaction: the threads sharing this state (one home) take turns instead
    /// of committing against each other's versions (they share one connection anyway), so
    /// version conflicts come only from other processes or homes.
    serial: Mutex<()>,
    /// The document the last transaction ended with, for the next one to start from.
    overlaid: Mutex<Option<Overlaid>>,
    /// This state's marker key on the server (`<prefix>commit:<random id>`): each commit leaves
    /// its number there for a minute, so that a commit whose answer was lost can be told
    /// applied or not. One key per process, overwritten, not one per commit.
    marker: String,
    /// Commits made so far.
    commits: std::sync::atomic::AtomicU64,
}

/// The document a transaction ended with: auth.json as `file` held it with `pools` (the server's
/// hashes as they stand after its commit, if any) laid over. While the file and the kept pools are the
/// very ones it was built from and the two clocks stand as they did, the next transaction starts
/// from it instead of laying the server's values over the file again (most of a pick's own work
/// on the gateway's path).
struct Overlaid {
    file: Arc<AuthDoc>,
    generation: u64,
    pools: HashMap<String, Arc<PoolSnap>>,
    /// This machine's clock minus the server's when the server's times in `doc` were moved onto
    /// this machine's clock.
    offset: f64,
    doc: AuthDoc,
    /// Pools of `doc` copied exactly as they stand (key order included), for the next
    /// transaction's state before its closure (see [`AuthDoc::take_saved_level`]).
    saved: Vec<(String, Option<Value>)>,
}

/// How far the two clocks may have moved apart since a kept document's times were moved onto
/// this machine's clock (more than an answer's jitter): past it, this machine's clock was set
/// or stepped, and the server's times are moved again.
const OFFSET_DRIFT: f64 = 0.25;

impl Overlaid {
    /// Whether this was built from `file` and exactly the pools of `snap`, with the server's
    /// times moved by the clocks' offset `snap` has.
    fn fits(&self, file: &Arc<AuthDoc>, snap: &Snapshot) -> bool {
        Arc::ptr_eq(&self.file, file)
            && self.generation == snap.generation
            && self.pools.len() == snap.pools.len()
            && self.pools.iter().all(|(k, a)| snap.pools.get(k).is_some_and(|b| Arc::ptr_eq(a, b)))
            && (snap.offset() - self.offset).abs() <= OFFSET_DRIFT
    }
}

/// What identifies one version of auth.json: every write of hermes (and of hermes-agent) is a
/// rename, which makes a new inode; size and times catch a writer that rewrites in place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

impl std::fmt::Debug for FleetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetState").field("url", &self.link.shown).field("prefix", &self.prefix).finish()
    }
}

/// The URL hermes connects to, with the password of `HERMES_STATE_PASSWORD` when given. Errors
/// name the setting and never quote the URL.
pub fn connection_info(url: &str, password: Option<&str>) -> Result<(redis::ConnectionInfo, String), String> {
    let scheme = url.split("://").next().unwrap_or("");
    if !url.contains("://")
        || !matches!(scheme, "redis" | "rediss" | "unix" | "redis+unix" | "valkey" | "valkeys" | "valkey+unix")
    {
        return Err(format!(
            "state.url: expected a redis://, rediss://, unix:// or valkey:// URL, found {}",
            if url.contains("://") {
                format!("a {}:// URL", crate::text::one_line(scheme))
            } else {
                "no scheme".into()
            }
        ));
    }
    let mut info: redis::ConnectionInfo = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| format!("state.url: not a valid {scheme}:// URL ({})", crate::text::one_line(&e.to_string())))?;
    if let Some(p) = password {
        info.redis.password = Some(p.to_string());
    }
    let shown = match &info.addr {
        redis::ConnectionAddr::Unix(path) => format!("unix://{}", path.display()),
        redis::ConnectionAddr::TcpTls { host, port, .. } => format!("{scheme}://{host}:{port}/{}", info.redis.db),
        redis::ConnectionAddr::Tcp(host, port) => format!("{scheme}://{host}:{port}/{}", info.redis.db),
    };
    Ok((info, shown))
}

impl FleetState {
    /// The fleet state of `file` on the server `url` (see [`connection_info`]). Nothing is
    /// connected until the first read.
    pub fn new(
        file: Store,
        cfg: &StateConfig,
        url: &str,
        password: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<FleetState, String> {
        let (info, shown) = connection_info(url, password)?;
        let link = Link {
            info,
            shown,
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            command_timeout: Duration::from_millis(cfg.command_timeout_ms),
            conn: Mutex::new(None),
            down: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
        };
        Ok(FleetState {
            file,
            link: Arc::new(link),
            prefix: cfg.prefix.clone(),
            on_unavailable: cfg.on_unavailable,
            share_oauth: cfg.share_oauth,
            clock,
            read_script: redis::Script::new(READ_SCRIPT),
            commit_script: redis::Script::new(COMMIT_SCRIPT),
            warn: Arc::new(|w: &str| eprintln!("{w}")),
            cache: Mutex::new(None),
            snapshot: Mutex::new(None),
            serial: Mutex::new(()),
            overlaid: Mutex::new(None),
            marker: format!("{}commit:{:016x}", cfg.prefix, rand::random::<u64>()),
            commits: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// auth.json as it is now (a lock-free snapshot), parsed again only when the file changed.
    /// The stamp is taken before the read, so a file replaced in between is read again next time.
    fn file_doc(&self) -> Result<Arc<AuthDoc>, StoreError> {
        let Some(before) = stamp(&self.file.path()) else { return self.file.read().map(Arc::new) };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, doc)) = &*cache {
            if *s == before {
                return Ok(doc.clone());
            }
        }
        let doc = Arc::new(self.file.read()?);
        *cache = Some((before, doc.clone()));
        Ok(doc)
    }

    /// Where the degraded-mode warning goes (stderr by default).
    pub fn with_warning_sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> FleetState {
        self.warn = Arc::new(sink);
        self
    }

    /// The server as shown to people (no password).
    pub fn shown_url(&self) -> &str {
        &self.link.shown
    }

    fn pool_key(&self, pool: &str) -> String {
        format!("{}pool:{pool}", self.prefix)
    }

    /// The server is out of reach: an error under `fail`, else a warning (at most one a
    /// minute for this home) and the caller goes on with auth.json alone.
    fn unreachable(&self, why: String) -> Result<(), StoreError> {
        if self.on_unavailable == OnUnavailable::Fail {
            return Err(StoreError::Unavailable { backend: self.link.shown.clone(), message: why });
        }
        if warn_due(self.file.home()) {
            (self.warn)(&format!(
                "warning: {}: {why}; using the local state in auth.json until it is back (state.on_unavailable: local)",
                self.link.shown
            ));
        }
        Ok(())
    }

    /// The hashes of `doc`'s pools and the server's clock, in one round trip; `local_now` is
    /// this side's clock at the same instant. The copy kept for the next transaction is replaced.
    fn fetch(&self, doc: &AuthDoc) -> Result<Snapshot, String> {
        let pools = doc.pool_keys();
        let keys: Vec<String> = pools.iter().map(|p| self.pool_key(p)).collect();
        let held: Vec<Option<Arc<PoolSnap>>> = {
            let cache = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
            pools.iter().map(|p| cache.as_ref().and_then(|s| s.pools.get(p).cloned())).collect()
        };
        let raw: Result<Vec<redis::Value>, String> = self.link.with(|c| {
            let mut inv = self.read_script.prepare_invoke();
            for (k, h) in keys.iter().zip(&held) {
                inv.key(k);
                inv.arg(h.as_ref().map_or_else(|| "-".to_string(), |h| h.stamp()));
            }
            inv.invoke(c)
        });
        // A connection that failed may have been to a server that lost its data: start over.
        let raw = raw.inspect_err(|_| self.forget_snapshot())?;
        let mut it = raw.into_iter();
        let server_now = server_time(&mut it)?;
        // This side's clock right after the answer (not the transaction's `now`, which may be
        // older by a lock wait): the pair fixes the offset between the two clocks.
        let local_now = self.clock.now();
        if it.len() != pools.len() {
            return Err(bad_shape());
        }
        let generation = self.link.generation.load(std::sync::atomic::Ordering::SeqCst);
        let mut snap = Snapshot { server_now, local_now, generation, fresh: true, pools: HashMap::new() };
        for ((pool, v), held) in pools.into_iter().zip(it).zip(held) {
            let same = matches!(&v, redis::Value::BulkString(b) if b.as_slice() == b"=");
            let ps = match held {
                Some(h) if same => h,
                _ => Arc::new(pool_snap(&v)?),
            };
            snap.pools.insert(pool, ps);
        }
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some(snap.stale_copy());
        Ok(snap)
    }

    fn forget_snapshot(&self) {
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.overlaid.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The pools as last seen, if that covers every pool of `doc` (marked not fresh).
    fn cached(&self, doc: &AuthDoc) -> Option<Snapshot> {
        let cache = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        let snap = cache.as_ref()?;
        let same_connection = snap.generation == self.link.generation.load(std::sync::atomic::Ordering::SeqCst);
        (same_connection && doc.pool_keys().iter().all(|p| snap.pools.contains_key(p))).then(|| snap.stale_copy())
    }

    /// Apply `plan` if no pool in it has moved on: `Ok(None)` on a conflict, else the pools of
    /// `base` with the writes applied (what the server now holds of them; `base` is used up).
    /// Either way the kept copy of the plan's pools is brought up to date from the answer.
    fn commit(&self, plan: &Plan, base: &mut Snapshot) -> Result<Option<HashMap<String, Arc<PoolSnap>>>, String> {
        let mut keys: Vec<String> = plan.pools.iter().map(|(p, _)| self.pool_key(p)).collect();
        keys.push(self.marker.clone());
        // Commits of one state take turns (`serial`), so the marker names at most one in flight.
        let number = self.commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let raw = self.link.with(|c| {
            let mut inv = self.commit_script.prepare_invoke();
            for k in &keys {
                inv.key(k);
            }
            for (_, w) in &plan.pools {
                inv.arg(&w.stamp);
            }
            for (_, w) in &plan.pools {
                w.args(&mut inv);
            }
            inv.arg(number);
            inv.invoke::<Vec<redis::Value>>(c)
        });
        let raw = match raw {
            Ok(raw) => raw,
            Err(why) => {
                self.forget_snapshot();
                // The answer was lost after the script was sent: whether it ran is on the
                // server (its marker), and running the transaction again would count it twice.
                if why.starts_with("no answer") || why.starts_with("connection lost") {
                    let ran =
                        self.link.with_rest(false, |c| redis::cmd("GET").arg(&self.marker).query::<Option<u64>>(c));
                    if ran == Ok(Some(number)) {
                        // Applied, but its answer is lost: the pools are read again next time.
                        return Ok(Some(HashMap::new()));
                    }
                }
                return Err(why);
            }
        };
        let mut it = raw.into_iter();
        let done: i64 = it.next().and_then(|v| redis::from_redis_value(&v).ok()).ok_or_else(bad_shape)?;
        let server_now = server_time(&mut it)?;
        let mut fresh = HashMap::new();
        if it.len() != plan.pools.len() {
            return Err(bad_shape());
        }
        if done == 1 {
            // Applied on exactly the state `base` holds: the server now has it plus these writes.
            for ((pool, w), e) in plan.pools.iter().zip(it.by_ref()) {
                let epoch: String = redis::from_redis_value(&e).map_err(|_| bad_shape())?;
                // The kept copy of this pool is replaced below: with it gone too, `base`'s is
                // usually the only one left and is changed in place instead of copied.
                if let Some(kept) = self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                    kept.pools.remove(pool);
                }
                let mut ps = match base.pools.remove(pool) {
                    Some(p) => Arc::try_unwrap(p).unwrap_or_else(|p| (*p).clone()),
                    None => PoolSnap::default(),
                };
                w.apply(&mut ps, epoch, server_now);
                fresh.insert(pool.clone(), Arc::new(ps));
            }
        } else {
            for ((pool, _), v) in plan.pools.iter().zip(it) {
                fresh.insert(pool.clone(), Arc::new(pool_snap(&v)?));
            }
        }
        let after = (done == 1).then(|| {
            let mut after = std::mem::take(&mut base.pools);
            after.extend(fresh.iter().map(|(k, v)| (k.clone(), v.clone())));
            after
        });
        let mut cache = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(snap) = cache.as_mut() {
            snap.server_now = server_now;
            snap.local_now = self.clock.now();
            snap.pools.extend(fresh);
        }
        Ok(after)
    }

    /// A transaction on auth.json alone (the server is out of reach): what it changes in the
    /// shared fields is marked for the merge when the server is back.
    fn transact_local(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        let mut wrote = false;
        self.file.update(now, |doc| {
            wrote = alone(doc, f);
            Ok::<(), StoreError>(())
        })?;
        Ok(Committed { wrote })
    }

    /// The transaction under the auth.json lock: for edits that reach the file (entries added
    /// or removed, new tokens, a merge after an outage).
    fn transact_locked(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        let mut wrote = false;
        self.file.update(now, |file_doc| {
            for attempt in 0..MAX_ATTEMPTS {
                let mut snap = match self.fetch(file_doc) {
                    Ok(s) => s,
                    Err(why) => {
                        self.unreachable(why)?;
                        wrote = alone(file_doc, f);
                        return Ok(());
                    }
                };
                let mut merged = file_doc.clone();
                let over = overlay(&mut merged, &snap, self.share_oauth);
                let before = merged.clone();
                let mut doc = merged;
                if !f(&mut doc) {
                    if !over.file_dirty {
                        return Ok(());
                    }
                    doc = before.clone();
                }
                doc.prune_new_empties(&before);
                keep_fleet_ids(&before, &mut doc);
                let plan = plan(&snap, &|p: &str| before.pool(p), &doc, &over.force, now, self.share_oauth);
                if !plan.pools.is_empty() {
                    match self.commit(&plan, &mut snap) {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            backoff(attempt);
                            continue;
                        }
                        Err(why) => {
                            // `f` again on auth.json as it is: its pending marks are intact there.
                            self.unreachable(why)?;
                            wrote = alone(file_doc, f);
                            return Ok(());
                        }
                    }
                }
                if self.share_oauth {
                    mark_tokens_synced(&mut doc);
                }
                wrote = doc != *file_doc;
                *file_doc = doc;
                return Ok(());
            }
            Err(StoreError::Unavailable { backend: self.link.shown.clone(), message: too_busy() })
        })?;
        Ok(Committed { wrote })
    }
}

/// `f` on auth.json alone (the server is out of reach): its shared changes are marked pending.
/// Whether it changed the document.
fn alone(file_doc: &mut AuthDoc, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> bool {
    let before = file_doc.clone();
    if !f(file_doc) {
        *file_doc = before;
        return false;
    }
    file_doc.prune_new_empties(&before);
    mark_pending(&before, file_doc, &HashSet::new());
    *file_doc != before
}

/// After the fleet and this file agree on a shared login's tokens: remember which refresh token
/// that was (see [`FLEET_RT`]).
fn mark_tokens_synced(doc: &mut AuthDoc) {
    for pool in doc.pool_keys() {
        for item in doc.pool_mut(&pool).iter_mut() {
            let Value::Object(m) = item else { continue };
            if !is_oauth(m) {
                continue;
            }
            let Some(rt) = m.get(entry::REFRESH_TOKEN).and_then(Value::as_str).map(fingerprint) else { continue };
            if m.get(FLEET_RT).and_then(Value::as_str) != Some(rt.as_str()) {
                m.insert(FLEET_RT.into(), Value::String(rt));
            }
        }
    }
}

fn bad_shape() -> String {
    "the server's answer to a hermes script has an unexpected shape".to_string()
}

/// The `TIME` pair at the head of a script's answer, as epoch seconds.
fn server_time(it: &mut impl Iterator<Item = redis::Value>) -> Result<Epoch, String> {
    let mut part = || -> Result<f64, String> {
        it.next()
            .and_then(|v| redis::from_redis_value::<String>(&v).ok())
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad_shape)
    };
    let sec = part()?;
    let usec = part()?;
    Ok(sec + usec / 1e6)
}

/// One pool's hash, as the scripts answer it (a JSON array `[field, value, ...]`).
fn pool_snap(v: &redis::Value) -> Result<PoolSnap, String> {
    let text: String = redis::from_redis_value(v).map_err(|_| bad_shape())?;
    let flat: Vec<String> = serde_json::from_str(&text).map_err(|_| bad_shape())?;
    let mut entries: HashMap<String, Vec<(String, Option<Value>)>> = HashMap::new();
    let (mut version, mut epoch) = (0, String::new());
    let mut it = flat.into_iter();
    while let (Some(k), Some(text)) = (it.next(), it.next()) {
        if k == "v" {
            version = text.parse().unwrap_or(0);
            continue;
        }
        if k == "e" {
            epoch = text;
            continue;
        }
        let Some((fid, field)) = k.split_once('|') else { continue };
        let fields = entries.entry(fid.to_string()).or_default();
        if field != "seen" {
            fields.push((field.to_string(), serde_json::from_str(&text).ok()));
        }
    }
    Ok(PoolSnap { version, epoch, entries })
}

fn too_busy() -> String {
    format!("gave up after {MAX_ATTEMPTS} conflicting attempts (the pool is changing faster than it can be read)")
}

/// After a few conflicts, wait a little (up to 2 ms) so that contenders stop colliding.
fn backoff(attempt: u32) {
    if attempt >= 2 {
        let micros = rand::random::<u64>() % (200 * u64::from(attempt.min(10)));
        std::thread::sleep(Duration::from_micros(micros));
    }
}

/// Whether the degraded-mode warning is due for `home`: a stamp file keeps it to one a minute
/// across the processes of one home.
fn warn_due(home: &Path) -> bool {
    let stamp = home.join("locks").join("fleet-warning");
    let recent = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < WARN_EVERY);
    if recent {
        return false;
    }
    let _ = std::fs::create_dir_all(stamp.parent().unwrap_or(home));
    let _ = std::fs::write(&stamp, b"");
    true
}

impl PoolState for FleetState {
    fn read(&self) -> Result<AuthDoc, StoreError> {
        let mut doc = Arc::unwrap_or_clone(self.file_doc()?);
        let now = self.clock.now();
        match self.fetch(&doc) {
            Ok(snap) => {
                if overlay(&mut doc, &snap, self.share_oauth).file_dirty {
                    // Tokens another machine rotated (or a merge to clear) go to auth.json now:
                    // a file holding a spent refresh token would revoke the login the next time
                    // this machine works without the server.
                    self.transact(now, &mut |_| true)?;
                }
            }
            Err(why) => self.unreachable(why)?,
        }
        Ok(doc)
    }

    fn transact(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        // Starts from the pools as last seen: a commit checks the versions, so a pick or an
        // outcome on a pool nobody else touched is one round trip. An answer that writes
        // nothing ("nothing usable", an outcome that changes nothing) is only trusted on pools
        // read in this transaction.
        let _turn = self.serial.lock().unwrap_or_else(|p| p.into_inner());
        let mut must_read = false;
        for attempt in 0..MAX_ATTEMPTS {
            let file_doc = self.file_doc()?;
            let cached = if must_read { None } else { self.cached(&file_doc) };
            let mut snap = match cached {
                Some(s) => s,
                None => match self.fetch(&file_doc) {
                    Ok(s) => s,
                    Err(why) => {
                        self.unreachable(why)?;
                        return self.transact_local(now, f);
                    }
                },
            };
            // What the last commit left, if it was made from this file and these pools (it then
            // holds nothing to merge); else the server's values laid over the file.
            let kept_doc = self.overlaid.lock().unwrap_or_else(|p| p.into_inner()).take();
            let (mut doc, force, offset, saved) = match kept_doc {
                Some(o) if o.fits(&file_doc, &snap) => (o.doc, HashSet::new(), o.offset, o.saved),
                _ => {
                    let mut doc = (*file_doc).clone();
                    let over = overlay(&mut doc, &snap, self.share_oauth);
                    if over.file_dirty {
                        return self.transact_locked(now, f);
                    }
                    (doc, over.force, snap.offset(), Vec::new())
                }
            };
            // The closure edits the document in place. Each pool it is handed is saved first:
            // that is all the comparisons below need of the state before it, and what puts the
            // document back if nothing is committed (no copy of the whole store per pick). The
            // pools the last commit left copies of are not copied again.
            doc.watch_pools_saving_from(saved);
            let kept = f(&mut doc);
            if doc.touched_pools().is_none() {
                // Handed out whole: nothing saved to compare with; again under the file's lock.
                return self.transact_locked(now, f);
            }
            if kept {
                doc.prune_new_empties(&file_doc);
                // Without a file change the overlay only touched shared fields: the file's
                // document stands in for "before" in every comparison but those.
                if local_changed(&file_doc, &doc) {
                    return self.transact_locked(now, f);
                }
            }
            let plan = if kept {
                let before = |p: &str| doc.pool_before(p).unwrap_or_default();
                plan(&snap, &before, &doc, &force, now, self.share_oauth)
            } else {
                Plan::default()
            };
            if plan.pools.is_empty() {
                // Nothing to commit: the document as it was before the closure is the file with
                // these pools laid over, for the next transaction (or the next turn of this one,
                // if the read finds the pools unchanged).
                // A closure that gave up may have left edits outside the pools (those are not
                // saved): then the document is not kept.
                doc.restore_saved();
                doc.prune_new_empties(&file_doc);
                if !outside_pools_differ(&file_doc, &doc) {
                    let generation = snap.generation;
                    let pools = snap.pools.clone();
                    let kept = Overlaid { file: file_doc, generation, pools, offset, doc, saved: Vec::new() };
                    *self.overlaid.lock().unwrap_or_else(|p| p.into_inner()) = Some(kept);
                }
                if snap.fresh {
                    return Ok(Committed { wrote: false });
                }
                // A read of the versions (the pools themselves only if they moved) and again.
                must_read = true;
                continue;
            }
            match self.commit(&plan, &mut snap) {
                Ok(Some(pools)) => {
                    if !pools.is_empty() && !plan.shared_ids {
                        // The copies saved before the closure, brought level with what it left.
                        let saved = doc.take_saved_level();
                        doc.watch_pools();
                        let generation = snap.generation;
                        let next = Overlaid { file: file_doc, generation, pools, offset, doc, saved };
                        *self.overlaid.lock().unwrap_or_else(|p| p.into_inner()) = Some(next);
                    }
                    return Ok(Committed { wrote: true });
                }
                Ok(None) => backoff(attempt),
                Err(why) => {
                    self.forget_snapshot();
                    self.unreachable(why)?;
                    return self.transact_local(now, f);
                }
            }
        }
        Err(StoreError::Unavailable { backend: self.link.shown.clone(), message: too_busy() })
    }

    fn try_lock_grant(&self, provider: &str, grant: &str) -> Result<Option<GrantGuard>, StoreError> {
        let Some(local) = self.file.try_lock_grant(provider, grant)? else { return Ok(None) };
        if !self.share_oauth {
            return Ok(Some(local));
        }
        let key = format!("{}grant:{provider}:{grant}", self.prefix);
        let fence_key = format!("{}fence", self.prefix);
        let got = self.link.with(|c| {
            let fence: i64 = redis::cmd("INCR").arg(&fence_key).query(c)?;
            let set: Option<String> =
                redis::cmd("SET").arg(&key).arg(fence).arg("NX").arg("PX").arg(GRANT_LOCK_MS).query(c)?;
            Ok((fence, set.is_some()))
        });
        match got {
            Ok((fence, true)) => {
                Ok(Some(GrantGuard::new(SharedGrant { key, fence, link: self.link.clone(), _local: local })))
            }
            Ok((_, false)) => Ok(None),
            Err(why) => {
                self.unreachable(why)?;
                Ok(Some(local))
            }
        }
    }

    fn as_file(&self) -> Option<&Store> {
        Some(&self.file)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn backend(&self) -> BackendStatus {
        let reachable = self.link.with(|c| redis::cmd("PING").query::<String>(c));
        BackendStatus {
            name: "redis",
            location: self.link.shown.clone(),
            reachable: Some(reachable.is_ok()),
            problem: reachable.err(),
            shared: true,
        }
    }
}

/// A fleet-wide refresh lock, released (only if still ours: the fencing token) when dropped.
struct SharedGrant {
    key: String,
    fence: i64,
    link: Arc<Link>,
    _local: GrantGuard,
}

impl Drop for SharedGrant {
    fn drop(&mut self) {
        let script = redis::Script::new(RELEASE_SCRIPT);
        // An unreachable server lets the lock expire on its own.
        let _ = self.link.with(|c| script.key(&self.key).arg(self.fence).invoke::<i64>(c));
    }
}

/// The server's view of the pools, and the two clocks at the instant it was taken.
struct Snapshot {
    server_now: Epoch,
    local_now: Epoch,
    /// The connection it was read over ([`Link::generation`]).
    generation: u64,
    /// Read in this transaction (a kept copy may be behind the server).
    fresh: bool,
    pools: HashMap<String, Arc<PoolSnap>>,
}

impl PoolSnap {
    /// `<epoch>:<version>`, what the scripts compare.
    fn stamp(&self) -> String {
        format!("{}:{}", self.epoch, self.version)
    }
}

impl Snapshot {
    /// This machine's clock minus the server's, as of the answer this was taken from.
    fn offset(&self) -> f64 {
        self.local_now - self.server_now
    }

    fn stale_copy(&self) -> Snapshot {
        Snapshot {
            server_now: self.server_now,
            local_now: self.local_now,
            generation: self.generation,
            fresh: false,
            pools: self.pools.clone(),
        }
    }
}

#[derive(Clone, Default)]
struct PoolSnap {
    version: i64,
    /// When the hash was created (the server's TIME): versions count from there.
    epoch: String,
    /// Fleet id → (field, value) for every `<fleet id>|<field>` of the hash but `seen`, parsed
    /// once when it arrives (`None`: text that is not JSON); an id is here once the fleet has
    /// seen it.
    entries: HashMap<String, Vec<(String, Option<Value>)>>,
}

/// What [`overlay`] found beyond the values it laid over.
struct Overlay {
    /// Entries (pool, fleet id) to commit whether or not the closure changes them: merges of
    /// what was written while the server was out of reach.
    force: HashSet<(String, String)>,
    /// The file must be written even if the closure changes nothing (a merge to clear, adopted
    /// tokens, a fleet id to keep).
    file_dirty: bool,
}

/// The entry's fleet id: kept once set, else the fingerprint of the refresh token of an OAuth
/// login, else of its secret. `None` for an entry without any secret.
pub fn fleet_id(m: &Map<String, Value>) -> Option<String> {
    if let Some(id) = m.get(FLEET_ID).and_then(Value::as_str).filter(|s| !s.is_empty()) {
        return Some(id.to_string());
    }
    let s = |k: &str| m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if is_oauth(m) {
        if let Some(r) = s(entry::REFRESH_TOKEN) {
            return Some(fingerprint(r));
        }
    }
    if let Some(fp) = s(entry::SECRET_FINGERPRINT) {
        return Some(fp.to_string());
    }
    s(entry::ACCESS_TOKEN).or_else(|| s(entry::AGENT_KEY)).map(fingerprint)
}

fn is_oauth(m: &Map<String, Value>) -> bool {
    m.get(entry::AUTH_TYPE).and_then(Value::as_str) == Some(AuthType::OAuth.as_str())
}

/// Whether `field` of entry `m` is shared with the fleet.
fn is_shared(m: &Map<String, Value>, field: &str, share_oauth: bool) -> bool {
    SHARED.contains(&field) || (share_oauth && is_oauth(m) && !LOCAL.contains(&field))
}

fn as_epoch(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// Lay the server's values over `doc` (times moved onto this transaction's clock) and merge
/// entries written while the server was out of reach.
fn overlay(doc: &mut AuthDoc, snap: &Snapshot, share_oauth: bool) -> Overlay {
    let mut out = Overlay { force: HashSet::new(), file_dirty: false };
    for pool in doc.pool_keys() {
        let ps = snap.pools.get(&pool);
        let twins = twins_pending(doc.pool(&pool));
        for item in doc.pool_mut(&pool).iter_mut() {
            let Value::Object(m) = item else { continue };
            let Some(fid) = fleet_id(m) else { continue };
            let pending = m.shift_remove(FLEET_PENDING);
            if pending.is_some() {
                out.file_dirty = true;
                out.force.insert((pool.clone(), fid.clone()));
            }
            if is_oauth(m) && !m.contains_key(FLEET_ID) && m.get(entry::REFRESH_TOKEN).is_some() {
                m.insert(FLEET_ID.into(), Value::String(fid.clone()));
                out.file_dirty = true;
            }
            if share_oauth && is_oauth(m) && !m.contains_key(FLEET_RT) {
                // First seen: the token the file holds now is the baseline.
                if let Some(rt) = m.get(entry::REFRESH_TOKEN).and_then(Value::as_str).map(fingerprint) {
                    m.insert(FLEET_RT.into(), Value::String(rt));
                    out.file_dirty = true;
                }
            }
            let Some(known) = ps.and_then(|ps| ps.entries.get(&fid)) else {
                if let Some(t) = twins.get(&fid) {
                    twin_totals(m, t);
                }
                continue;
            };
            let mut theirs: Vec<(String, Value)> = Vec::with_capacity(known.len() + SHARED.len());
            for (field, value) in known {
                if !is_shared(m, field, share_oauth) {
                    continue;
                }
                let Some(mut v) = value.clone() else { continue };
                if TIMES.contains(&field.as_str()) {
                    if let Some(x) = v.as_f64() {
                        v = Value::from(snap.local_now + (x - snap.server_now));
                    }
                }
                theirs.push((field.clone(), v));
            }
            // Absent on the server: a shared field the fleet cleared.
            for field in SHARED {
                if !known.iter().any(|(f, _)| f == field) {
                    theirs.push((field.to_string(), Value::Null));
                }
            }
            // A shared login whose tokens changed in auth.json since they were last synced
            // (rotated while the server was away, or by hermes-agent): the file's tokens are the
            // live ones and go to the fleet; the server's are spent.
            let mut theirs = theirs;
            if share_oauth && is_oauth(m) {
                let file_rt = m.get(entry::REFRESH_TOKEN).and_then(Value::as_str).map(fingerprint);
                let synced = m.get(FLEET_RT).and_then(Value::as_str).map(str::to_string);
                if synced.is_some() && synced != file_rt {
                    theirs.retain(|(f, _)| SHARED.contains(&f.as_str()));
                    out.force.insert((pool.clone(), fid.clone()));
                    out.file_dirty = true;
                }
            }
            // Twins (entries holding one key) share one count and one usage on the server: each
            // adds what all of them served while the server was away.
            let mine = pending.is_some();
            match twins.get(&fid).cloned().or(pending) {
                None => {
                    for (field, v) in theirs {
                        if !SHARED.contains(&field.as_str()) && m.get(&field) != Some(&v) {
                            out.file_dirty = true;
                        }
                        entry::set(m, &field, v);
                    }
                }
                Some(p) => {
                    // Counts add up; the later status wins; the order is the fleet's.
                    let requests = p.get("requests").and_then(Value::as_i64).unwrap_or(0);
                    let get = |k: &str| theirs.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
                    // Twins weigh the latest status any of them set while away.
                    let chosen = p.get("status").and_then(Value::as_object);
                    let (mine_until, mine_at) = status_times(chosen.unwrap_or(m));
                    let theirs_at = as_epoch(get(entry::LAST_STATUS_AT).as_ref());
                    let theirs_until = as_epoch(get(entry::LAST_ERROR_RESET_AT).as_ref());
                    let keep_mine =
                        (mine || chosen.is_some()) && later((mine_until, mine_at), (theirs_until, theirs_at));
                    let fleet_count = get(entry::REQUEST_COUNT).and_then(|v| v.as_i64()).unwrap_or(0);
                    for (field, v) in theirs {
                        let status =
                            entry::STATUS_FIELDS.contains(&field.as_str()) || field == entry::RATE_LIMIT_STREAK;
                        if (status && keep_mine) || field == entry::REQUEST_COUNT {
                            continue;
                        }
                        entry::set(m, &field, v);
                    }
                    if let Some(st) = chosen.filter(|_| keep_mine) {
                        for f in entry::STATUS_FIELDS.into_iter().chain([entry::RATE_LIMIT_STREAK]) {
                            entry::set(m, f, st.get(f).cloned().unwrap_or(Value::Null));
                        }
                    }
                    entry::set(m, entry::REQUEST_COUNT, Value::from(fleet_count.saturating_add(requests)));
                    // Usage served while away is added to the fleet's, day by day.
                    if let Some(gained) = p.get("usage").and_then(Value::as_object) {
                        let all =
                            m.entry(crate::pool::usage::FIELD.to_string()).or_insert_with(|| serde_json::json!({}));
                        for (d, by) in gained {
                            for k in ["requests", "input", "output"] {
                                let add = by.get(k).and_then(Value::as_i64).unwrap_or(0);
                                if add > 0 {
                                    usage_update(all, d, k, |was| was.saturating_add(add));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// An entry's bench deadline and status time.
fn status_times(m: &Map<String, Value>) -> (Option<f64>, Option<f64>) {
    (as_epoch(m.get(entry::LAST_ERROR_RESET_AT)), as_epoch(m.get(entry::LAST_STATUS_AT)))
}

/// Whether status `a` (deadline, time) wins over `b` in a merge: both benched, the later
/// deadline (a longer bench is the stronger evidence); otherwise the later status.
fn later(a: (Option<f64>, Option<f64>), b: (Option<f64>, Option<f64>)) -> bool {
    match (a, b) {
        ((Some(a), _), (Some(b), _)) => a > b,
        ((_, Some(a)), (_, Some(b))) => a > b,
        ((_, Some(_)), (_, None)) => true,
        _ => false,
    }
}

/// The `[day, field, n]` of a `usage` object (`{day: {requests, input, output}}`).
fn usage_counts(u: Option<&Value>) -> Vec<(String, &'static str, i64)> {
    let mut out = Vec::new();
    for (d, by) in u.and_then(Value::as_object).into_iter().flatten() {
        for k in ["requests", "input", "output"] {
            let n = by.get(k).and_then(Value::as_i64).unwrap_or(0);
            if n != 0 {
                out.push((d.clone(), k, n));
            }
        }
    }
    out
}

/// `f(old)` into `u[day][field]` (`u` a `usage` object; what is missing or not an object, as
/// another tool or a damaged server may leave it, is made one).
fn usage_update(u: &mut Value, day: &str, field: &str, f: impl FnOnce(i64) -> i64) {
    if !u.is_object() {
        *u = serde_json::json!({});
    }
    let by = &mut u[day];
    if !by.is_object() {
        *by = serde_json::json!({});
    }
    let slot = &mut by[field];
    *slot = Value::from(f(slot.as_i64().unwrap_or(0)));
}

/// For each fleet id two or more entries of a pool hold (the same key added twice), one of which
/// at least has changes made while the server was out of reach: what they served meanwhile,
/// added up (`{"requests": n, "usage": {day: {requests, input, output}}}`, as `fleet_pending`),
/// the latest status one of them set meanwhile (`status`), and what they held before it
/// (`base`, `base_usage`: the most any of them held without its own pending changes).
fn twins_pending(items: &[Value]) -> HashMap<String, Value> {
    let mut held: HashMap<String, (usize, bool, Value)> = HashMap::new();
    for m in items.iter().filter_map(Value::as_object) {
        let Some(fid) = fleet_id(m) else { continue };
        let (n, any, sum) = held.entry(fid).or_insert_with(|| {
            (0, false, serde_json::json!({"requests": 0, "usage": {}, "base": 0, "base_usage": {}}))
        });
        *n += 1;
        let p = m.get(FLEET_PENDING);
        *any |= p.is_some();
        let held_times = sum.get("status").and_then(Value::as_object).map(status_times);
        if p.is_some() && held_times.is_none_or(|h| later(status_times(m), h)) {
            let fields = entry::STATUS_FIELDS.into_iter().chain([entry::RATE_LIMIT_STREAK]);
            let st: Map<String, Value> = fields.filter_map(|f| Some((f.to_string(), m.get(f)?.clone()))).collect();
            sum["status"] = Value::Object(st);
        }
        let requests = p.and_then(|p| p.get("requests")).and_then(Value::as_i64).unwrap_or(0);
        let count = m.get(entry::REQUEST_COUNT).and_then(Value::as_i64).unwrap_or(0);
        sum["requests"] = Value::from(sum["requests"].as_i64().unwrap_or(0).saturating_add(requests));
        sum["base"] = Value::from(sum["base"].as_i64().unwrap_or(0).max(count.saturating_sub(requests)));
        let gained = usage_counts(p.and_then(|p| p.get("usage")));
        for (d, k, add) in gained.iter().filter(|(_, _, n)| *n > 0) {
            usage_update(&mut sum["usage"], d, k, |was| was.saturating_add(*add));
        }
        for (d, k, n) in usage_counts(m.get(crate::pool::usage::FIELD)) {
            let own = gained.iter().find(|(gd, gk, _)| *gd == d && *gk == k).map_or(0, |g| g.2);
            usage_update(&mut sum["base_usage"], &d, k, |was| was.max(n.saturating_sub(own)));
        }
    }
    held.into_iter().filter(|(_, (n, any, _))| *n > 1 && *any).map(|(fid, (_, _, sum))| (fid, sum)).collect()
}

/// Twins the server does not know (new to it, or it lost its data): each goes to it with what
/// they held before the server went away plus what all of them served meanwhile.
fn twin_totals(m: &mut Map<String, Value>, t: &Value) {
    let requests = t["base"].as_i64().unwrap_or(0).saturating_add(t["requests"].as_i64().unwrap_or(0));
    entry::set(m, entry::REQUEST_COUNT, Value::from(requests));
    let mut usage = t["base_usage"].clone();
    for (d, k, add) in usage_counts(t.get("usage")) {
        usage_update(&mut usage, &d, k, |was| was.saturating_add(add));
    }
    if usage.as_object().is_some_and(|u| !u.is_empty()) {
        m.insert(crate::pool::usage::FIELD.into(), usage);
    }
}

/// An OAuth login whose refresh token changed keeps the fleet id it had, so the fleet still
/// finds it under the same name.
fn keep_fleet_ids(before: &AuthDoc, after: &mut AuthDoc) {
    for pool in after.pool_keys() {
        let old: HashMap<String, String> = before
            .pool(&pool)
            .iter()
            .filter_map(|v| v.as_object())
            .filter_map(|m| Some((m.get(entry::ID)?.as_str()?.to_string(), fleet_id(m)?)))
            .collect();
        for item in after.pool_mut(&pool).iter_mut() {
            let Value::Object(m) = item else { continue };
            if !is_oauth(m) || m.contains_key(FLEET_ID) {
                continue;
            }
            let Some(id) = m.get(entry::ID).and_then(Value::as_str) else { continue };
            if let Some(fid) = old.get(id) {
                if fleet_id(m).as_ref() != Some(fid) {
                    m.insert(FLEET_ID.into(), Value::String(fid.clone()));
                }
            }
        }
    }
}

/// Mark the entries whose shared fields `f` changed (and those in `force`) as written while the
/// server was out of reach, adding the requests they served to what is already pending.
fn mark_pending(before: &AuthDoc, after: &mut AuthDoc, force: &HashSet<(String, String)>) {
    for pool in after.pool_keys() {
        let old: HashMap<String, Map<String, Value>> = by_id(before.pool(&pool));
        for item in after.pool_mut(&pool).iter_mut() {
            let Value::Object(m) = item else { continue };
            let Some(id) = m.get(entry::ID).and_then(Value::as_str).map(str::to_string) else { continue };
            let Some(prev) = old.get(&id) else { continue };
            let forced = fleet_id(m).is_some_and(|fid| force.contains(&(pool.clone(), fid)));
            if !forced && SHARED.iter().all(|f| prev.get(*f) == m.get(*f)) {
                continue;
            }
            let count = |x: &Map<String, Value>| x.get(entry::REQUEST_COUNT).and_then(Value::as_i64).unwrap_or(0);
            let pending = m.get(FLEET_PENDING).or_else(|| prev.get(FLEET_PENDING)).cloned().unwrap_or(Value::Null);
            let already = pending.get("requests").and_then(Value::as_i64).unwrap_or(0);
            let served = count(m).saturating_sub(count(prev)).max(0);
            // What the entry's usage gained, per day, added to what is already pending.
            let mut usage =
                pending.get("usage").cloned().filter(Value::is_object).unwrap_or_else(|| serde_json::json!({}));
            let day = |x: &Map<String, Value>, d: &str, k: &str| {
                x.get(crate::pool::usage::FIELD)
                    .and_then(|u| u.get(d))
                    .and_then(|v| v.get(k))
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            };
            let days: Vec<String> = m
                .get(crate::pool::usage::FIELD)
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for d in days {
                for k in ["requests", "input", "output"] {
                    let gained = day(m, &d, k).saturating_sub(day(prev, &d, k)).max(0);
                    if gained > 0 {
                        usage_update(&mut usage, &d, k, |was| was.saturating_add(gained));
                    }
                }
            }
            m.insert(
                FLEET_PENDING.into(),
                serde_json::json!({ "requests": already.saturating_add(served), "usage": usage }),
            );
        }
    }
}

fn by_id(items: &[Value]) -> HashMap<String, Map<String, Value>> {
    items
        .iter()
        .filter_map(|v| v.as_object())
        .filter_map(|m| Some((m.get(entry::ID)?.as_str()?.to_string(), m.clone())))
        .collect()
}

/// Whether anything besides the shared fields changed (then auth.json must be written). Only
/// the pools `after` was handed out since it was watched are compared.
fn local_changed(before: &AuthDoc, after: &AuthDoc) -> bool {
    if outside_pools_differ(before, after) {
        return true;
    }
    let (ka, kb) = (before.pool_keys(), after.pool_keys());
    if ka != kb {
        return true;
    }
    let touched = after.touched_pools();
    ka.iter().filter(|p| touched.is_none_or(|t| t.contains(p))).any(|p| {
        let (x, y) = (before.pool(p), after.pool(p));
        x.len() != y.len() || x.iter().zip(y).any(|(x, y)| !same_but_shared(x, y))
    })
}

/// Whether anything outside `credential_pool` differs.
fn outside_pools_differ(before: &AuthDoc, after: &AuthDoc) -> bool {
    let (a, b) = (before.root(), after.root());
    let pools = crate::model::doc::CREDENTIAL_POOL;
    a.len() != b.len() || a.iter().any(|(k, v)| k != pools && b.get(k) != Some(v))
}

/// Two entries equal in every field but the shared ones (key order included, as written).
fn same_but_shared(x: &Value, y: &Value) -> bool {
    let (Some(x), Some(y)) = (x.as_object(), y.as_object()) else { return x == y };
    let local = |(k, _): &(&String, &Value)| !SHARED.contains(&k.as_str());
    let (mut xi, mut yi) = (x.iter().filter(local), y.iter().filter(local));
    loop {
        match (xi.next(), yi.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => continue,
            _ => return false,
        }
    }
}

/// The writes of one pool: the stamp they expect and the fields they set or delete.
#[derive(Default)]
struct PoolWrite {
    stamp: String,
    set: Map<String, Value>,
    rel: Map<String, Value>,
    del: Vec<String>,
}

impl PoolWrite {
    /// What the commit script does to the hash, done to a copy of it.
    fn apply(&self, ps: &mut PoolSnap, epoch: String, server_now: Epoch) {
        ps.version += 1;
        ps.epoch = epoch;
        let mut put = |key: &str, text: Option<String>| {
            let Some((fid, field)) = key.split_once('|') else { return };
            let fields = ps.entries.entry(fid.to_string()).or_default();
            fields.retain(|(f, _)| f != field);
            if let Some(t) = text.filter(|_| field != "seen") {
                fields.push((field.to_string(), serde_json::from_str(&t).ok()));
            }
        };
        for (k, v) in &self.set {
            put(k, v.as_str().map(str::to_string));
        }
        for (k, rel) in &self.rel {
            put(k, Some(format!("{:.6}", server_now + rel.as_f64().unwrap_or(0.0))));
        }
        for k in &self.del {
            put(k, None);
        }
    }

    /// The pool's part of the commit script's arguments (after the stamps).
    fn args(&self, inv: &mut redis::ScriptInvocation<'_>) {
        inv.arg(self.set.len());
        for (k, v) in &self.set {
            inv.arg(k).arg(v.as_str().unwrap_or_default());
        }
        inv.arg(self.rel.len());
        for (k, rel) in &self.rel {
            inv.arg(k).arg(rel.as_f64().unwrap_or(0.0));
        }
        inv.arg(self.del.len());
        for k in &self.del {
            inv.arg(k);
        }
    }
}

#[derive(Default)]
struct Plan {
    pools: Vec<(String, PoolWrite)>,
    /// Two entries of one pool share a fleet id (the same key added twice): what the server
    /// holds for one is the other's too, so the document after the commit is not what laying
    /// the server's values over the file would give, and is not kept for the next transaction.
    shared_ids: bool,
}

/// What to send the server: for every entry whose shared fields the closure changed (or that
/// must be merged), all of its shared fields. Entries the closure created are left to the
/// fleet's values (adding a key on one machine does not reset it for the others).
fn plan<'d>(
    snap: &Snapshot,
    before: &dyn Fn(&str) -> &'d [Value],
    after: &AuthDoc,
    force: &HashSet<(String, String)>,
    now: Epoch,
    share_oauth: bool,
) -> Plan {
    let mut pools = Vec::new();
    let mut shared_ids = false;
    // Pools the closure was not handed (if `after` was watched) hold what `before` holds.
    let touched = after.touched_pools();
    for pool in after.pool_keys() {
        if touched.is_some_and(|t| !t.contains(&pool)) {
            continue;
        }
        let items = after.pool(&pool);
        let fids: Vec<Option<String>> = items.iter().map(|v| v.as_object().and_then(fleet_id)).collect();
        // Two entries holding one key (one fleet id) in this pool.
        let twins = if fids.len() <= 16 {
            fids.iter().enumerate().any(|(i, a)| a.is_some() && fids[..i].contains(a))
        } else {
            let mut ids = HashSet::new();
            !fids.iter().flatten().all(|f| ids.insert(f.as_str()))
        };
        shared_ids |= twins;
        // Each entry's state before: at the same place when the pool kept its length (a pick, an
        // outcome); else found by id (an entry added or removed may have shifted the others,
        // and an id may be held twice).
        let old_items = before(&pool);
        let same_length = old_items.len() == items.len();
        let mut by_id: Option<HashMap<&str, &Map<String, Value>>> = None;
        let stamp = snap.pools.get(&pool).map_or_else(|| ":0".to_string(), |p| p.stamp());
        let mut w = PoolWrite { stamp, ..PoolWrite::default() };
        let mut touched = false;
        // Of twins, the fields written so far: the one whose field changed wins over its
        // sibling's old value.
        let mut written: HashSet<String> = HashSet::new();
        for (i, (item, fid)) in items.iter().zip(fids).enumerate() {
            let (Some(m), Some(fid)) = (item.as_object(), fid) else { continue };
            let Some(id) = m.get(entry::ID).and_then(Value::as_str) else { continue };
            let same_place = old_items
                .get(i)
                .filter(|_| same_length)
                .and_then(Value::as_object)
                .filter(|p| p.get(entry::ID) == m.get(entry::ID));
            let prev = match same_place {
                Some(p) => p,
                None => {
                    let by_id = by_id.get_or_insert_with(|| {
                        old_items
                            .iter()
                            .filter_map(|v| v.as_object())
                            .filter_map(|m| Some((m.get(entry::ID)?.as_str()?, m)))
                            .collect()
                    });
                    let Some(p) = by_id.get(id) else { continue };
                    p
                }
            };
            let fields: Vec<&str> = if share_oauth && is_oauth(m) {
                let all: HashSet<&str> =
                    m.keys().chain(prev.keys()).map(String::as_str).filter(|f| is_shared(m, f, share_oauth)).collect();
                all.into_iter().collect()
            } else {
                SHARED.into_iter().filter(|f| m.contains_key(*f) || prev.contains_key(*f)).collect()
            };
            let changed = fields.iter().any(|f| prev.get(*f) != m.get(*f));
            let forced = !force.is_empty() && force.contains(&(pool.clone(), fid.clone()));
            if !changed && !forced {
                continue;
            }
            touched = true;
            // An entry the fleet knows gets the fields that changed; a new one (or a merge) all.
            let known = snap.pools.get(&pool).is_some_and(|p| p.entries.contains_key(&fid));
            let full = forced || !known;
            if full {
                w.set.insert(format!("{fid}|seen"), Value::String("1".into()));
            }
            for f in fields.into_iter().chain(if full { SHARED.as_slice() } else { &[] }.iter().copied()) {
                let changed = prev.get(f) != m.get(f);
                if !full && !changed {
                    continue;
                }
                let key = format!("{fid}|{f}");
                // (A key met twice in one entry, as a full entry lists its fields twice, is
                // written the same either time.)
                if twins && !written.insert(key.clone()) {
                    if !changed {
                        continue;
                    }
                    w.set.shift_remove(&key);
                    w.rel.shift_remove(&key);
                    w.del.retain(|k| *k != key);
                }
                match m.get(f) {
                    // The server holds nothing of an entry it has not seen.
                    None if !known => {}
                    None => w.del.push(key),
                    Some(v) if TIMES.contains(&f) && v.is_number() => {
                        w.rel.insert(key, Value::from(v.as_f64().unwrap_or(now) - now));
                    }
                    Some(v) => {
                        w.set.insert(key, Value::String(v.to_string()));
                    }
                }
            }
        }
        if touched {
            w.del.sort();
            w.del.dedup();
            pools.push((pool, w));
        }
    }
    Plan { pools, shared_ids }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn damaged_usage_and_extreme_counts_merge_without_a_panic() {
        let mut u = json!({"2026-12-06": 5, "2026-12-05": {"requests": "x"}});
        usage_update(&mut u, "2026-12-06", "requests", |was| was + 1);
        usage_update(&mut u, "2026-12-05", "requests", |was| was + 2);
        assert_eq!(u, json!({"2026-12-06": {"requests": 1}, "2026-12-05": {"requests": 2}}));
        let twin = |id: &str| {
            json!({"id": id, "access_token": "sk-twin-0123456789", "request_count": i64::MIN,
                "usage": {"2026-12-06": {"requests": i64::MIN}},
                "fleet_pending": {"requests": i64::MAX, "usage": {"2026-12-06": 7}}})
        };
        let twins = twins_pending(&[twin("a"), twin("b")]);
        let mut m = twin("a").as_object().unwrap().clone();
        twin_totals(&mut m, twins.values().next().unwrap());
        assert!(m["request_count"].is_i64());
    }

    #[test]
    fn a_plan_finds_an_entrys_state_before_by_id_when_the_pool_changed_length() {
        // Two entries share an id; the closure removed the first and counted a pick on the
        // second: compared with its own state before, not with the one that was at its place.
        let a = json!({"id": "a", "access_token": "sk-first-0123456789", "request_count": 2});
        let b = |n: i64| json!({"id": "a", "access_token": "sk-second-0123456789", "request_count": n});
        let doc = |items: Vec<Value>| {
            let mut d = AuthDoc::new_document();
            *d.pool_mut("openrouter") = items;
            d
        };
        let before = doc(vec![a.clone(), b(1)]);
        let after = doc(vec![b(2)]);
        let fid = |v: &Value| fleet_id(v.as_object().unwrap()).unwrap();
        let known = |v: &Value| (fid(v), vec![("request_count".to_string(), Some(json!(1)))]);
        let ps = PoolSnap { version: 1, epoch: "1.0".into(), entries: [known(&a), known(&b(1))].into_iter().collect() };
        let snap = Snapshot {
            server_now: 0.0,
            local_now: 0.0,
            generation: 0,
            fresh: true,
            pools: [("openrouter".to_string(), Arc::new(ps))].into_iter().collect(),
        };
        let plan = plan(&snap, &|p: &str| before.pool(p), &after, &HashSet::new(), 0.0, false);
        let (pool, w) = &plan.pools[0];
        assert_eq!(pool, "openrouter");
        assert_eq!(w.set.get(&format!("{}|request_count", fid(&b(2)))), Some(&json!("2")));
    }

    #[test]
    fn twins_get_what_they_held_before_plus_all_they_served_while_away() {
        let twin = |id: &str, count: i64, used: i64, served: i64| {
            json!({"id": id, "access_token": "sk-twin-0123456789", "request_count": count,
                "usage": {"2026-12-06": {"requests": used, "input": 10 * used}},
                "fleet_pending": {"requests": served, "usage": {"2026-12-06": {"requests": served, "input": 10 * served}}}})
        };
        let lone = json!({"id": "c", "access_token": "sk-lone-0123456789", "request_count": 9,
            "fleet_pending": {"requests": 9}});
        // "a" held 3 before and served 2 while away, "b" held 3 and served 1.
        let items = vec![twin("a", 5, 5, 2), twin("b", 4, 4, 1), lone];
        let twins = twins_pending(&items);
        assert_eq!(twins.len(), 1, "a key held once is not a twin");
        let t = twins.values().next().unwrap();
        assert_eq!((t["requests"].as_i64(), t["base"].as_i64()), (Some(3), Some(3)));
        for item in &items[..2] {
            let mut m = item.as_object().unwrap().clone();
            twin_totals(&mut m, t);
            assert_eq!(m["request_count"], 6);
            assert_eq!(m["usage"]["2026-12-06"], json!({"requests": 6, "input": 60}));
        }
    }
}
