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
use std::collections::HashMap;
use std::sync::Mutex;

/// One change a transaction made in memory, to replay on the file: what changed on which entry.
#[derive(Debug, Clone)]
struct Delta {
    pool: String,
    id: String,
    change: Change,
}

#[derive(Debug, Clone)]
enum Change {
    /// `request_count` went up by this much.
    Count(i64),
    /// The status fields (and streak) became these.
    Mark(Map<String, Value>),
    /// `priority` became this (round_robin's reordering).
    Priority(i64),
    /// `headroom` (what the provider last announced) became this.
    Headroom(Value),
    /// `usage` went up by these (day → requests, input, output).
    Usage(Vec<(String, [i64; 3])>),
}

/// What identifies a version of the file: modification time, size and inode.
type Seen = Option<(std::time::SystemTime, u64, u64)>;

#[derive(Debug)]
struct Inner {
    /// The last fresh read, with the pending deltas applied.
    doc: AuthDoc,
    /// A copy of `doc` as it was before the transaction now running (equal to `doc` between
    /// transactions): what a transaction is diffed against and rolled back to, kept up to date
    /// field by field so that no transaction clones the whole document.
    shadow: AuthDoc,
    /// Not yet on disk.
    pending: Queue,
    /// The file as last read.
    seen: Seen,
    /// When the file's version was last looked at.
    checked: Option<std::time::Instant>,
}

/// The deltas not yet on disk, oldest first.
#[derive(Debug, Default)]
struct Queue {
    list: Vec<Delta>,
    /// Where in `list` each entry's count and priority deltas are (pool → id → [count,
    /// priority]), so the next of each folds into it.
    folded: HashMap<String, HashMap<String, [Option<usize>; 2]>>,
}

impl Queue {
    /// Add a change of entry `id` in `pool`. A count or a priority for an entry that already
    /// has one pending is folded into it (counts that only go up add up, the later priority
    /// stands: neither depends on the order of the other kinds), so a busy interval keeps one of
    /// each per entry instead of one per pick.
    fn push(&mut self, pool: &str, id: &str, change: Change) {
        let slot = match change {
            Change::Count(_) => Some(0),
            Change::Priority(_) => Some(1),
            _ => None,
        };
        if let Some(slot) = slot {
            if let Some(at) = self.folded.get(pool).and_then(|m| m.get(id)).and_then(|s| s[slot]) {
                match (&mut self.list[at].change, &change) {
                    // Replaying clamps a count at 0 before each addition, so only additions of
                    // the same sign as a pick's fold into one (a count lowered by hand is not).
                    (Change::Count(by), Change::Count(more)) if *by >= 0 && *more >= 0 => {
                        return *by = by.saturating_add(*more)
                    }
                    (Change::Priority(p), Change::Priority(later)) => return *p = *later,
                    _ => {}
                }
            }
            let at = self.list.len();
            self.folded.entry(pool.to_string()).or_default().entry(id.to_string()).or_default()[slot] = Some(at);
        }
        self.list.push(Delta { pool: pool.to_string(), id: id.to_string(), change });
    }

    /// Every pending delta, leaving none.
    fn take(&mut self) -> Vec<Delta> {
        self.folded.clear();
        std::mem::take(&mut self.list)
    }

    /// `earlier` (taken before and not written) back in front of what came since.
    fn put_back(&mut self, earlier: Vec<Delta>) {
        let newer = self.take();
        self.list = earlier;
        self.list.extend(newer);
    }
}

/// How often a transaction looks whether another process changed auth.json (a `stat`):
/// changes are adopted well within the 1 s docs/design.md#state allows.
const ADOPT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The file store with its picks and marks kept in memory and written behind.
#[derive(Debug)]
pub struct WriteBehind {
    store: Store,
    inner: Mutex<Inner>,
    /// Held by a flush from taking the deltas to writing them: a flush waits for the one still
    /// writing, so when the last flush returns nothing taken earlier is still on its way.
    flushing: Mutex<()>,
}

