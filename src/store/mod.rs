//! auth.json: the only code that opens the store. Reads are lock-free snapshots; every
//! mutation is [`Store::update`]: lock, fresh read, apply, atomic write (docs/design.md#write-protocol).
//!
//! What this module promises:
//! * Only a missing file is an empty store. A file that cannot be read or does not validate is
//!   an error naming it, and nothing ever writes over it (only [`Store::repair_force`] moves it
//!   aside, on request).
//! * No update is lost between processes: every mutation is applied to a copy read under the
//!   exclusive lock, and the file is replaced by rename, so readers see the old or the new file.
//! * Nothing is written when nothing changed, and nothing is created until something is written.
//! * Modes are never changed on a read, and never on a directory hermes did not create: a new
//!   auth.json is written 0600 (the rename replaces the file), a new home is created 0700, and
//!   loose modes found on anything else are reported by [`Store::mode_warnings`], not chmodded.

pub mod behind;
pub mod events;
pub mod fleet;
pub mod lock;
pub mod state;

pub use crate::model::AuthDoc;
pub use lock::{LockError, LockFile, LockGuard, TryAcquire};

use crate::context::Epoch;
use crate::files::ReadError;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The store's file name inside the home.
pub const AUTH_FILE: &str = "auth.json";
/// The store lock's file name, next to the (resolved) auth.json.
pub const LOCK_FILE: &str = "auth.lock";
/// The largest auth.json read (a 200-entry store is about 100 KB).
pub const MAX_STORE_BYTES: u64 = 64 * 1024 * 1024;
/// How long a mutation waits for the store lock (docs/design.md#write-protocol).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(15);

/// Errors of the store. Each names the file it is about; none quotes the file's content.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `<file>: <problem>`: the store exists but is not valid.
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    /// `<file>: <message>`: the store (or its lock, or its directory) exists but could not be
    /// read or written.
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    /// The store lock stayed busy for the whole timeout.
    #[error("timed out after {secs}s waiting for lock {} (held by another hermes or hermes-agent process)", lock.display())]
    LockTimeout { lock: PathBuf, secs: u64 },
    /// `<server>: <why>`: the shared state server could not be used (`state.on_unavailable:
    /// fail`, or a transaction that kept conflicting).
    #[error("{backend}: {message}")]
    Unavailable { backend: String, message: String },
}

/// The credential store in a hermes home.
#[derive(Debug, Clone)]
pub struct Store {
    home: PathBuf,
    user_home: Option<PathBuf>,
    lock_timeout: Duration,
}

impl Store {
    /// The store in `home` (`$HERMES_HOME` or `~/.hermes`). Nothing is touched until used.
    pub fn new(home: impl Into<PathBuf>) -> Store {
        Store { home: home.into(), user_home: None, lock_timeout: DEFAULT_LOCK_TIMEOUT }
    }

    /// The user's home directory: when the hermes home is that directory, its mode is left alone.
    pub fn with_user_home(mut self, user_home: Option<PathBuf>) -> Store {
        self.user_home = user_home;
        self
    }

