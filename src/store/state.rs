//! The pool-state seam: what every front end needs from wherever the pools live. The file store
//! ([`super::Store`], auth.json) is the first implementation and [`MemoryState`] the second (for
//! tests, and for programs that keep their pools in memory); a shared backend plugs in here
//! without touching the CLI, the runtime or the `ops` layer. See docs/design.md#state.
//!
//! The trait is object-safe (`Arc<dyn PoolState>`); the generic helpers the call sites use
//! ([`update`](trait.PoolState.html#method.update)) are thin wrappers over
//! [`PoolState::transact`].

use super::{Store, StoreError};
use crate::context::Epoch;
use crate::model::AuthDoc;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// What a transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The new state was written (the closure kept its edits and they changed something).
    pub wrote: bool,
}

/// The single-flight lock of one OAuth grant, held until dropped.
pub struct GrantGuard(#[allow(dead_code)] Box<dyn Send + Sync>);

impl std::fmt::Debug for GrantGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantGuard")
    }
}

impl GrantGuard {
    pub fn new(inner: impl Send + Sync + 'static) -> GrantGuard {
        GrantGuard(Box::new(inner))
    }
}

/// Which backend a state is, where, and whether it answers (for `auth list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// `file`, `memory` or `redis`.
    pub name: &'static str,
    /// The file, or the server (never with a password).
    pub location: String,
    /// For a server: whether it answered just now.
    pub reachable: Option<bool>,
    /// Why it did not.
    pub problem: Option<String>,
    /// Whether other machines share the state.
    pub shared: bool,
}

/// Where the pools live.
pub trait PoolState: Send + Sync + std::fmt::Debug {
    /// A snapshot of the whole document, without a lock. Only a missing state is empty; state
    /// that cannot be read is an error.
    fn read(&self) -> Result<AuthDoc, StoreError>;

    /// One transaction on fresh state: `f` edits the document as it is now, exclusive of every
    /// other transaction (in this process and others), and returns whether to keep its edits.
    /// The state is written only when they are kept and changed something. `f` may run more
    /// than once (it must only edit the document); the last run is the one that counts.
    fn transact(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError>;

    /// One attempt at the single-flight lock of an OAuth grant (`provider` and the grant's hash):
    /// `None` while another holder has it. The caller polls with its own sleep.
    fn try_lock_grant(&self, provider: &str, grant: &str) -> Result<Option<GrantGuard>, StoreError>;

    /// The file store behind this state, for maintenance only the file has (`auth repair`,
    /// permission warnings).
    fn as_file(&self) -> Option<&Store> {
        None
    }

    /// Whether reads and transactions are memory operations (no lock file, no fsync), cheap
    /// enough to run on an async worker instead of a blocking thread.
    fn in_memory(&self) -> bool {
        false
    }

    /// Whether other machines share this state (a transaction is then a round trip to its
    /// server, and takes no file lock unless it changes the file).
    fn is_shared(&self) -> bool {
        false
    }

    /// Which backend this is, for people.
    fn backend(&self) -> BackendStatus {
        BackendStatus { name: "memory", location: "(memory)".into(), reachable: None, problem: None, shared: false }
    }
}

impl<'s> dyn PoolState + 's {
    /// One transaction (see [`PoolState::transact`]) whose closure returns a result: its edits
    /// are kept on `Ok` and dropped on `Err`, and the result of the run that counted is returned.
    pub fn update<T, E: From<StoreError>>(
        &self,
        now: Epoch,
        mut f: impl FnMut(&mut AuthDoc) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut out: Option<Result<T, E>> = None;
        self.transact(now, &mut |doc| {
            let r = f(doc);
            let keep = r.is_ok();
            out = Some(r);
            keep
        })?;
        out.expect("a transaction that succeeds has run its closure")
    }
}

impl PoolState for Store {
    fn read(&self) -> Result<AuthDoc, StoreError> {
        Store::read(self)
    }

    fn transact(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        let mut wrote = false;
        self.update(now, |doc| {
            let before = doc.clone();
            if f(doc) {
                wrote = *doc != before;
                Ok(())
            } else {
                *doc = before;
                wrote = false;
                Ok::<(), StoreError>(())
            }
        })?;
        Ok(Committed { wrote })
    }

    fn try_lock_grant(&self, provider: &str, grant: &str) -> Result<Option<GrantGuard>, StoreError> {
        let path = super::lock::refresh_lock_path(self.home(), provider, grant);
        let io = |e: std::io::Error| StoreError::Io { path: path.clone(), message: format!("cannot lock: {e}") };
        let file = super::lock::LockFile::open(&path).map_err(io)?;
        match file.try_acquire().map_err(io)? {
            super::lock::TryAcquire::Acquired(g) => Ok(Some(GrantGuard::new(g))),
            super::lock::TryAcquire::Busy(_) => Ok(None),
        }
    }

