//! File locks: the store lock (`<dir>/auth.lock`, docs/design.md#write-protocol) and the per-grant OAuth refresh locks
//! (`<home>/locks/refresh-<provider>-<hh>.lock`, docs/design.md#oauth-refresh).
//!
//! Both are exclusive `flock`s (std's `File::try_lock`) on a small file that is created on demand and
//! never deleted: deleting a lock file would let a later process lock a fresh inode while an
//! earlier one still holds the old one. Attempts are non-blocking and polled, so a caller can
//! give up after a deadline and an async caller can poll with its own sleep.
//!
//! A [`LockFile`] is consumed by its acquisition and every acquisition opens the file anew.
//! `flock` belongs to the open file description, so two acquisitions through one descriptor
//! would not exclude each other; opening per acquisition makes threads of one process exclude
//! each other exactly like separate processes do.
//!
//! The held lock is an owned [`LockGuard`] (no borrow), so it can be returned from a polling
//! loop, stored, sent to another task and held across `.await`.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a busy lock is tried again (docs/design.md#write-protocol, docs/design.md#oauth-refresh).
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The shortest pause between two attempts on a busy lock. A waiter sleeps an eighth of the
/// time it has waited so far, at least this and at most the poll interval, so it retries every
/// 50 ms only once it has waited 0.4 s. Store transactions last a few milliseconds; a waiter
/// that always slept the full 50 ms stayed asleep for up to 50 ms after a 2 ms transaction
/// released the lock (docs/benchmarks.md has the throughput figures).
pub const MIN_RETRY: Duration = Duration::from_millis(1);

/// How long an OAuth refresh waits for its grant lock before calling the refresh transient (docs/design.md#oauth-refresh).
pub const REFRESH_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// The grant lock of a refresh token: `<home>/locks/refresh-<provider>-<hh>.lock`, where `hh` is
/// the first 2 hex digits of SHA-256 over the refresh token (computed by the caller, which holds
/// the token).
pub fn refresh_lock_path(home: &Path, provider: &str, hh: &str) -> PathBuf {
    home.join("locks").join(format!("refresh-{provider}-{hh}.lock"))
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (or thread) held the lock for the whole timeout.
    #[error("timed out after {}s waiting for lock {}", waited.as_secs(), path.display())]
    TimedOut { path: PathBuf, waited: Duration },
    /// Opening or locking the file failed for a reason other than contention.
    #[error("{}: cannot lock: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// An open lock file, not yet locked. Consumed by [`LockFile::try_acquire`] or
/// [`LockFile::acquire`].
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    file: File,
}

/// Proof that the exclusive lock is held. Dropping it releases the lock.
///
/// The guard owns the only descriptor of the open file description that holds the `flock`;
/// closing it is what releases the lock (std opens files close-on-exec, and nothing here
/// duplicates the descriptor, so no other copy can keep it alive).
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    _file: File,
}

/// The outcome of one non-blocking attempt.
#[derive(Debug)]
pub enum TryAcquire {
    /// The lock is ours until the guard is dropped.
    Acquired(LockGuard),
    /// Someone else holds it; the file is handed back for the next attempt.
    Busy(LockFile),
}

impl LockFile {
    /// Open the lock file, creating it (mode 0600) and its parent directory (mode 0700) if they
    /// do not exist. Existing files and directories keep their modes.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<LockFile> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let new_dir = !parent.exists();
            // `recursive` also makes this a no-op when the directory exists.
            DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
            // A directory we just made (`locks/`) belongs to the home's owner, like its files.
            if let (true, Some(up), Ok(dir)) = (new_dir, parent.parent(), File::open(parent)) {
                crate::files::match_owner(&dir, up);
            }
        }
        let existed = path.exists();
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&path).or_else(
                |e| {
                    // flock needs no write access; a lock file we may not write is still usable.
                    // When there is none to open read-only either, the directory refused us:
                    // report that (permission denied), not the missing file.
                    if e.kind() == io::ErrorKind::PermissionDenied {
                        File::open(&path)
                            .map_err(|second| if second.kind() == io::ErrorKind::NotFound { e } else { second })
                    } else {
                        Err(e)
                    }
                },
            )?;
        if !existed {
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::files::match_owner(&file, dir);
            }
        }
        Ok(LockFile { path, file })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One non-blocking attempt. An async caller loops over this with its own sleep of
    /// [`retry_pause`]; an I/O error other than contention ends the attempt.
    pub fn try_acquire(self) -> io::Result<TryAcquire> {
        // An exclusive `flock` on the descriptor this value owns: the lock lasts exactly as long
        // as the file stays open, which the owned `LockGuard` decides.
        let locked = match self.file.try_lock() {
            Ok(()) => true,
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Interrupted => false,
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        };
        Ok(if locked {
            TryAcquire::Acquired(LockGuard { path: self.path, _file: self.file })
        } else {
            TryAcquire::Busy(self)
        })
    }

    /// Block until the lock is ours, for at most `timeout` (measured on the real monotonic
    /// clock: the wait is for another process, not for the injected clock). Attempts are
    /// spaced by [`retry_pause`]: 1 ms at first, growing with the wait up to `poll`.
    pub fn acquire(self, timeout: Duration, poll: Duration) -> Result<LockGuard, LockError> {
        let start = Instant::now();
        let mut file = self;
        loop {
            let path = file.path.clone();
            match file.try_acquire() {
                Ok(TryAcquire::Acquired(guard)) => return Ok(guard),
                Ok(TryAcquire::Busy(back)) => file = back,
                Err(source) => return Err(LockError::Io { path, source }),
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(LockError::TimedOut { path, waited: timeout });
            }
            std::thread::sleep(retry_pause(waited, poll).min(timeout - waited));
        }
    }
}

