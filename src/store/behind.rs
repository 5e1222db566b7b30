//! Pool state in memory, written behind to auth.json: the gateway's [`PoolState`].
//!
//! A pick on the request path is a memory operation: no file lock and no fsync per request. What
//! picks and marks change (request counts, round-robin priorities, status marks) is kept as a
//! list of deltas and written to auth.json by [`WriteBehind::flush`] (the gateway calls it every
//! 250 ms and at shutdown) in one locked transaction on a fresh read, merged into what other
//! processes wrote meanwhile: counts add, and a mark with a later deadline on disk is kept. Any
//! other change (a refreshed OAuth token, an added or removed entry) is written through at once,
//! so a rotated refresh token never exists only in memory. Changes other processes make to
//! auth.json are adopted on the next transaction after the file changed (see
//! docs/design.md#state).

use super::state::{Committed, GrantGuard, PoolState};
use super::{Store, StoreError};
use crate::context::Epoch;
use crate::model::entry::{PRIORITY, RATE_LIMIT_STREAK, REQUEST_COUNT, STATUS_FIELDS};
use crate::model::AuthDoc;
use serde_json::{Map, Value};
use std::sync::Mutex;

/// One change a transaction made in memory, to replay on the file.
#[derive(Debug, Clone)]
enum Delta {
    /// `request_count` went up by this much.
    Count { pool: String, id: String, by: i64 },
    /// The status fields (and streak) became these.
    Mark { pool: String, id: String, fields: Map<String, Value> },
    /// `priority` became this (round_robin's reordering).
    Priority { pool: String, id: String, priority: i64 },
}

/// What identifies a version of the file: modification time, size and inode.
type Seen = Option<(std::time::SystemTime, u64, u64)>;

#[derive(Debug)]
struct Inner {
    /// The last fresh read, with the pending deltas applied.
    doc: AuthDoc,
    /// Not yet on disk, oldest first.
    pending: Vec<Delta>,
    /// The file as last read.
    seen: Seen,
}

/// The file store with its picks and marks kept in memory and written behind.
#[derive(Debug)]
pub struct WriteBehind {
    store: Store,
    inner: Mutex<Inner>,
}

/// The fields a delta may carry; a change to any other field is written through.
fn tracked(k: &str) -> bool {
    k == REQUEST_COUNT || k == PRIORITY || k == RATE_LIMIT_STREAK || STATUS_FIELDS.contains(&k)
}

impl WriteBehind {
    /// Pools of `store`, read now.
    pub fn new(store: Store) -> Result<WriteBehind, StoreError> {
        let seen = file_version(&store);
        let doc = store.read()?;
        Ok(WriteBehind { store, inner: Mutex::new(Inner { doc, pending: Vec::new(), seen }) })
    }

    /// Changes not yet on disk.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write the pending changes to auth.json in one transaction on a fresh read, merged with
    /// what other processes wrote meanwhile. On failure they stay pending.
    pub fn flush(&self, now: Epoch) -> Result<usize, StoreError> {
        let deltas = std::mem::take(&mut self.lock().pending);
        if deltas.is_empty() {
            return Ok(0);
        }
        let mut written = None;
        let result = self.store.update(now, |doc| {
            for d in &deltas {
                apply(doc, d, true);
            }
            written = Some(doc.clone());
            Ok::<(), StoreError>(())
        });
        let mut inner = self.lock();
        match result {
            Ok(()) => {
                // Memory becomes the file as written, plus what arrived during the flush.
                if let Some(mut doc) = written {
                    for d in &inner.pending {
                        apply(&mut doc, d, false);
                    }
                    inner.doc = doc;
                }
                inner.seen = file_version(&self.store);
                Ok(deltas.len())
            }
            Err(e) => {
                let newer = std::mem::take(&mut inner.pending);
                inner.pending = deltas;
                inner.pending.extend(newer);
                Err(e)
            }
        }
    }

    /// Adopt what another process wrote, if the file changed since it was last read.
    fn adopt(&self, inner: &mut Inner) -> Result<(), StoreError> {
        let now = file_version(&self.store);
        if now == inner.seen {
            return Ok(());
        }
        let mut doc = self.store.read()?;
        for d in &inner.pending {
            apply(&mut doc, d, false);
        }
        inner.doc = doc;
        inner.seen = now;
        Ok(())
    }
}