    fn as_file(&self) -> Option<&Store> {
        Some(self)
    }

    fn backend(&self) -> BackendStatus {
        BackendStatus {
            name: "file",
            location: self.path().display().to_string(),
            reachable: None,
            problem: None,
            shared: false,
        }
    }
}

/// Run `f` on a copy of `before`: the edited copy when `f` keeps its edits and they change
/// something (empty pools it only created through an accessor do not count), else `None`.
pub(crate) fn edited_copy(before: &AuthDoc, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Option<AuthDoc> {
    let mut doc = before.clone();
    if !f(&mut doc) {
        return None;
    }
    doc.prune_new_empties(before);
    (doc != *before).then_some(doc)
}

/// Pools held in memory: one mutex-guarded document and the set of held grant locks. Every
/// transaction is exclusive, like the file store's; nothing outlives the process.
#[derive(Debug, Default, Clone)]
pub struct MemoryState {
    doc: Arc<Mutex<Option<AuthDoc>>>,
    grants: Arc<Mutex<HashSet<String>>>,
}

impl MemoryState {
    /// Empty state (reads as an empty store until the first write).
    pub fn new() -> MemoryState {
        MemoryState::default()
    }

    /// State that starts as `doc`.
    pub fn with_doc(doc: AuthDoc) -> MemoryState {
        MemoryState { doc: Arc::new(Mutex::new(Some(doc))), grants: Arc::default() }
    }
}

/// Releases a grant of [`MemoryState`] when dropped.
struct MemoryGrant {
    key: String,
    grants: Arc<Mutex<HashSet<String>>>,
}

impl Drop for MemoryGrant {
    fn drop(&mut self) {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
    }
}

impl PoolState for MemoryState {
    fn read(&self) -> Result<AuthDoc, StoreError> {
        Ok(self.doc.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(AuthDoc::empty))
    }

    fn transact(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        let mut slot = self.doc.lock().unwrap_or_else(|p| p.into_inner());
        let before = slot.clone().unwrap_or_else(AuthDoc::new_document);
        let Some(mut doc) = edited_copy(&before, f) else { return Ok(Committed { wrote: false }) };
        doc.prepare_write(now);
        doc.validate().map_err(|problem| StoreError::Invalid {
            path: "(memory)".into(),
            problem: format!("refusing to write an invalid store: {problem}"),
        })?;
        *slot = Some(doc);
        Ok(Committed { wrote: true })
    }

    fn in_memory(&self) -> bool {
        true
    }

    fn try_lock_grant(&self, provider: &str, grant: &str) -> Result<Option<GrantGuard>, StoreError> {
        let key = format!("{provider}/{grant}");
        let mut held = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(key.clone()) {
            return Ok(None);
        }
        Ok(Some(GrantGuard::new(MemoryGrant { key, grants: self.grants.clone() })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn both() -> Vec<(&'static str, Arc<dyn PoolState>, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn PoolState> = Arc::new(Store::new(dir.path().join("home")));
        vec![("file", store, Some(dir)), ("memory", Arc::new(MemoryState::new()), None)]
    }

    #[test]
    fn transactions_keep_or_drop_their_edits() {
        for (name, state, _dir) in both() {
            assert_eq!(state.read().unwrap(), AuthDoc::empty(), "{name}");
            let n = state
                .update(1.0, |doc| {
                    doc.pool_mut("openrouter").push(json!({"id": "a", "label": "a"}));
                    Ok::<_, StoreError>(doc.pool("openrouter").len())
                })
                .unwrap();
            assert_eq!(n, 1, "{name}");
            // An error drops the edits.
            let r = state.update(2.0, |doc| {
                doc.pool_mut("openrouter").clear();
                Err::<(), _>(StoreError::Invalid { path: "x".into(), problem: "no".into() })
            });
            assert!(r.is_err(), "{name}");
            assert_eq!(state.read().unwrap().pool("openrouter").len(), 1, "{name}");
            // A no-op writes nothing.
            let c = state.transact(3.0, &mut |_| true).unwrap();
            assert!(!c.wrote, "{name}");
        }
    }

    #[test]
    fn a_grant_lock_is_single_flight() {
        for (name, state, _dir) in both() {
            let g = state.try_lock_grant("anthropic", "ab").unwrap();
            assert!(g.is_some(), "{name}");
            // The file lock excludes other descriptors, in this process too.
            assert!(state.try_lock_grant("anthropic", "ab").unwrap().is_none(), "{name}");
            assert!(state.try_lock_grant("anthropic", "cd").unwrap().is_some(), "{name}");
            drop(g);
            assert!(state.try_lock_grant("anthropic", "ab").unwrap().is_some(), "{name}");
        }
    }
}