/// How long to sleep before the next attempt, after `waited` on a busy lock: an eighth of the
/// wait so far, between [`MIN_RETRY`] and `poll`. The lock then sits idle after its release for
/// at most an eighth of the time the waiter already spent, and a long wait (another process
/// holding the lock for seconds) is polled every `poll` as docs/design.md#write-protocol says.
pub fn retry_pause(waited: Duration, poll: Duration) -> Duration {
    (waited / 8).clamp(MIN_RETRY.min(poll), poll)
}

impl LockGuard {
    /// The path of the held lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Open `path` and wait for its lock, polling (see [`retry_pause`]) for at most `timeout`.
pub fn lock(path: impl Into<PathBuf>, timeout: Duration) -> Result<LockGuard, LockError> {
    let path = path.into();
    let file = LockFile::open(&path).map_err(|source| LockError::Io { path, source })?;
    file.acquire(timeout, POLL_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_dir_0700_and_file_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let path = refresh_lock_path(tmp.path(), "anthropic", "ab");
        assert_eq!(path, tmp.path().join("locks/refresh-anthropic-ab.lock"));
        let guard = lock(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(guard.path(), path);
        assert_eq!(mode(&tmp.path().join("locks")), 0o700);
        assert_eq!(mode(&path), 0o600);
        drop(guard);
        // Never deleted.
        assert!(path.exists());
    }

    #[test]
    fn second_open_is_busy_until_the_guard_drops() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("auth.lock");
        let held = match LockFile::open(&path).unwrap().try_acquire().unwrap() {
            TryAcquire::Acquired(g) => g,
            TryAcquire::Busy(_) => panic!("fresh lock was busy"),
        };
        let other = match LockFile::open(&path).unwrap().try_acquire().unwrap() {
            TryAcquire::Busy(f) => f,
            TryAcquire::Acquired(_) => panic!("two holders"),
        };
        let err = LockFile::open(&path).unwrap().acquire(Duration::from_millis(120), POLL_INTERVAL).unwrap_err();
        assert!(matches!(err, LockError::TimedOut { ref path, .. } if path.ends_with("auth.lock")), "{err:?}");
        drop(held);
        assert!(matches!(other.try_acquire().unwrap(), TryAcquire::Acquired(_)));
    }

    #[test]
    fn retry_pause_starts_short_and_settles_at_the_poll_interval() {
        let ms = Duration::from_millis;
        let poll = POLL_INTERVAL;
        assert_eq!(retry_pause(ms(0), poll), ms(1));
        assert_eq!(retry_pause(ms(8), poll), ms(1));
        assert_eq!(retry_pause(ms(40), poll), ms(5));
        assert_eq!(retry_pause(ms(200), poll), ms(25));
        assert_eq!(retry_pause(ms(400), poll), poll);
        assert_eq!(retry_pause(Duration::from_secs(14), poll), poll);
        // A poll shorter than the minimum wins.
        assert_eq!(retry_pause(ms(100), Duration::from_micros(500)), Duration::from_micros(500));
    }

    #[test]
    fn a_released_lock_is_taken_well_before_a_full_poll_interval() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("auth.lock");
        let held = lock(&path, Duration::from_secs(1)).unwrap();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                let g = lock(&path, Duration::from_secs(5)).unwrap();
                (t.elapsed(), g)
            })
        };
        std::thread::sleep(Duration::from_millis(5));
        let released = Instant::now();
        drop(held);
        let (_, _g) = waiter.join().unwrap();
        // The waiter had waited ~5 ms, so its pauses were 1 ms; a fixed 50 ms poll would have
        // left the free lock idle for ~45 ms. Loose bound for a loaded machine.
        assert!(released.elapsed() < Duration::from_millis(30), "took {:?} after the release", released.elapsed());
    }

    #[test]
    fn threads_exclude_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let path = Arc::new(tmp.path().join("auth.lock"));
        let inside = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (path, inside, count) = (path.clone(), inside.clone(), count.clone());
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        let _g = lock(path.as_path(), Duration::from_secs(30)).unwrap();
                        assert!(!inside.swap(true, Ordering::SeqCst), "two threads inside the lock");
                        std::thread::sleep(Duration::from_millis(1));
                        count.fetch_add(1, Ordering::SeqCst);
                        inside.store(false, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(count.load(Ordering::SeqCst), 40);
    }

    #[test]
    fn guard_can_be_held_across_await() {
        fn assert_send<T: Send + 'static>(_: &T) {}
        let tmp = tempfile::tempdir().unwrap();
        let guard = lock(tmp.path().join("x.lock"), Duration::from_secs(1)).unwrap();
        assert_send(&guard);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            drop(guard);
        });
    }
}