fn file_version(store: &Store) -> Seen {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(store.path()).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

fn entry_mut<'a>(doc: &'a mut AuthDoc, pool: &str, id: &str) -> Option<&'a mut Map<String, Value>> {
    doc.pool_mut(pool)
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|m| m.get("id").and_then(Value::as_str) == Some(id))
}

/// Replay `d` on `doc`. On the file (`merge`), a mark does not shorten a later deadline another
/// process wrote.
fn apply(doc: &mut AuthDoc, d: &Delta, merge: bool) {
    match d {
        Delta::Count { pool, id, by } => {
            if let Some(m) = entry_mut(doc, pool, id) {
                let n = m.get(REQUEST_COUNT).and_then(Value::as_i64).unwrap_or(0).max(0).saturating_add(*by);
                m.insert(REQUEST_COUNT.into(), n.into());
            }
        }
        Delta::Priority { pool, id, priority } => {
            if let Some(m) = entry_mut(doc, pool, id) {
                m.insert(PRIORITY.into(), (*priority).into());
            }
        }
        Delta::Mark { pool, id, fields } => {
            if let Some(m) = entry_mut(doc, pool, id) {
                let deadline = |m: &Map<String, Value>| m.get("last_error_reset_at").and_then(Value::as_f64);
                let ours = deadline(fields);
                if merge && matches!((deadline(m), ours), (Some(theirs), Some(ours)) if theirs > ours) {
                    return;
                }
                for (k, v) in fields {
                    if v.is_null() && k == RATE_LIMIT_STREAK {
                        m.shift_remove(k);
                    } else {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
}

/// The deltas that turn `before` into `after`, or `None` when the change is more than counts,
/// priorities and marks (then it is written through).
fn deltas(before: &AuthDoc, after: &AuthDoc) -> Option<Vec<Delta>> {
    let mut root_before = before.root().clone();
    let mut root_after = after.root().clone();
    root_before.shift_remove("credential_pool");
    root_after.shift_remove("credential_pool");
    if root_before != root_after {
        return None;
    }
    let keys = after.pool_keys();
    if keys != before.pool_keys() {
        return None;
    }
    let mut out = Vec::new();
    for key in keys {
        let (b, a) = (before.pool(&key), after.pool(&key));
        if a.len() != b.len() {
            return None;
        }
        for (eb, ea) in b.iter().zip(a) {
            let (Some(mb), Some(ma)) = (eb.as_object(), ea.as_object()) else { return None };
            if mb.get("id") != ma.get("id") {
                return None;
            }
            let id = ma.get("id").and_then(Value::as_str)?.to_string();
            let keys: std::collections::BTreeSet<&String> = mb.keys().chain(ma.keys()).collect();
            let mut mark = Map::new();
            for k in keys {
                let (vb, va) = (mb.get(k.as_str()), ma.get(k.as_str()));
                if vb == va {
                    continue;
                }
                if !tracked(k) {
                    return None;
                }
                match k.as_str() {
                    REQUEST_COUNT => {
                        let n = |v: Option<&Value>| v.and_then(Value::as_i64).unwrap_or(0);
                        out.push(Delta::Count { pool: key.clone(), id: id.clone(), by: n(va) - n(vb) });
                    }
                    PRIORITY => out.push(Delta::Priority {
                        pool: key.clone(),
                        id: id.clone(),
                        priority: va.and_then(Value::as_i64).unwrap_or(0),
                    }),
                    _ => {
                        mark.insert(k.clone(), va.cloned().unwrap_or(Value::Null));
                    }
                }
            }
            if !mark.is_empty() {
                // A mark carries all its fields, so replaying it sets the whole mark.
                for f in STATUS_FIELDS.iter().chain([&RATE_LIMIT_STREAK]) {
                    mark.entry(f.to_string()).or_insert_with(|| ma.get(*f).cloned().unwrap_or(Value::Null));
                }
                out.push(Delta::Mark { pool: key.clone(), id, fields: mark });
            }
        }
    }
    Some(out)
}

impl PoolState for WriteBehind {
    fn read(&self) -> Result<AuthDoc, StoreError> {
        let mut inner = self.lock();
        self.adopt(&mut inner)?;
        Ok(inner.doc.clone())
    }

    fn transact(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        let mut inner = self.lock();
        self.adopt(&mut inner)?;
        let before = inner.doc.clone();
        let Some(doc) = super::state::edited_copy(&before, f) else { return Ok(Committed { wrote: false }) };
        match deltas(&before, &doc) {
            Some(ds) => {
                inner.doc = doc;
                inner.pending.extend(ds);
                Ok(Committed { wrote: true })
            }
            None => {
                // Written through: the closure runs again on the file, under its lock.
                drop(inner);
                self.flush(now)?;
                let c = PoolState::transact(&self.store, now, f)?;
                let mut inner = self.lock();
                inner.seen = None;
                self.adopt(&mut inner)?;
                Ok(c)
            }
        }
    }

    fn try_lock_grant(&self, provider: &str, grant: &str) -> Result<Option<GrantGuard>, StoreError> {
        self.store.try_lock_grant(provider, grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store_with(dir: &std::path::Path, entries: Value) -> Store {
        std::fs::write(dir.join("auth.json"), json!({"version": 1, "credential_pool": {"p": entries}}).to_string())
            .unwrap();
        Store::new(dir)
    }

    fn count(doc: &AuthDoc, id: &str) -> i64 {
        doc.pool("p").iter().find(|e| e["id"] == id).unwrap()["request_count"].as_i64().unwrap_or(0)
    }

    #[test]
    fn picks_stay_in_memory_until_a_flush_merges_them() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 1}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        let bump = |doc: &mut AuthDoc| {
            let m = entry_mut(doc, "p", "a").unwrap();
            let n = m["request_count"].as_i64().unwrap() + 1;
            m.insert("request_count".into(), n.into());
            true
        };
        for _ in 0..3 {
            assert!(wb.transact(1.0, &mut |d| bump(d)).unwrap().wrote);
        }
        assert_eq!(count(&wb.read().unwrap(), "a"), 4);
        assert_eq!(count(&store.read().unwrap(), "a"), 1, "nothing written yet");
        // Another process adds 10 meanwhile: the flush adds ours to theirs.
        store
            .update(2.0, |doc| {
                let m = entry_mut(doc, "p", "a").unwrap();
                m.insert("request_count".into(), 11.into());
                Ok::<(), StoreError>(())
            })
            .unwrap();
        assert_eq!(count(&wb.read().unwrap(), "a"), 14, "their change adopted, ours kept");
        assert_eq!(wb.flush(3.0).unwrap(), 3);
        assert_eq!(count(&store.read().unwrap(), "a"), 14);
        assert_eq!(count(&wb.read().unwrap(), "a"), 14);
    }

    #[test]
    fn other_changes_are_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "access_token": "old-token-1234"}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        wb.transact(1.0, &mut |doc| {
            entry_mut(doc, "p", "a").unwrap().insert("access_token".into(), "new-token-5678".into());
            true
        })
        .unwrap();
        assert_eq!(wb.pending(), 0);
        assert_eq!(store.read().unwrap().pool("p")[0]["access_token"], "new-token-5678", "on disk at once");
    }

    #[test]
    fn a_later_deadline_on_disk_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a"}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        wb.transact(1.0, &mut |doc| {
            let m = entry_mut(doc, "p", "a").unwrap();
            m.insert("last_status".into(), "exhausted".into());
            m.insert("last_error_code".into(), 429.into());
            m.insert("last_error_reset_at".into(), 100.0.into());
            true
        })
        .unwrap();
        store
            .update(2.0, |doc| {
                let m = entry_mut(doc, "p", "a").unwrap();
                m.insert("last_status".into(), "exhausted".into());
                m.insert("last_error_code".into(), 402.into());
                m.insert("last_error_reset_at".into(), 5000.0.into());
                Ok::<(), StoreError>(())
            })
            .unwrap();
        wb.flush(3.0).unwrap();
        let doc = store.read().unwrap();
        let on_disk = &doc.pool("p")[0];
        assert_eq!(on_disk["last_error_reset_at"].as_f64(), Some(5000.0));
        assert_eq!(on_disk["last_error_code"], 402);
    }
}