const HEADROOM: &str = crate::pool::headroom::FIELD;
const USAGE: &str = crate::pool::usage::FIELD;

/// What `usage` gained from `before` to `after`, per day (days that went away are not losses).
fn usage_diff(before: Option<&Value>, after: Option<&Value>) -> Vec<(String, [i64; 3])> {
    let get = |v: Option<&Value>, day: &str, k: &str| {
        v.and_then(|v| v.get(day)).and_then(|d| d.get(k)).and_then(Value::as_i64).unwrap_or(0)
    };
    let Some(days) = after.and_then(Value::as_object) else { return Vec::new() };
    days.keys()
        .map(|day| {
            let by = ["requests", "input", "output"].map(|k| get(after, day, k) - get(before, day, k));
            (day.clone(), by)
        })
        .filter(|(_, by)| by.iter().any(|n| *n != 0))
        .collect()
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
        let shadow = doc.clone();
        let inner = Mutex::new(Inner { doc, shadow, pending: Queue::default(), seen, checked: None });
        Ok(WriteBehind { store, inner, flushing: Mutex::new(()) })
    }

    /// Changes not yet on disk.
    pub fn pending(&self) -> usize {
        self.lock().pending.list.len()
    }

    /// The state, exclusive. A transaction that panicked half-way (its closure edits the
    /// document in place) is undone here: the document goes back to the shadow.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.doc = g.shadow.clone();
            self.inner.clear_poison();
            g
        })
    }

    /// Write the pending changes to auth.json in one transaction on a fresh read, merged with
    /// what other processes wrote meanwhile; returns how many deltas (after folding) went. On
    /// failure they stay pending.
    pub fn flush(&self, now: Epoch) -> Result<usize, StoreError> {
        let _turn = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let deltas = self.lock().pending.take();
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
                    for d in &inner.pending.list {
                        apply(&mut doc, d, false);
                    }
                    inner.shadow = doc.clone();
                    inner.doc = doc;
                }
                // Looked at again by the next transaction: a write-through that finished
                // between our write and this lock may be newer than what we hold.
                inner.seen = None;
                inner.checked = None;
                Ok(deltas.len())
            }
            Err(e) => {
                inner.pending.put_back(deltas);
                Err(e)
            }
        }
    }

    /// Adopt what another process wrote, if the file changed since it was last read. A
    /// transaction looks at most every [`ADOPT_EVERY`]; a read (`force`) always looks.
    fn adopt(&self, inner: &mut Inner, force: bool) -> Result<(), StoreError> {
        if !force && inner.checked.is_some_and(|t| t.elapsed() < ADOPT_EVERY) {
            return Ok(());
        }
        inner.checked = Some(std::time::Instant::now());
        let now = file_version(&self.store);
        if now == inner.seen {
            return Ok(());
        }
        let mut doc = self.store.read()?;
        for d in &inner.pending.list {
            apply(&mut doc, d, false);
        }
        inner.shadow = doc.clone();
        inner.doc = doc;
        inner.seen = now;
        Ok(())
    }
}

/// Make `doc` equal to `shadow` again, copying only what differs: a transaction that keeps no
/// edits has usually touched one pool (taken out of the document and not put back), and copying
/// the whole document for it would cost more than the transaction.
fn roll_back(doc: &mut AuthDoc, shadow: &AuthDoc) {
    const POOLS: &str = "credential_pool";
    let same_keys = |a: &Map<String, Value>, b: &Map<String, Value>| a.len() == b.len() && a.keys().eq(b.keys());
    if !same_keys(doc.root(), shadow.root()) {
        *doc = shadow.clone();
        return;
    }
    for (k, v) in shadow.root() {
        if doc.root().get(k) == Some(v) {
            continue;
        }
        match (doc.root_mut().get_mut(k).and_then(Value::as_object_mut), v.as_object()) {
            // The pools: only those that differ (with the same keys in the same order).
            (Some(mine), Some(theirs)) if k == POOLS && same_keys(mine, theirs) => {
                for (key, pool) in theirs {
                    if mine.get(key) != Some(pool) {
                        mine.insert(key.clone(), pool.clone());
                    }
                }
            }
            _ => {
                doc.root_mut().insert(k.clone(), v.clone());
            }
        }
    }
}