    /// How long [`Store::update`] and [`Store::repair_force`] wait for the lock (default 15 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Store {
        self.lock_timeout = timeout;
        self
    }

    /// The hermes home.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// `<home>/auth.json`, as configured (not resolved through a symlink).
    pub fn path(&self) -> PathBuf {
        self.home.join(AUTH_FILE)
    }

    /// Snapshot read, no lock, changes nothing (not even a mode).
    ///
    /// A missing auth.json is [`AuthDoc::empty`] and creates nothing. Anything else that cannot
    /// be read or validated is an error.
    pub fn read(&self) -> Result<AuthDoc, StoreError> {
        Ok(self.load(&self.path())?.unwrap_or_else(AuthDoc::empty))
    }

    /// Validate the store without writing anything (`auth repair`). A missing store is fine.
    pub fn check(&self) -> Result<(), StoreError> {
        self.read().map(|_| ())
    }

    /// One transaction: lock, fresh read, apply `f`, write atomically if the document changed.
    ///
    /// `f` edits the document read under the lock (a missing store starts as
    /// [`AuthDoc::new_document`]) and returns what it did; callers build their messages from
    /// that. If `f` fails, or leaves the document equal to what was read, nothing is written.
    /// Empty pools or provider states that `f` created through an accessor but left empty are
    /// dropped before that comparison.
    ///
    /// `f` is `FnMut` because it may run twice: on a machine without a hermes home it first runs
    /// on an unlocked empty document to learn whether there is anything to write at all, so a
    /// no-op creates no directory and no lock file; if there is, the home is created and `f`
    /// runs again on the document read under the lock, whose result is the one returned. `f`
    /// must therefore only edit the document and compute its result.
    ///
    /// Before writing, borrowed entries go through the disk filter (docs/design.md#owned-and-borrowed), `version` becomes 1
    /// and `updated_at` is stamped with `now`. A symlinked auth.json is resolved: the lock, the
    /// temp file and the rename live in the target's directory and the link survives. A link
    /// into a directory that does not exist is an error; the directory is not created.
    pub fn update<T, E: From<StoreError>>(
        &self,
        now: Epoch,
        mut f: impl FnMut(&mut AuthDoc) -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.home_exists() {
            let fresh = AuthDoc::new_document();
            let mut doc = fresh.clone();
            let out = f(&mut doc)?;
            doc.prune_new_empties(&fresh);
            if doc == fresh {
                return Ok(out);
            }
            self.create_home()?;
        }
        let target = self.resolve()?;
        let guard = self.lock(&target)?;
        let before = self.load(&target)?.unwrap_or_else(AuthDoc::new_document);
        let mut doc = before.clone();
        let out = f(&mut doc)?;
        doc.prune_new_empties(&before);
        if doc == before {
            return Ok(out);
        }
        doc.prepare_write(now);
        // A mutation that broke the shape rules would make the store unreadable for every later
        // command (ours and hermes-agent's); refuse it rather than write it.
        doc.validate().map_err(|problem| StoreError::Invalid {
            path: self.path(),
            problem: format!("refusing to write an invalid store: {problem}"),
        })?;
        // Temp files of writers killed mid-write hold old secrets (a removed key, say): under
        // the lock no live writer of ours has one open, so the dead ones' files go now.
        remove_stale_temps(&target, self.lock_timeout);
        let bytes = doc.serialize().map_err(io::Error::other);
        bytes.and_then(|b| write_atomic(&target, &b)).map_err(|e| StoreError::Io {
            path: self.path(),
            message: format!("cannot write ({e}); the file was left unchanged"),
        })?;
        drop(guard);
        Ok(out)
    }

    /// Remove, under the lock, the temp files that writers killed mid-write left next to
    /// auth.json (`auth.json.tmp.<pid>.<hex>` of a process that is gone, or older than the lock
    /// timeout). Returns what was removed; `auth repair` reports it.
    pub fn clean_temp_files(&self) -> Result<Vec<PathBuf>, StoreError> {
        if !self.home_exists() {
            return Ok(Vec::new());
        }
        let target = self.resolve()?;
        // Take the lock (and so maybe create auth.lock) only when there is something to remove.
        let Ok((dir, name)) = split_target(&target) else { return Ok(Vec::new()) };
        let prefix = format!("{name}.tmp.");
        let any = fs::read_dir(&dir)
            .map(|l| l.flatten().any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix))))
            .unwrap_or(false);
        if !any {
            return Ok(Vec::new());
        }
        let _guard = self.lock(&target)?;
        Ok(remove_stale_temps(&target, self.lock_timeout))
    }

    /// `auth repair --force` (docs/design.md#command-line): under the lock, move an invalid or unreadable store aside
    /// to `auth.json.corrupt-<UTC yyyymmddThhmmssZ>` (then `-2`, `-3`, … if taken) and return
    /// the new path. A valid or missing store is never moved (`Ok(None)`).
    pub fn repair_force(&self, now: Epoch) -> Result<Option<PathBuf>, StoreError> {
        if !self.home_exists() {
            return Ok(None);
        }
        let target = self.resolve()?;
        let _guard = self.lock(&target)?;
        match self.load(&target) {
            Ok(_) => return Ok(None),
            Err(StoreError::Invalid { .. } | StoreError::Io { .. }) => {}
            Err(e) => return Err(e),
        }
        let (dir, name) = split_target(&target).map_err(|e| self.io_err(&target, "cannot move aside", e))?;
        let stem = format!("{name}.corrupt-{}", crate::time::compact_stamp(now));
        let mut moved = dir.join(&stem);
        // Under the lock no other hermes renames here, so check-then-rename cannot race ours.
        let mut n = 1u32;
        while fs::symlink_metadata(&moved).is_ok() {
            n += 1;
            if n > 10_000 {
                let e = io::Error::new(io::ErrorKind::AlreadyExists, format!("too many {stem}-N files"));
                return Err(self.io_err(&target, "cannot move aside", e));
            }
            moved = dir.join(format!("{stem}-{n}"));
        }
        fs::rename(&target, &moved).map_err(|e| self.io_err(&target, "cannot move aside", e))?;
        sync_dir(&dir);
        Ok(Some(moved))
    }

    /// Whether anything exists at the home path. An error other than "not found" counts as
    /// existing, so the real operation reports it instead of a dry run hiding it.
    fn home_exists(&self) -> bool {
        !matches!(fs::symlink_metadata(&self.home), Err(e) if e.kind() == io::ErrorKind::NotFound)
    }

    fn create_home(&self) -> Result<(), StoreError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.home)
            .map_err(|e| self.io_err(&self.home, "cannot create directory", e))
    }

    /// What is looser than it should be, one line each: a home other users may write to, an
    /// auth.json (or its symlink target) other users may read. hermes never chmods what it did
    /// not create (the home may be a shared or sticky directory, the target another tool's
    /// file); it says so and leaves the fix to the user.
    pub fn mode_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(meta) = fs::metadata(&self.home) {
            let mode = meta.permissions().mode() & 0o7777;
            // Group-writable homes are normal where each user has a group of their own (umask
            // 002); only a home anyone may write to is worth a word on every command.
            if meta.is_dir() && mode & 0o002 != 0 && !self.home_is_exempt() {
                let shared = mode & 0o1000 != 0;
                out.push(if shared {
                    format!(
                        "warning: {} is a shared directory (mode {mode:04o}); hermes leaves its mode alone, but other users can create files next to your keys: use a private HERMES_HOME (for example ~/.hermes)",
                        self.home.display()
                    )
                } else {
                    format!(
                        "warning: {} is writable by every user (mode {mode:04o}); hermes leaves it as it is (to fix: chmod o-w {})",
                        self.home.display(),
                        self.home.display()
                    )
                });
            }
        }
        let auth = self.path();
        if let Ok(meta) = fs::metadata(&auth) {
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_file() && mode & 0o077 != 0 {
                out.push(format!(
                    "warning: {} is readable or writable by other users (mode {mode:04o}); it becomes 0600 on hermes's next change (or: chmod 600 {})",
                    auth.display(),
                    auth.display()
                ));
            }
        }
        out
    }

    fn home_is_exempt(&self) -> bool {
        let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let home = canon(&self.home);
        home == Path::new("/") || self.user_home.as_deref().is_some_and(|u| canon(u) == home)
    }

    /// auth.json with symlinks followed (also dangling ones, whose target a write creates).
    /// When a link was followed, the target's directory is canonicalised so the lock path in
    /// messages reads `/real/dir/auth.lock` rather than `home/../real/auth.lock`.
    fn resolve(&self) -> Result<PathBuf, StoreError> {
        let path = self.follow_links()?;
        if path == self.path() {
            return Ok(path);
        }
        Ok(match (path.parent().map(fs::canonicalize), path.file_name()) {
            (Some(Ok(dir)), Some(name)) => dir.join(name),
            _ => path,
        })
    }

    fn follow_links(&self) -> Result<PathBuf, StoreError> {
        let mut path = self.path();
        // 40 is the kernel's own limit on symlink hops.
        for _ in 0..40 {
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let next =
                        fs::read_link(&path).map_err(|e| self.io_err(&self.path(), "cannot follow symlink", e))?;
                    // A relative target is relative to the link's directory; the kernel resolves
                    // any `..` in the joined path when it is used.
                    path = match path.parent() {
                        Some(dir) if next.is_relative() => dir.join(next),
                        _ => next,
                    };
                }
                _ => return Ok(path),
            }
        }
        Err(StoreError::Io { path: self.path(), message: "too many levels of symbolic links".into() })
    }

    /// Take the store lock next to `target`.
    fn lock(&self, target: &Path) -> Result<LockGuard, StoreError> {
        let (dir, _) = split_target(target).map_err(|e| self.io_err(target, "cannot lock", e))?;
        // The home exists by now, but a symlinked auth.json may point into a directory that
        // does not (an unmounted volume): opening the lock would create it, and the write would
        // put the keys there. Refuse instead (docs/design.md#files: hermes creates no other directories).
        if !dir.is_dir() && target != self.path() {
            return Err(StoreError::Io {
                path: self.path(),
                message: format!("is a symlink into {}, which does not exist", dir.display()),
            });
        }
        let path = dir.join(LOCK_FILE);
        let file = LockFile::open(&path).map_err(|e| self.io_err(&path, "cannot open lock file", e))?;
        file.acquire(self.lock_timeout, lock::POLL_INTERVAL).map_err(|e| match e {
            LockError::TimedOut { path, .. } => {
                StoreError::LockTimeout { lock: path, secs: self.lock_timeout.as_secs() }
            }
            LockError::Io { path, source } => self.io_err(&path, "cannot lock", source),
        })
    }

    /// Read and validate `file` (auth.json or its resolved target). `Ok(None)` only when it does
    /// not exist; errors name the configured auth.json path.
    fn load(&self, file: &Path) -> Result<Option<AuthDoc>, StoreError> {
        let shown = self.path();
        // Opened non-blocking and checked on the descriptor: a FIFO never blocks, a device is
        // never read.
        let bytes = match crate::files::read_regular(file, MAX_STORE_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(ReadError::Directory) => {
                return Err(StoreError::Io { path: shown, message: "is a directory, not a file".into() })
            }
            Err(ReadError::NotRegular) => {
                return Err(StoreError::Io { path: shown, message: "is not a regular file".into() })
            }
            Err(ReadError::TooLarge(n)) => {
                return Err(StoreError::Invalid {
                    path: shown,
                    problem: format!("{n} bytes or more; the limit is {MAX_STORE_BYTES}"),
                })
            }
            Err(ReadError::Io(e)) => return Err(self.io_err(&shown, "cannot read", e)),
        };
        AuthDoc::parse(&bytes).map(Some).map_err(|problem| StoreError::Invalid { path: shown, problem })
    }

    fn io_err(&self, path: &Path, what: &str, e: io::Error) -> StoreError {
        StoreError::Io { path: path.to_path_buf(), message: format!("{what}: {e}") }
    }
}

