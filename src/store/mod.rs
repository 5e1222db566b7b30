//! auth.json: the only code that opens the store. Reads are lock-free snapshots; every
//! mutation is [`Store::update`]: lock, fresh read, apply, atomic write (§3).

pub mod doc;
pub mod lock;

pub use doc::AuthDoc;

use crate::context::Epoch;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `<file>: <problem>`: the store exists but is not valid.
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    #[error("{}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("timed out after {secs}s waiting for lock {} (held by another hermes or hermes-agent process)", lock.display())]
    LockTimeout { lock: PathBuf, secs: u64 },
}

#[derive(Debug, Clone)]
pub struct Store {
    home: PathBuf,
}

impl Store {
    pub fn new(home: impl Into<PathBuf>) -> Store {
        Store { home: home.into() }
    }
    pub fn home(&self) -> &Path {
        &self.home
    }
    pub fn path(&self) -> PathBuf {
        self.home.join("auth.json")
    }
    /// Snapshot read, no lock, never writes content (may tighten modes, ruling 22).
    pub fn read(&self) -> Result<AuthDoc, StoreError> {
        todo!()
    }
    /// One transaction: lock, fresh read, apply `f`, write atomically if the document changed.
    pub fn update<T, E: From<StoreError>>(
        &self,
        now: Epoch,
        f: impl FnOnce(&mut AuthDoc) -> Result<T, E>,
    ) -> Result<T, E> {
        let _ = (now, f);
        todo!()
    }
}