fn file_version(store: &Store) -> Seen {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(store.path()).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Run `f`, which may block on file locks and fsync: on a multi-thread tokio worker through
/// `block_in_place` (the worker's other tasks move to another thread), elsewhere as it is.
fn off_the_scheduler<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn entry_mut<'a>(doc: &'a mut AuthDoc, pool: &str, id: &str) -> Option<&'a mut Map<String, Value>> {
    doc.pool_mut(pool)
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|m| m.get("id").and_then(Value::as_str) == Some(id))
}

/// Replay `d` on `doc`. On the file (`merge`), a mark does not shorten a later deadline another
/// process wrote; announced figures older than the ones there are dropped.
fn apply(doc: &mut AuthDoc, d: &Delta, merge: bool) {
    let Some(m) = entry_mut(doc, &d.pool, &d.id) else { return };
    match &d.change {
        Change::Count(by) => {
            let n = m.get(REQUEST_COUNT).and_then(Value::as_i64).unwrap_or(0).max(0).saturating_add(*by);
            m.insert(REQUEST_COUNT.into(), n.into());
        }
        Change::Priority(priority) => {
            m.insert(PRIORITY.into(), (*priority).into());
        }
        Change::Headroom(value) => {
            // Each figure says what was left when it was announced: one another process took
            // later stands.
            let at = |v: Option<&Value>| v.and_then(|v| v.get("at")).and_then(Value::as_f64);
            if matches!((at(m.get(HEADROOM)), at(Some(value))), (Some(theirs), Some(ours)) if theirs > ours) {
                return;
            }
            m.insert(HEADROOM.into(), value.clone());
        }
        Change::Usage(days) => {
            let slot = m.entry(USAGE.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Some(all) = slot.as_object_mut() {
                for (day, by) in days {
                    let d = all.entry(day.clone()).or_insert_with(|| serde_json::json!({}));
                    for (k, n) in ["requests", "input", "output"].iter().zip(by) {
                        let was = d.get(*k).and_then(Value::as_i64).unwrap_or(0);
                        d[*k] = Value::from(was.saturating_add(*n).max(0));
                    }
                }
            }
        }
        Change::Mark(fields) => {
            let deadline = |m: &Map<String, Value>| m.get("last_error_reset_at").and_then(Value::as_f64);
            if merge && matches!((deadline(m), deadline(fields)), (Some(theirs), Some(ours)) if theirs > ours) {
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

/// An entry a transaction changed: where it is, what to replay on the file, and which of its
/// fields to copy to the shadow (`set`, borrowed from the document) or to drop from it
/// (`removed`).
struct Changed<'a> {
    pool: &'a str,
    index: usize,
    id: &'a str,
    changes: Vec<Change>,
    set: Vec<&'a str>,
    removed: Vec<String>,
}

/// A field that differs between two versions of an entry.
enum Field<'a, 'b> {
    /// Changed or added: its name and new value.
    Set(&'a str, &'a Value),
    /// Removed.
    Removed(&'b str),
}

/// The fields that differ from `before` to `after`. Maps whose keys are in the same order (the
/// usual case: the shadow follows the document field by field) are compared position by
/// position, without hashing a key.
fn changed_fields<'a, 'b>(before: &'b Map<String, Value>, after: &'a Map<String, Value>) -> Vec<Field<'a, 'b>> {
    if before.len() == after.len() && before.keys().zip(after.keys()).all(|(a, b)| a == b) {
        return before
            .values()
            .zip(after)
            .filter(|(vb, (_, va))| vb != va)
            .map(|(_, (k, v))| Field::Set(k, v))
            .collect();
    }
    let set = after.iter().filter(|(k, v)| before.get(k.as_str()) != Some(*v)).map(|(k, v)| Field::Set(k, v));
    let removed = before.keys().filter(|k| !after.contains_key(k.as_str())).map(|k| Field::Removed(k));
    set.chain(removed).collect()
}

/// The entries of `before` that `after` changed, or `None` when the change is more than
/// counts, priorities, marks, figures and usage (then it is written through). Pools `after`
/// says were not handed out since it was watched ([`AuthDoc::touched_pools`]) are not compared.
fn deltas<'a>(before: &AuthDoc, after: &'a AuthDoc) -> Option<Vec<Changed<'a>>> {
    // Everything outside the pools must be the same (compared in place, not copied).
    const POOLS: &str = "credential_pool";
    let (rb, ra) = (before.root(), after.root());
    let same_outside = rb.iter().filter(|(k, _)| *k != POOLS).all(|(k, v)| ra.get(k) == Some(v))
        && ra.keys().filter(|k| *k != POOLS).all(|k| rb.contains_key(k));
    if !same_outside {
        return None;
    }
    let keys = |r: &'a Map<String, Value>| r.get(POOLS).and_then(Value::as_object).into_iter().flat_map(|m| m.keys());
    if !rb.get(POOLS).and_then(Value::as_object).into_iter().flat_map(|m| m.keys()).eq(keys(ra)) {
        return None;
    }
    let mut out = Vec::new();
    let touched = after.touched_pools();
    for key in keys(ra) {
        if touched.is_some_and(|t| !t.iter().any(|k| k == key)) {
            continue;
        }
        let (b, a) = (before.pool(key), after.pool(key));
        if a.len() != b.len() {
            return None;
        }
        // Deltas name entries by id: a pool where an id repeats (a hand edit, another tool) is
        // written through instead.
        fn id(e: &Value) -> Option<&str> {
            e.get("id").and_then(Value::as_str)
        }
        let repeated = if a.len() <= 16 {
            a.iter().enumerate().any(|(i, e)| a[..i].iter().any(|o| id(o) == id(e)))
        } else {
            let mut ids = std::collections::HashSet::new();
            !a.iter().all(|e| ids.insert(id(e)))
        };
        if repeated {
            return None;
        }
        for (index, (eb, ea)) in b.iter().zip(a).enumerate() {
            let (Some(mb), Some(ma)) = (eb.as_object(), ea.as_object()) else {
                if eb == ea {
                    continue;
                }
                return None;
            };
            let fields = changed_fields(mb, ma);
            if fields.is_empty() {
                continue;
            }
            let id = ma.get("id").and_then(Value::as_str)?;
            if mb.get("id").and_then(Value::as_str) != Some(id) {
                return None;
            }
            let mut c = Changed { pool: key, index, id, changes: Vec::new(), set: Vec::new(), removed: Vec::new() };
            let mut marked = false;
            for field in fields {
                let (k, va) = match field {
                    Field::Set(k, v) => {
                        c.set.push(k);
                        (k, Some(v))
                    }
                    Field::Removed(k) => {
                        c.removed.push(k.to_string());
                        (k, None)
                    }
                };
                let vb = mb.get(k);
                match k {
                    HEADROOM => c.changes.push(Change::Headroom(va.cloned().unwrap_or(Value::Null))),
                    USAGE => c.changes.push(Change::Usage(usage_diff(vb, va))),
                    REQUEST_COUNT => {
                        let n = |v: Option<&Value>| v.and_then(Value::as_i64).unwrap_or(0);
                        c.changes.push(Change::Count(n(va) - n(vb)));
                    }
                    PRIORITY => c.changes.push(Change::Priority(va.and_then(Value::as_i64).unwrap_or(0))),
                    _ if tracked(k) => marked = true,
                    _ => return None,
                }
            }
            if marked {
                // A mark carries all its fields, so replaying it sets the whole mark.
                let fields = STATUS_FIELDS
                    .iter()
                    .chain([&RATE_LIMIT_STREAK])
                    .map(|f| (f.to_string(), ma.get(*f).cloned().unwrap_or(Value::Null)))
                    .collect();
                c.changes.push(Change::Mark(fields));
            }
            out.push(c);
        }
    }
    Some(out)
}

/// Bring `shadow` level with `doc` for the entries `changed` names, field by field.
fn level(shadow: &mut AuthDoc, doc: &AuthDoc, changed: &[Changed<'_>]) {
    for c in changed {
        let Some(from) = doc.pool(c.pool).get(c.index).and_then(Value::as_object) else { continue };
        let Some(to) = shadow.pool_mut(c.pool).get_mut(c.index).and_then(Value::as_object_mut) else { continue };
        for k in &c.set {
            let Some(v) = from.get(*k) else { continue };
            match to.get_mut(*k) {
                Some(slot) => *slot = v.clone(),
                None => {
                    to.insert((*k).to_string(), v.clone());
                }
            }
        }
        for k in &c.removed {
            to.shift_remove(k);
        }
    }
}

impl PoolState for WriteBehind {
    fn read(&self) -> Result<AuthDoc, StoreError> {
        let mut inner = self.lock();
        self.adopt(&mut inner, true)?;
        Ok(inner.doc.clone())
    }

    fn transact(&self, now: Epoch, f: &mut dyn FnMut(&mut AuthDoc) -> bool) -> Result<Committed, StoreError> {
        {
            let mut guard = self.lock();
            self.adopt(&mut guard, false)?;
            // The closure edits the document in place; `shadow` is the state before it. Only
            // the pools it was handed are compared with it afterwards.
            let inner = &mut *guard;
            inner.doc.watch_pools();
            if !f(&mut inner.doc) {
                roll_back(&mut inner.doc, &inner.shadow);
                return Ok(Committed { wrote: false });
            }
            inner.doc.prune_new_empties(&inner.shadow);
            match deltas(&inner.shadow, &inner.doc) {
                Some(changed) if changed.is_empty() => return Ok(Committed { wrote: false }),
                Some(mut changed) => {
                    level(&mut inner.shadow, &inner.doc, &changed);
                    for c in &mut changed {
                        for change in std::mem::take(&mut c.changes) {
                            inner.pending.push(c.pool, c.id, change);
                        }
                    }
                    return Ok(Committed { wrote: true });
                }
                // More than counts, priorities and marks: undone here, written through below.
                None => inner.doc = inner.shadow.clone(),
            }
        }
        // Written through: the closure runs again on the file, under its lock. That may wait for
        // another process's lock and fsync, so on an async worker it runs as blocking work.
        off_the_scheduler(|| {
            self.flush(now)?;
            let c = PoolState::transact(&self.store, now, f)?;
            let mut inner = self.lock();
            inner.seen = None;
            self.adopt(&mut inner, true)?;
            Ok(c)
        })
    }

    fn in_memory(&self) -> bool {
        true
    }

    fn try_lock_grant(&self, provider: &str, grant: &str) -> Result<Option<GrantGuard>, StoreError> {
        self.store.try_lock_grant(provider, grant)
    }

    fn backend(&self) -> super::state::BackendStatus {
        self.store.backend()
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
        // The three counts went as one (folded), adding 3.
        assert_eq!(wb.flush(3.0).unwrap(), 1);
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

    #[test]
    fn a_flush_waits_for_the_one_still_writing() {
        // The gateway's stop flushes once more; a flush of the flusher may still be waiting for
        // auth.json's lock with changes it took. The last flush must not return before them.
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 0}]));
        let wb = std::sync::Arc::new(WriteBehind::new(store.clone()).unwrap());
        let bump = |wb: &WriteBehind| {
            wb.transact(1.0, &mut |doc| {
                let m = entry_mut(doc, "p", "a").unwrap();
                let n = m["request_count"].as_i64().unwrap() + 1;
                m.insert("request_count".into(), n.into());
                true
            })
            .unwrap();
        };
        bump(&wb);
        // Another process holds the lock for a while.
        let (held, wait) = std::sync::mpsc::channel();
        let holder = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.update(1.5, |_| {
                    held.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(400));
                    Ok::<(), StoreError>(())
                })
            })
        };
        wait.recv().unwrap();
        let first = {
            let wb = wb.clone();
            std::thread::spawn(move || wb.flush(2.0))
        };
        while wb.pending() > 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        bump(&wb);
        assert_eq!(wb.flush(3.0).unwrap(), 1);
        assert_eq!(count(&store.read().unwrap(), "a"), 2, "the first flush's change is on disk too");
        assert_eq!(first.join().unwrap().unwrap(), 1);
        holder.join().unwrap().unwrap();
    }

    #[test]
    fn only_the_pools_a_transaction_was_handed_are_compared_and_none_is_missed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("auth.json"),
            json!({"version": 1, "credential_pool": {
                "p": [{"id": "a", "request_count": 1}],
                "q": [{"id": "b", "request_count": 1}],
            }})
            .to_string(),
        )
        .unwrap();
        let store = Store::new(tmp.path());
        let wb = WriteBehind::new(store.clone()).unwrap();
        // Through the pool accessor: only "q" is compared, and its change is kept.
        wb.transact(1.0, &mut |doc| {
            entry_mut(doc, "q", "b").unwrap().insert("request_count".into(), 2.into());
            true
        })
        .unwrap();
        // Through the raw tree: every pool is compared.
        wb.transact(1.0, &mut |doc| {
            doc.root_mut()["credential_pool"]["p"][0]["request_count"] = 5.into();
            true
        })
        .unwrap();
        assert_eq!(wb.pending(), 2);
        wb.flush(2.0).unwrap();
        let on_disk = store.read().unwrap();
        assert_eq!((count_in(&on_disk, "p", "a"), count_in(&on_disk, "q", "b")), (5, 2));
    }

    fn count_in(doc: &AuthDoc, pool: &str, id: &str) -> i64 {
        doc.pool(pool).iter().find(|e| e["id"] == id).unwrap()["request_count"].as_i64().unwrap_or(0)
    }

    #[test]
    fn later_figures_on_disk_win() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a"}, {"id": "b"}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        let figures = |left: i64, at: f64| json!({"requests_remaining": left, "at": at});
        wb.transact(1.0, &mut |doc| {
            entry_mut(doc, "p", "a").unwrap().insert("headroom".into(), figures(7, 100.0));
            entry_mut(doc, "p", "b").unwrap().insert("headroom".into(), figures(7, 100.0));
            true
        })
        .unwrap();
        assert_eq!(wb.pending(), 2);
        // Another process heard from the provider later about "a", earlier about "b".
        store
            .update(2.0, |doc| {
                entry_mut(doc, "p", "a").unwrap().insert("headroom".into(), figures(3, 150.0));
                entry_mut(doc, "p", "b").unwrap().insert("headroom".into(), figures(9, 50.0));
                Ok::<(), StoreError>(())
            })
            .unwrap();
        wb.flush(3.0).unwrap();
        let doc = store.read().unwrap();
        assert_eq!(doc.pool("p")[0]["headroom"], figures(3, 150.0), "theirs is newer");
        assert_eq!(doc.pool("p")[1]["headroom"], figures(7, 100.0), "ours is newer");
        assert_eq!(wb.read().unwrap().pool("p")[0]["headroom"], figures(3, 150.0));
    }

    #[test]
    fn a_pool_with_a_repeated_id_is_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 1}, {"id": "a", "request_count": 5}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        wb.transact(1.0, &mut |doc| {
            doc.pool_mut("p")[1]["request_count"] = 6.into();
            true
        })
        .unwrap();
        assert_eq!(wb.pending(), 0, "no delta by id for a repeated id");
        // In a larger pool too (looked for another way).
        let mut many: Vec<Value> = (0..20).map(|i| json!({"id": format!("e{i}"), "request_count": 0})).collect();
        many.push(json!({"id": "e3", "request_count": 0}));
        let tmp2 = tempfile::tempdir().unwrap();
        let big = WriteBehind::new(store_with(tmp2.path(), Value::Array(many))).unwrap();
        big.transact(1.0, &mut |doc| {
            doc.pool_mut("p")[0]["request_count"] = 1.into();
            true
        })
        .unwrap();
        assert_eq!(big.pending(), 0, "written through");
        assert_eq!(store.read().unwrap().pool("p")[1]["request_count"], 6);
        // A transaction that changes nothing afterwards writes nothing.
        assert!(!wb.transact(2.0, &mut |_| true).unwrap().wrote);
    }

    #[test]
    fn a_transaction_that_keeps_nothing_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 1}, {"id": "b"}]));
        let wb = WriteBehind::new(store).unwrap();
        let before = wb.read().unwrap();
        let edits: [&dyn Fn(&mut AuthDoc); 4] = [
            // A pool taken out (a mark that changed nothing).
            &|doc| drop(doc.take_pool("p")),
            &|doc| entry_mut(doc, "p", "b").unwrap().insert("label".into(), "x".into()).map_or((), drop),
            // Another pool, another top-level key: the shape changed.
            &|doc| doc.pool_mut("q").push(json!({"id": "c"})),
            &|doc| drop(doc.root_mut().insert("version".into(), 9.into())),
        ];
        for (n, edit) in edits.iter().enumerate() {
            let c = wb
                .transact(1.0, &mut |doc| {
                    edit(doc);
                    false
                })
                .unwrap();
            assert!(!c.wrote, "edit {n}");
            assert_eq!(wb.read().unwrap(), before, "edit {n}");
            assert_eq!(wb.pending(), 0, "edit {n}");
        }
    }

    #[test]
    fn a_transaction_that_panics_leaves_no_edit_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 1}]));
        let wb = WriteBehind::new(store).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = wb.transact(1.0, &mut |doc| {
                doc.pool_mut("p").clear();
                panic!("half-way");
            });
        }));
        assert!(caught.is_err());
        assert_eq!(count(&wb.read().unwrap(), "a"), 1, "the pool is back as it was");
        assert!(
            wb.transact(2.0, &mut |doc| {
                let m = entry_mut(doc, "p", "a").unwrap();
                m.insert("request_count".into(), 2.into());
                true
            })
            .unwrap()
            .wrote
        );
        assert_eq!(wb.pending(), 1);
    }

    #[test]
    fn counts_and_priorities_of_one_entry_fold_into_one_delta_each() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 3, "priority": 0}, {"id": "b"}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        for n in 1..=50 {
            wb.transact(1.0, &mut |doc| {
                let m = entry_mut(doc, "p", "a").unwrap();
                m.insert("request_count".into(), (3 + n).into());
                m.insert("priority".into(), (n % 7).into());
                true
            })
            .unwrap();
        }
        // A mark between them keeps its place; the folded count still adds up.
        wb.transact(1.0, &mut |doc| {
            entry_mut(doc, "p", "b").unwrap().insert("last_status".into(), "exhausted".into());
            true
        })
        .unwrap();
        assert_eq!(wb.pending(), 3, "one count, one priority, one mark");
        // Another process counted meanwhile: ours add to theirs.
        store
            .update(2.0, |doc| {
                entry_mut(doc, "p", "a").unwrap().insert("request_count".into(), 10.into());
                Ok::<(), StoreError>(())
            })
            .unwrap();
        wb.flush(3.0).unwrap();
        let doc = store.read().unwrap();
        assert_eq!(count(&doc, "a"), 60);
        assert_eq!(doc.pool("p")[0]["priority"], 50 % 7);
        assert_eq!(doc.pool("p")[1]["last_status"], "exhausted");
        // Folding starts afresh after a flush.
        wb.transact(4.0, &mut |doc| {
            entry_mut(doc, "p", "a").unwrap().insert("request_count".into(), 61.into());
            true
        })
        .unwrap();
        assert_eq!(wb.pending(), 1);
        wb.flush(5.0).unwrap();
        assert_eq!(count(&store.read().unwrap(), "a"), 61);
    }

    #[test]
    fn the_shadow_follows_added_changed_and_removed_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 1, "rate_limit_streak": 2}]));
        let wb = WriteBehind::new(store).unwrap();
        wb.transact(1.0, &mut |doc| {
            let m = entry_mut(doc, "p", "a").unwrap();
            m.shift_remove("rate_limit_streak");
            m.insert("request_count".into(), 2.into());
            m.insert("last_status".into(), "ok".into());
            true
        })
        .unwrap();
        let after = wb.read().unwrap();
        // A transaction that gives up goes back to exactly that state (the shadow is level), and
        // one that changes nothing has nothing to write.
        let c = wb
            .transact(2.0, &mut |doc| {
                let m = entry_mut(doc, "p", "a").unwrap();
                m.insert("rate_limit_streak".into(), 5.into());
                m.shift_remove("last_status");
                false
            })
            .unwrap();
        assert!(!c.wrote);
        assert_eq!(wb.read().unwrap(), after);
        let touch = |doc: &mut AuthDoc| {
            doc.pool_mut("p");
            true
        };
        assert!(!wb.transact(3.0, &mut |doc| touch(doc)).unwrap().wrote);
        assert_eq!(wb.pending(), 2, "one count, one mark");
    }

    #[test]
    fn changed_fields_in_the_same_order_and_in_another() {
        let map = |v: Value| v.as_object().unwrap().clone();
        let names = |before: &Map<String, Value>, after: &Map<String, Value>| -> Vec<String> {
            changed_fields(before, after)
                .into_iter()
                .map(|f| match f {
                    Field::Set(k, v) => format!("{k}={v}"),
                    Field::Removed(k) => format!("-{k}"),
                })
                .collect()
        };
        let before = map(json!({"id": "a", "priority": 1, "request_count": 5}));
        // Same keys, same order: position by position.
        assert_eq!(names(&before, &map(json!({"id": "a", "priority": 2, "request_count": 5}))), ["priority=2"]);
        assert!(names(&before, &before).is_empty());
        // Same keys in another order: by name, so nothing differs but the value.
        assert_eq!(names(&before, &map(json!({"request_count": 6, "id": "a", "priority": 1}))), ["request_count=6"]);
        // Added and removed.
        assert_eq!(
            names(&before, &map(json!({"id": "a", "request_count": 5, "last_status": "ok"}))),
            ["last_status=\"ok\"", "-priority"]
        );
    }

    #[test]
    fn a_lowered_count_is_not_folded_with_later_picks() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with(tmp.path(), json!([{"id": "a", "request_count": 5}]));
        let wb = WriteBehind::new(store.clone()).unwrap();
        let set = |n: i64| {
            wb.transact(1.0, &mut |doc| {
                entry_mut(doc, "p", "a").unwrap().insert("request_count".into(), n.into());
                true
            })
            .unwrap();
        };
        set(0);
        set(1);
        // Meanwhile another process wrote 2: replayed one by one, -5 stops at 0 and +1 makes 1.
        store
            .update(2.0, |doc| {
                entry_mut(doc, "p", "a").unwrap().insert("request_count".into(), 2.into());
                Ok::<(), StoreError>(())
            })
            .unwrap();
        wb.flush(3.0).unwrap();
        assert_eq!(count(&store.read().unwrap(), "a"), 1);
    }
}