use crate::files::{split_target, sync_dir};

/// Write the new store next to `target` and rename it into place (see
/// [`crate::files::write_atomic`]): mode 0600, the replaced file's owner.
fn write_atomic(target: &Path, bytes: &[u8]) -> io::Result<()> {
    crate::files::write_atomic(target, bytes, 0o600)
}

/// Remove `<target>.tmp.<pid>.<random>` files whose writer is gone (no such process) or that are
/// older than `max_age`. Call only under the store lock. Best effort: a file that cannot be
/// removed stays, and the write goes on.
fn remove_stale_temps(target: &Path, max_age: Duration) -> Vec<PathBuf> {
    let Ok((dir, name)) = split_target(target) else { return Vec::new() };
    let prefix = format!("{name}.tmp.");
    let Ok(listing) = fs::read_dir(&dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for item in listing.flatten() {
        let file_name = item.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some((pid, random)) = rest.split_once('.') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if random.is_empty() || !random.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let Ok(meta) = item.path().symlink_metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let old = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > max_age);
        if (old || !process_alive(pid)) && fs::remove_file(item.path()).is_ok() {
            removed.push(item.path());
        }
    }
    if !removed.is_empty() {
        sync_dir(&dir);
    }
    removed
}

/// Whether a process with this id exists (through `/proc`; where there is none, every writer
/// counts as alive and only age makes its temp file stale).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entry::{self, NewEntry};
    use crate::secret::Secret;
    use serde_json::{json, Value};
    use std::fs::Permissions;
    use std::time::SystemTime;

    const NOW: Epoch = 1751360000.5;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn add_entry(doc: &mut AuthDoc, pool: &str, id: &str, source: &str, token: &str) {
        let token = Secret::new(token);
        let e = NewEntry {
            id,
            label: id,
            auth_type: entry::AuthType::ApiKey,
            priority: doc.pool(pool).len() as i64,
            source,
            access_token: Some(&token),
            refresh_token: None,
            base_url: None,
        };
        doc.pool_mut(pool).push(Value::Object(e.into_map()));
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn snapshot(p: &Path) -> (Vec<u8>, SystemTime) {
        (fs::read(p).unwrap(), fs::metadata(p).unwrap().modified().unwrap())
    }

    fn add(store: &Store, id: &'static str) -> Result<(), StoreError> {
        store.update(NOW, |doc| {
            add_entry(doc, "openrouter", id, "manual", "sk-or-v1-aaaa1111");
            Ok::<_, StoreError>(())
        })
    }

    #[test]
    fn missing_home_reads_empty_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("home"));
        assert_eq!(store.read().unwrap(), AuthDoc::empty());
        store.check().unwrap();
        assert_eq!(store.repair_force(NOW).unwrap(), None);
        // A no-op mutation on a fresh machine: f sees the empty store, nothing is created.
        let n = store.update(NOW, |doc| Ok::<_, StoreError>(doc.pool("openrouter").len())).unwrap();
        assert_eq!(n, 0);
        let touched = store.update(NOW, |doc| {
            doc.pool_mut("openrouter");
            doc.provider_state_mut("nous");
            Ok::<_, StoreError>(())
        });
        touched.unwrap();
        assert!(listing(tmp.path()).is_empty());
    }

    #[test]
    fn first_write_creates_home_0700_and_file_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("a/home");
        let store = Store::new(&home);
        add(&store, "81b6bb").unwrap();
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&home.join("auth.lock")), 0o600);
        assert_eq!(listing(&home), ["auth.json", "auth.lock"]);
        let doc = store.read().unwrap();
        let keys: Vec<&String> = doc.root().keys().collect();
        assert_eq!(keys, ["version", "providers", "credential_pool", "updated_at"]);
        assert_eq!(doc.root()["version"], json!(1));
        assert_eq!(doc.root()["updated_at"], json!("2025-07-01T08:53:20.500000+00:00"));
        assert_eq!(doc.entries("openrouter")[0].id, "81b6bb");
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(text.starts_with("{\n  \"version\": 1,\n  \"providers\": {},\n") && text.ends_with("}\n"));
    }

    #[test]
    fn unchanged_update_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let original = "{\"version\": 1, \"credential_pool\": {\"x\": [{\"id\": \"a\", \"last_status_at\": 1.0e0}]}, \"systems\": {\"nous_portal\": {}}}";
        fs::write(store.path(), original).unwrap();
        let before = snapshot(&store.path());
        std::thread::sleep(Duration::from_millis(20));
        let count = store
            .update(NOW, |doc| {
                let _ = doc.pool_mut("x");
                doc.pool_mut("new");
                Ok::<_, StoreError>(doc.entries("x").len())
            })
            .unwrap();
        assert_eq!(count, 1);
        // A failing mutation writes nothing either.
        let err = store
            .update(NOW, |doc| {
                add_entry(doc, "x", "b", "manual", "k");
                Err::<(), _>(StoreError::Io { path: "x".into(), message: "caller gave up".into() })
            })
            .unwrap_err();
        assert!(err.to_string().contains("caller gave up"));
        assert_eq!(snapshot(&store.path()), before);
        assert_eq!(fs::read_to_string(store.path()).unwrap(), original);
    }

    #[test]
    fn unknown_keys_survive_an_update() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let original = r#"{
  "version": 1,
  "providers": {
    "nous": {"access_token": "t", "agent_key_reused": true, "obtained_at": 1751360000.0}
  },
  "credential_pool": {
    "openrouter": [
      {"id": "81b6bb", "label": "api-key-1", "source": "manual", "access_token": "sk-or-v1-aaaa1111",
       "last_status_at": 1751360000.0, "mystery": {"z": 1, "a": [1.10]}, "request_count": 12}
    ]
  },
  "future_key": [1, 2.50],
  "updated_at": "old"
}"#;
        fs::write(store.path(), original).unwrap();
        store
            .update(NOW, |doc| {
                let m = doc.pool_mut("openrouter")[0].as_object_mut().unwrap();
                entry::set(m, "request_count", json!(13));
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        let doc = store.read().unwrap();
        let keys: Vec<&String> = doc.root().keys().collect();
        assert_eq!(keys, ["version", "providers", "credential_pool", "future_key", "updated_at"]);
        assert_eq!(doc.root()["updated_at"], json!("2025-07-01T08:53:20.500000+00:00"));
        for needle in [
            "\"obtained_at\": 1751360000.0",
            "\"agent_key_reused\": true",
            "\"last_status_at\": 1751360000.0",
            "\"mystery\": {\n          \"z\": 1,\n          \"a\": [\n            1.10\n          ]\n        },",
            "\"request_count\": 13",
            "2.50",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }

    #[test]
    fn loose_modes_are_reported_never_chmodded_by_a_read() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, Permissions::from_mode(0o1777)).unwrap();
        let store = Store::new(&home);
        fs::write(store.path(), "{}").unwrap();
        fs::set_permissions(store.path(), Permissions::from_mode(0o644)).unwrap();
        let before = fs::read(store.path()).unwrap();
        store.read().unwrap();
        assert_eq!(fs::metadata(&home).unwrap().permissions().mode() & 0o7777, 0o1777);
        assert_eq!(mode(&store.path()), 0o644);
        assert_eq!(fs::read(store.path()).unwrap(), before);
        let w = store.mode_warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("mode 1777") && w[0].contains("private HERMES_HOME"), "{w:?}");
        assert!(w[1].contains("mode 0644"), "{w:?}");
        // A write replaces auth.json with a 0600 file; the shared directory keeps its bits.
        add(&store, "a").unwrap();
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(fs::metadata(&home).unwrap().permissions().mode() & 0o7777, 0o1777);
    }

    #[test]
    fn temp_files_of_dead_writers_are_removed_under_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let store = Store::new(&home);
        add(&store, "a").unwrap();
        // pid 0 is never a process; our own pid is alive and its fresh file stays.
        let dead = home.join("auth.json.tmp.0.00aa11bb22cc33dd");
        let live = home.join(format!("auth.json.tmp.{}.00aa11bb22cc33dd", std::process::id()));
        let other = home.join("auth.json.tmp.notours");
        for p in [&dead, &live, &other] {
            fs::write(p, "{\"secret\": \"old\"}").unwrap();
        }
        assert_eq!(store.clean_temp_files().unwrap(), vec![dead.clone()]);
        assert!(!dead.exists() && live.exists() && other.exists());
        // A write removes them too.
        fs::write(&dead, "x").unwrap();
        add(&store, "b").unwrap();
        assert!(!dead.exists());
    }

    #[test]
    fn a_setgid_home_keeps_its_bits() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("me");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, Permissions::from_mode(0o2775)).unwrap();
        let store = Store::new(&home);
        add(&store, "a").unwrap();
        store.read().unwrap();
        assert_eq!(fs::metadata(&home).unwrap().permissions().mode() & 0o7777, 0o2775);
        assert_eq!(mode(&store.path()), 0o600);
        assert!(store.mode_warnings().is_empty(), "a group-writable home is normal with umask 002");
    }

    #[test]
    fn invalid_or_unreadable_stores_are_errors_and_never_written() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty file (0 bytes); expected a JSON object"),
            (b"{not json", "invalid JSON at line 1 column 2"),
            (b"[]", "top level: expected an object, found an array"),
            (br#"{"version": 99}"#, "version: expected 1, found 99"),
            (br#"{"credential_pool": {"openrouter": [5]}}"#, "credential_pool.openrouter[0]: expected an object"),
            (
                br#"{"credential_pool": {"openrouter": [{"id": "a"}]}, "credential_pool": {}}"#,
                "duplicate key \"credential_pool\"",
            ),
            (br#"{"credential_pool": {"x": [{"id": "a", "id": "b"}]}}"#, "duplicate key \"id\" (JSON keeps only"),
            (
                br#"{"credential_pool": {"openrouter": [{"id": "a"}, {"id": "b"}, {"id": "c", "priority": "high"}]}}"#,
                "credential_pool.openrouter[2].priority: expected an integer, found \"high\"",
            ),
        ];
        for (bytes, want) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let store = Store::new(tmp.path()).with_lock_timeout(Duration::from_secs(5));
            fs::write(store.path(), bytes).unwrap();
            for err in [store.read().unwrap_err(), store.check().unwrap_err(), add(&store, "z").unwrap_err()] {
                let text = err.to_string();
                assert!(matches!(err, StoreError::Invalid { .. }), "{text}");
                assert!(text.starts_with(&format!("{}: ", store.path().display())), "{text}");
                assert!(text.contains(want), "{text} lacks {want}");
            }
            assert_eq!(fs::read(store.path()).unwrap(), *bytes);
            assert_eq!(listing(tmp.path()), ["auth.json", "auth.lock"]);
        }
    }

    #[test]
    fn a_directory_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        fs::create_dir(store.path()).unwrap();
        for err in [store.read().unwrap_err(), add(&store, "a").unwrap_err()] {
            assert!(matches!(err, StoreError::Io { .. }));
            assert_eq!(err.to_string(), format!("{}: is a directory, not a file", store.path().display()));
        }
        assert!(store.path().is_dir());
        // An unreadable file is tested end to end (as an unprivileged user when the tests run
        // as root) in tests/it/untrusted.rs.
    }

    #[test]
    fn symlinked_store_updates_target_and_keeps_link() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&home).unwrap();
        fs::create_dir(&elsewhere).unwrap();
        fs::write(elsewhere.join("real.json"), r#"{"version": 1, "keep": true}"#).unwrap();
        std::os::unix::fs::symlink("../elsewhere/real.json", home.join("auth.json")).unwrap();
        let store = Store::new(&home);
        add(&store, "a").unwrap();
        assert!(fs::symlink_metadata(store.path()).unwrap().file_type().is_symlink());
        let doc = AuthDoc::parse(&fs::read(elsewhere.join("real.json")).unwrap()).unwrap();
        assert_eq!(doc.root()["keep"], json!(true));
        assert_eq!(doc.entries("openrouter").len(), 1);
        assert_eq!(listing(&elsewhere), ["auth.lock", "real.json"]);
        assert_eq!(store.read().unwrap(), doc);
        let held = lock::lock(elsewhere.join("auth.lock"), Duration::from_secs(1)).unwrap();
        let err = add(&store.clone().with_lock_timeout(Duration::from_millis(100)), "b").unwrap_err();
        let canonical = fs::canonicalize(&elsewhere).unwrap().join("auth.lock");
        assert!(matches!(err, StoreError::LockTimeout { ref lock, .. } if *lock == canonical), "{err}");
        drop(held);
        // A dangling link: reads see an empty store, a write creates the target.
        fs::remove_file(elsewhere.join("real.json")).unwrap();
        assert_eq!(store.read().unwrap(), AuthDoc::empty());
        add(&store, "c").unwrap();
        assert!(fs::symlink_metadata(store.path()).unwrap().file_type().is_symlink());
        assert_eq!(store.read().unwrap().entries("openrouter").len(), 1);
    }

    #[test]
    fn leftover_temp_file_does_not_matter_and_the_next_write_removes_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        add(&store, "a").unwrap();
        // pid 0 is never a running writer.
        let leftover = tmp.path().join("auth.json.tmp.0.deadbeef");
        fs::write(&leftover, "{\"half\": ").unwrap();
        assert_eq!(store.read().unwrap().entries("openrouter").len(), 1);
        assert_eq!(fs::read(&leftover).unwrap(), b"{\"half\": ", "a read leaves it");
        add(&store, "b").unwrap();
        assert_eq!(store.read().unwrap().entries("openrouter").len(), 2);
        assert_eq!(listing(tmp.path()), ["auth.json", "auth.lock"]);
    }

    #[test]
    fn failed_write_leaves_store_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        add(&store, "a").unwrap();
        let before = fs::read(store.path()).unwrap();
        // A mutation that breaks the shape rules is refused instead of written.
        let err = store
            .update(NOW, |doc| {
                doc.pool_mut("openrouter").push(json!("not an entry"));
                Ok::<_, StoreError>(())
            })
            .unwrap_err();
        assert!(err.to_string().contains("refusing to write"), "{err}");
        assert_eq!(fs::read(store.path()).unwrap(), before);
        assert_eq!(listing(tmp.path()), ["auth.json", "auth.lock"]);
    }

    #[test]
    fn lock_timeout_names_the_lock_and_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path()).with_lock_timeout(Duration::from_millis(200));
        add(&store, "a").unwrap();
        let before = snapshot(&store.path());
        let held = lock::lock(tmp.path().join("auth.lock"), Duration::from_secs(1)).unwrap();
        let err = add(&store, "b").unwrap_err();
        match &err {
            StoreError::LockTimeout { lock, .. } => assert_eq!(lock, &tmp.path().join("auth.lock")),
            other => panic!("expected a lock timeout, got {other}"),
        }
        assert!(err.to_string().contains("waiting for lock") && err.to_string().contains("auth.lock"));
        assert!(store.repair_force(NOW).is_err());
        drop(held);
        assert_eq!(snapshot(&store.path()), before);
        let msg = StoreError::LockTimeout { lock: "/h/auth.lock".into(), secs: 15 }.to_string();
        assert_eq!(
            msg,
            "timed out after 15s waiting for lock /h/auth.lock (held by another hermes or hermes-agent process)"
        );
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("home")).with_lock_timeout(Duration::from_secs(120));
        add(&store, "a").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        store
                            .update(NOW, |doc| {
                                let m = doc.pool_mut("openrouter")[0].as_object_mut().unwrap();
                                let n = m["request_count"].as_i64().unwrap();
                                entry::set(m, "request_count", json!(n + 1));
                                Ok::<_, StoreError>(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.read().unwrap().entries("openrouter")[0].request_count, 400);
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(listing(store.home()), ["auth.json", "auth.lock"]);
    }

    #[test]
    fn borrowed_entries_lose_secrets_owned_keep_them() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        store
            .update(NOW, |doc| {
                add_entry(doc, "openrouter", "a", "manual", "sk-or-owned-0001");
                add_entry(doc, "openrouter", "b", "env:OPENROUTER_API_KEY", "sk-or-borrowed-02");
                add_entry(doc, "anthropic", "c", "manual:hermes_pkce", "sk-ant-oat01-xyz");
                add_entry(doc, "anthropic", "d", "claude_code", "sk-ant-oat01-cc");
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(text.contains("sk-or-owned-0001") && text.contains("sk-ant-oat01-xyz"));
        assert!(!text.contains("sk-or-borrowed-02") && !text.contains("sk-ant-oat01-cc"));
        let doc = store.read().unwrap();
        assert_eq!(
            doc.pool("openrouter")[1]["secret_fingerprint"],
            json!(crate::secret::fingerprint("sk-or-borrowed-02"))
        );
        assert_eq!(
            doc.pool("anthropic")[1]["secret_fingerprint"],
            json!(crate::secret::fingerprint("sk-ant-oat01-cc"))
        );
    }

    #[test]
    fn repair_force_moves_only_invalid_stores() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        // Missing: nothing to move.
        assert_eq!(store.repair_force(NOW).unwrap(), None);
        // Valid: never moved.
        add(&store, "a").unwrap();
        assert_eq!(store.repair_force(NOW).unwrap(), None);
        assert!(store.path().exists());

        fs::write(store.path(), "{broken").unwrap();
        assert!(store.check().is_err());
        let first = store.repair_force(NOW).unwrap().unwrap();
        assert_eq!(first, tmp.path().join("auth.json.corrupt-20250701T085320Z"));
        assert_eq!(fs::read(&first).unwrap(), b"{broken");
        assert!(!store.path().exists());
        store.check().unwrap();

        fs::write(store.path(), "").unwrap();
        let second = store.repair_force(NOW).unwrap().unwrap();
        assert_eq!(second, tmp.path().join("auth.json.corrupt-20250701T085320Z-2"));
        fs::create_dir(store.path()).unwrap();
        let third = store.repair_force(NOW).unwrap().unwrap();
        assert_eq!(third, tmp.path().join("auth.json.corrupt-20250701T085320Z-3"));

        // The next mutation starts a fresh store.
        add(&store, "b").unwrap();
        assert_eq!(store.read().unwrap().entries("openrouter").len(), 1);
    }

    #[test]
    fn legacy_forms_are_saved_by_the_first_write() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        fs::write(
            store.path(),
            r#"{"version": 1, "systems": {"nous_portal": {"access_token": "t"}}, "suppressed_sources": {"xai": {"env:XAI_API_KEY": true}}}"#,
        )
        .unwrap();
        let before = fs::read(store.path()).unwrap();
        // Reading migrates in memory only.
        let doc = store.read().unwrap();
        assert_eq!(doc.suppressed("xai"), ["env:XAI_API_KEY"]);
        assert_eq!(doc.provider_state("nous").unwrap()["access_token"], json!("t"));
        assert_eq!(fs::read(store.path()).unwrap(), before);
        add(&store, "a").unwrap();
        let on_disk: Value = serde_json::from_slice(&fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(on_disk["suppressed_sources"], json!({"xai": ["env:XAI_API_KEY"]}));
        assert_eq!(on_disk["providers"]["nous"], json!({"access_token": "t"}));
        assert_eq!(on_disk["active_provider"], json!("nous"));
        assert!(on_disk.get("systems").is_none());
    }
}
