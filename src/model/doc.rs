//! The parsed auth.json document: an ordered JSON tree plus typed accessors.
//!
//! auth.json is shared with hermes-agent, so the tree is the source of truth (docs/design.md#store-format): key
//! order, unknown keys and the exact text of every number survive a parse/serialise round trip
//! (serde_json with `preserve_order` and `arbitrary_precision`; the one normalisation is that an
//! exponent is written as `e+N`/`e-N`, which is how Python writes it anyway). Typed views such as
//! [`Entry`] are read from it on demand, never round-tripped through structs.
//!
//! [`AuthDoc::parse`] validates the shape of docs/design.md#validation and migrates the two legacy forms of docs/design.md#store-format in
//! memory. Its error text never quotes a string value from the file (secrets live there); only
//! the short descriptions of non-secret scalars that [`Entry::parse`] makes are passed on.

use crate::context::Epoch;
use crate::model::entry::{self, is_owned, is_secret_looking, Entry};
use serde_json::{Map, Value};

/// Top-level key: absent or `1` on read, always `1` on write.
pub const VERSION: &str = "version";
/// Top-level key stamped by every write (ISO with microseconds and `+00:00`).
pub const UPDATED_AT: &str = "updated_at";
/// Top-level key: the provider hermes-agent considers in use (string or null).
pub const ACTIVE_PROVIDER: &str = "active_provider";
/// Top-level key: provider id → singleton OAuth state (docs/design.md#singleton-provider-state).
pub const PROVIDERS: &str = "providers";
/// Top-level key: pool key → array of entries (docs/design.md#entries).
pub const CREDENTIAL_POOL: &str = "credential_pool";
/// Top-level key: pool key → sources that are not seeded (docs/design.md#suppression).
pub const SUPPRESSED_SOURCES: &str = "suppressed_sources";
/// Legacy container of `nous_portal` (docs/design.md#store-format).
pub const SYSTEMS: &str = "systems";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The whole auth.json document, as an ordered JSON object.
#[derive(Debug, Clone)]
pub struct AuthDoc {
    root: Map<String, Value>,
    /// The pools a caller may have changed since [`AuthDoc::watch_pools`]. Not part of the
    /// document: equality ignores it.
    touched: Touched,
}

/// What [`AuthDoc::touched_pools`] knows: a change detector compares only these pools.
#[derive(Debug, Clone, Default)]
enum Touched {
    /// Not watched, or handed out whole ([`AuthDoc::root_mut`]): any pool may have changed.
    #[default]
    All,
    /// Only these pools were handed out mutably; with `saved`, each one as it was before its
    /// first hand-out (`None`: it did not exist), for [`AuthDoc::restore_saved`].
    Pools { keys: Vec<String>, saved: Option<Vec<(String, Option<Value>)>> },
}

impl PartialEq for AuthDoc {
    fn eq(&self, other: &AuthDoc) -> bool {
        self.root == other.root
    }
}

impl AuthDoc {
    /// A document with no keys at all: what [`crate::store::Store::read`] returns when auth.json
    /// does not exist.
    pub fn empty() -> AuthDoc {
        AuthDoc { root: Map::new(), touched: Touched::All }
    }

    /// The document a first write starts from: `{"version": 1, "providers": {}, "credential_pool": {}}`.
    pub fn new_document() -> AuthDoc {
        let mut root = Map::new();
        root.insert(VERSION.into(), Value::from(1));
        root.insert(PROVIDERS.into(), Value::Object(Map::new()));
        root.insert(CREDENTIAL_POOL.into(), Value::Object(Map::new()));
        AuthDoc { root, touched: Touched::All }
    }

    /// The raw tree, for keys that have no accessor.
    pub fn root(&self) -> &Map<String, Value> {
        &self.root
    }

    /// The raw tree, mutable. Remove keys with `shift_remove` so the others keep their order.
    pub fn root_mut(&mut self) -> &mut Map<String, Value> {
        self.touched = Touched::All;
        &mut self.root
    }

    /// Start noting which pools are handed out mutably from here on (see
    /// [`AuthDoc::touched_pools`]).
    pub(crate) fn watch_pools(&mut self) {
        self.touched = Touched::Pools { keys: Vec::new(), saved: None };
    }

    /// [`AuthDoc::watch_pools`], also keeping each pool as it was before its first hand-out,
    /// so that a caller can diff against or go back to the document as it is now without a
    /// copy of the whole of it.
    /// Copies already made of some pools, each exactly as the pool stands now (what
    /// [`AuthDoc::take_saved_level`] left), are given in `saved`: those are not copied again
    /// when first handed out.
    pub(crate) fn watch_pools_saving_from(&mut self, saved: Vec<(String, Option<Value>)>) {
        self.touched = Touched::Pools { keys: Vec::new(), saved: Some(saved) };
    }

    /// End the watch and hand out the saved copies brought level with the pools as they now
    /// stand: field by field where an entry keeps its keys in their order (the usual case: a
    /// pick changes a few values), else a copy. Cheaper than copying the pools again when the
    /// next watch starts from this document.
    pub(crate) fn take_saved_level(&mut self) -> Vec<(String, Option<Value>)> {
        let Touched::Pools { saved: Some(mut saved), .. } = std::mem::take(&mut self.touched) else {
            return Vec::new();
        };
        for (key, was) in &mut saved {
            let now = self.root.get(CREDENTIAL_POOL).and_then(|p| p.get(key.as_str()));
            match (&mut *was, now) {
                (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
                    a.iter_mut().zip(b).for_each(|(x, y)| level_entry(x, y))
                }
                _ => *was = now.cloned(),
            }
            debug_assert!(
                match (&*was, now) {
                    (Some(a), Some(b)) => same_in_order(a, b),
                    (a, b) => a.is_none() && b.is_none(),
                },
                "a saved pool brought level is the pool, key order included"
            );
        }
        saved
    }

    /// A pool as it was before [`AuthDoc::watch_pools_saving_from`]: the saved copy if it was handed
    /// out since, else the pool as it is. `None` when the document was handed out whole (then
    /// nothing is known).
    pub(crate) fn pool_before(&self, key: &str) -> Option<&[Value]> {
        match &self.touched {
            Touched::Pools { saved: Some(saved), .. } => match saved.iter().find(|(k, _)| k == key) {
                Some((_, Some(Value::Array(items)))) => Some(items),
                Some(_) => Some(&[]),
                None => Some(self.pool(key)),
            },
            _ => None,
        }
    }

    /// Put back the pools saved since [`AuthDoc::watch_pools_saving_from`]: the document is again as
    /// it was then, in its pools (what a caller changed elsewhere stays). `false`, changing
    /// nothing, when the document was handed out whole or not watched with saving.
    pub(crate) fn restore_saved(&mut self) -> bool {
        let Touched::Pools { saved: Some(saved), .. } = std::mem::take(&mut self.touched) else { return false };
        for (key, was) in saved {
            let pools = force_object(self.root.entry(CREDENTIAL_POOL).or_insert(Value::Null));
            match was {
                Some(v) => {
                    pools.insert(key, v);
                }
                None => {
                    pools.shift_remove(&key);
                }
            }
        }
        true
    }

    /// The pools that may have changed since [`AuthDoc::watch_pools`]; `None` when any may have
    /// (not watched, or the whole tree was handed out). Every other pool is as it was.
    pub(crate) fn touched_pools(&self) -> Option<&[String]> {
        match &self.touched {
            Touched::All => None,
            Touched::Pools { keys, .. } => Some(keys),
        }
    }

    fn touch(&mut self, key: &str) {
        let Touched::Pools { keys, saved } = &self.touched else { return };
        if keys.iter().any(|k| k == key) {
            return;
        }
        // A pool saved before the watch began (see `watch_pools_saving_from`) is not copied again.
        let copy = saved.as_ref().is_some_and(|s| !s.iter().any(|(k, _)| k == key));
        let was = copy.then(|| self.root.get(CREDENTIAL_POOL).and_then(|p| p.get(key)).cloned());
        if let Touched::Pools { keys, saved } = &mut self.touched {
            keys.push(key.to_string());
            if let (Some(saved), Some(was)) = (saved.as_mut(), was) {
                saved.push((key.to_string(), was));
            }
        }
    }

    /// Parse and validate auth.json bytes, then migrate the legacy forms (docs/design.md#store-format, docs/design.md#validation).
    ///
    /// The error is the problem text without the file name, e.g.
    /// `credential_pool.openrouter[2].priority: expected an integer, found "high"`.
    pub fn parse(bytes: &[u8]) -> Result<AuthDoc, String> {
        if bytes.is_empty() {
            return Err("empty file (0 bytes); expected a JSON object".into());
        }
        let (body, skipped) = match bytes.strip_prefix(UTF8_BOM) {
            Some(rest) => (rest, UTF8_BOM.len()),
            None => (bytes, 0),
        };
        let text = std::str::from_utf8(body)
            .map_err(|e| format!("not valid UTF-8 (byte offset {})", e.valid_up_to() + skipped))?;
        // One pass that builds the tree and refuses a key seen twice in one object: serde_json
        // alone keeps the last of two equal keys, and the first one's data would be lost on the
        // next write. A store with a duplicate key is invalid, like any other broken store.
        let value: Value = serde_json::from_str::<CheckedValue>(text).map(|v| v.0).map_err(|e| {
            if e.is_data() {
                e.to_string()
            } else {
                syntax_problem(&e)
            }
        })?;
        let root = match value {
            Value::Object(root) => root,
            other => return Err(format!("top level: expected an object, found {}", kind(&other))),
        };
        let mut doc = AuthDoc { root, touched: Touched::All };
        doc.migrate_legacy();
        doc.validate()?;
        Ok(doc)
    }

    /// Check the shape rules of docs/design.md#validation on the tree as it is now (no migration).
    pub fn validate(&self) -> Result<(), String> {
        let root = &self.root;
        match root.get(VERSION) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_f64() == Some(1.0) => {}
            Some(v) => return Err(format!("{VERSION}: expected 1, found {}", shown(v))),
        }
        match root.get(PROVIDERS) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(v) => return Err(format!("{PROVIDERS}: expected an object, found {}", kind(v))),
        }
        match root.get(CREDENTIAL_POOL) {
            None | Some(Value::Null) => {}
            Some(Value::Object(pools)) => {
                for (key, pool) in pools {
                    let Value::Array(items) = pool else {
                        return Err(format!("{CREDENTIAL_POOL}.{key}: expected an array, found {}", kind(pool)));
                    };
                    for (i, item) in items.iter().enumerate() {
                        let Value::Object(m) = item else {
                            return Err(format!(
                                "{CREDENTIAL_POOL}.{key}[{i}]: expected an object, found {}",
                                kind(item)
                            ));
                        };
                        if let Err(fe) = Entry::parse(m) {
                            return Err(format!("{CREDENTIAL_POOL}.{key}[{i}].{}", entry_problem(m, fe)));
                        }
                    }
                }
            }
            Some(v) => return Err(format!("{CREDENTIAL_POOL}: expected an object, found {}", kind(v))),
        }
        match root.get(SUPPRESSED_SOURCES) {
            None | Some(Value::Null) => {}
            Some(Value::Object(lists)) => {
                for (key, list) in lists {
                    let Value::Array(items) = list else {
                        return Err(format!(
                            "{SUPPRESSED_SOURCES}.{key}: expected an array of strings, found {}",
                            kind(list)
                        ));
                    };
                    if let Some((i, item)) = items.iter().enumerate().find(|(_, v)| !v.is_string()) {
                        return Err(format!(
                            "{SUPPRESSED_SOURCES}.{key}[{i}]: expected a string, found {}",
                            kind(item)
                        ));
                    }
                }
            }
            Some(v) => return Err(format!("{SUPPRESSED_SOURCES}: expected an object, found {}", kind(v))),
        }
        Ok(())
    }

    /// The file text: 2-space indent, `": "`, raw UTF-8, original number text, trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Cannot fail in practice (see `serialize`); the fallback only keeps this infallible for
        // display and tests. The store writes through `serialize`, which reports a failure.
        self.serialize().unwrap_or_default()
    }

    /// [`AuthDoc::to_bytes`], with serde_json's error kept. Serialising a `Map<String, Value>`
    /// into a Vec has no failure mode short of a number holding invalid text, which no parsed
    /// or built number does; the store still refuses to write if it ever happened.
    pub(crate) fn serialize(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(&self.root)?;
        out.push(b'\n');
        Ok(out)
    }

    /// Pool keys in file order.
    pub fn pool_keys(&self) -> Vec<String> {
        match self.root.get(CREDENTIAL_POOL) {
            Some(Value::Object(pools)) => pools.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The stored entry objects of a pool, in file order; empty if the pool does not exist.
    pub fn pool(&self, key: &str) -> &[Value] {
        match self.root.get(CREDENTIAL_POOL).and_then(|p| p.get(key)) {
            Some(Value::Array(items)) => items,
            _ => &[],
        }
    }

    /// The stored entry objects of a pool, mutable; creates `credential_pool` and the pool.
    /// A pool created here and left empty is not written (see [`crate::store::Store::update`]).
    pub fn pool_mut(&mut self, key: &str) -> &mut Vec<Value> {
        self.touch(key);
        let pools = force_object(self.root.entry(CREDENTIAL_POOL).or_insert(Value::Null));
        force_array(pools.entry(key).or_insert(Value::Null))
    }

    /// Move a pool's entries out, leaving the pool empty (for a reader that is done with the
    /// document; never written back). Empty if the pool does not exist.
    pub fn take_pool(&mut self, key: &str) -> Vec<Value> {
        self.touch(key);
        match self.root.get_mut(CREDENTIAL_POOL).and_then(|p| p.get_mut(key)) {
            Some(Value::Array(items)) => std::mem::take(items),
            _ => Vec::new(),
        }
    }

    /// Typed views of a pool's entries. An object that does not parse (only possible after an
    /// in-memory edit, since [`AuthDoc::parse`] validated the file) is skipped.
    pub fn entries(&self, key: &str) -> Vec<Entry> {
        self.pool(key).iter().filter_map(|v| v.as_object().and_then(|m| Entry::parse(m).ok())).collect()
    }

    /// Provider ids under `providers`, in file order.
    pub fn provider_ids(&self) -> Vec<String> {
        match self.root.get(PROVIDERS) {
            Some(Value::Object(p)) => p.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Singleton state `providers.<id>` (docs/design.md#singleton-provider-state), if present and an object.
    pub fn provider_state(&self, id: &str) -> Option<&Map<String, Value>> {
        self.root.get(PROVIDERS)?.get(id)?.as_object()
    }

    /// Singleton state `providers.<id>`, mutable; creates `providers` and the state. A state
    /// that is not an object (unusable anyway) is replaced by `{}`.
    pub fn provider_state_mut(&mut self, id: &str) -> &mut Map<String, Value> {
        let providers = force_object(self.root.entry(PROVIDERS).or_insert(Value::Null));
        force_object(providers.entry(id).or_insert(Value::Null))
    }

    /// Remove `providers.<id>`, keeping the order of the others. Whether it existed.
    pub fn remove_provider_state(&mut self, id: &str) -> bool {
        match self.root.get_mut(PROVIDERS) {
            Some(Value::Object(p)) => p.shift_remove(id).is_some(),
            _ => false,
        }
    }

    /// `active_provider`, when it is a string.
    pub fn active_provider(&self) -> Option<&str> {
        self.root.get(ACTIVE_PROVIDER)?.as_str()
    }

    /// Set `active_provider` (in place if the key exists, else appended).
    pub fn set_active_provider(&mut self, id: &str) {
        entry::set(&mut self.root, ACTIVE_PROVIDER, Value::String(id.to_string()));
    }

    /// Set an existing `active_provider` to null, as hermes-agent writes it; absent stays absent.
    pub fn clear_active_provider(&mut self) {
        if let Some(v) = self.root.get_mut(ACTIVE_PROVIDER) {
            *v = Value::Null;
        }
    }

    /// Sources not seeded into a pool (docs/design.md#suppression), in file order.
    pub fn suppressed(&self, key: &str) -> Vec<String> {
        match self.root.get(SUPPRESSED_SOURCES).and_then(|s| s.get(key)) {
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }

    /// Replace a pool's suppressed sources. An empty list deletes the key, and an emptied
    /// `suppressed_sources` object is deleted too (docs/design.md#store-format).
    pub fn set_suppressed(&mut self, key: &str, sources: Vec<String>) {
        if sources.is_empty() {
            if let Some(Value::Object(s)) = self.root.get_mut(SUPPRESSED_SOURCES) {
                s.shift_remove(key);
                if s.is_empty() {
                    self.root.shift_remove(SUPPRESSED_SOURCES);
                }
            }
            return;
        }
        let lists = force_object(self.root.entry(SUPPRESSED_SOURCES).or_insert(Value::Null));
        let list = Value::Array(sources.into_iter().map(Value::String).collect());
        match lists.get_mut(key) {
            Some(slot) => *slot = list,
            None => {
                lists.insert(key.to_string(), list);
            }
        }
    }

    /// Migrate the legacy forms of docs/design.md#store-format in place. Shapes it does not recognise are left for
    /// [`AuthDoc::validate`] to report (or, for `systems`, left alone: it is not ours).
    fn migrate_legacy(&mut self) {
        // `suppressed_sources.<key>` as an object whose keys are the sources → a list.
        if let Some(Value::Object(lists)) = self.root.get_mut(SUPPRESSED_SOURCES) {
            for list in lists.values_mut() {
                if let Value::Object(o) = list {
                    *list = Value::Array(o.keys().cloned().map(Value::String).collect());
                }
            }
        }
        // `systems.nous_portal` → `providers.nous`, unless a newer `providers.nous` exists (then
        // the legacy copy is stale and kept untouched, like any unknown key).
        let nous_free = match self.root.get(PROVIDERS) {
            None | Some(Value::Null) => true,
            Some(Value::Object(p)) => matches!(p.get("nous"), None | Some(Value::Null)),
            Some(_) => false,
        };
        if !nous_free {
            return;
        }
        let Some(Value::Object(systems)) = self.root.get_mut(SYSTEMS) else { return };
        if !matches!(systems.get("nous_portal"), Some(Value::Object(_))) {
            return;
        }
        let Some(state) = systems.shift_remove("nous_portal") else { return };
        if systems.is_empty() {
            self.root.shift_remove(SYSTEMS);
        }
        let providers = force_object(self.root.entry(PROVIDERS).or_insert(Value::Null));
        match providers.get_mut("nous") {
            Some(slot) => *slot = state,
            None => {
                providers.insert("nous".into(), state);
            }
        }
        if matches!(self.root.get(ACTIVE_PROVIDER), None | Some(Value::Null)) {
            self.set_active_provider("nous");
        }
    }

    /// Undo the empty containers an accessor created but nobody filled (a `pool_mut` or
    /// `provider_state_mut` that ended up unused), so that such an update counts as "no change"
    /// and writes nothing. Containers that existed in `before` are kept even when empty.
    pub(crate) fn prune_new_empties(&mut self, before: &AuthDoc) {
        let is_empty = |v: &Value| match v {
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            _ => false,
        };
        for container in [CREDENTIAL_POOL, PROVIDERS] {
            let old = before.root.get(container);
            let old_map = old.and_then(Value::as_object);
            let Some(Value::Object(now)) = self.root.get_mut(container) else { continue };
            let created: Vec<String> = now
                .iter()
                .filter(|(k, v)| is_empty(v) && !old_map.is_some_and(|o| o.contains_key(k.as_str())))
                .map(|(k, _)| k.clone())
                .collect();
            for k in created {
                now.shift_remove(&k);
            }
            if now.is_empty() && old_map.is_none() {
                // The container itself was created (or replaced a null) by an accessor.
                match old {
                    Some(v) => self.root.insert(container.to_string(), v.clone()),
                    None => self.root.shift_remove(container),
                };
            }
        }
    }

    /// What every write does to the document (docs/design.md#serialisation, docs/design.md#write-protocol): run each borrowed entry through the
    /// disk filter, set `version` to 1 and stamp `updated_at`. Existing keys keep their place.
    pub(crate) fn prepare_write(&mut self, now: Epoch) {
        self.touched = Touched::All;
        if let Some(Value::Object(pools)) = self.root.get_mut(CREDENTIAL_POOL) {
            for (key, pool) in pools.iter_mut() {
                let Value::Array(items) = pool else { continue };
                for item in items.iter_mut() {
                    let Value::Object(m) = item else { continue };
                    // A missing or null source defaults to `manual` (docs/design.md#entries), which is owned.
                    let source = m.get(entry::SOURCE).and_then(Value::as_str).unwrap_or("manual");
                    if !is_owned(key, source) {
                        entry::filter_borrowed(m);
                    }
                }
            }
        }
        // docs/design.md#store-format: empty suppression lists, and an empty `suppressed_sources`, are deleted.
        if let Some(Value::Object(sup)) = self.root.get_mut(SUPPRESSED_SOURCES) {
            sup.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
            if sup.is_empty() {
                self.root.shift_remove(SUPPRESSED_SOURCES);
            }
        }
        entry::set(&mut self.root, VERSION, Value::from(1));
        entry::set(&mut self.root, UPDATED_AT, Value::String(crate::time::iso_micros(now)));
    }
}

/// Make `x` equal to `y`, key order included, changing only the values that differ when the
/// two objects have the same keys in the same order.
fn level_entry(x: &mut Value, y: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (&mut *x, y) {
        if a.len() == b.len() && a.keys().zip(b.keys()).all(|(p, q)| p == q) {
            for ((_, va), (_, vb)) in a.iter_mut().zip(b) {
                if !same_in_order(va, vb) {
                    *va = vb.clone();
                }
            }
            return;
        }
    }
    *x = y.clone();
}

/// `a == b` with the keys of every object in the same order too.
fn same_in_order(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && same_in_order(va, vb))
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_in_order(x, y)),
        _ => a == b,
    }
}

/// `slot` as an object, replacing any other value (null, or a wrong type) with `{}` first.
fn force_object(slot: &mut Value) -> &mut Map<String, Value> {
    if let Value::Object(m) = slot {
        return m;
    }
    *slot = Value::Object(Map::new());
    force_object(slot)
}

/// `slot` as an array, replacing any other value with `[]` first.
fn force_array(slot: &mut Value) -> &mut Vec<Value> {
    if let Value::Array(a) = slot {
        return a;
    }
    *slot = Value::Array(Vec::new());
    force_array(slot)
}

/// `invalid JSON at line L column C: <what>`. serde_json's messages describe the syntax, never
/// the input text, so they are safe to show.
/// A JSON value built like serde_json's own, except that an object with the same key twice is
/// an error naming the key.
struct CheckedValue(Value);

/// The key serde_json's `arbitrary_precision` uses to hand a number over as its exact text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> serde::Deserialize<'de> for CheckedValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = CheckedValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(CheckedValue(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(CheckedValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(CheckedValue(Value::Array(out)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        let mut first = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if std::mem::take(&mut first) && key.0 == NUMBER_TOKEN {
                // A number, as its exact text (`1751360000.0` stays `1751360000.0`).
                let text: String = map.next_value()?;
                let n: serde_json::Number = serde_json::from_str(&text).map_err(serde::de::Error::custom)?;
                return Ok(CheckedValue(Value::Number(n)));
            }
            if out.contains_key(key.0.as_ref()) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key \"{}\" (JSON keeps only one of them; remove or rename the other)",
                    key.0
                )));
            }
            let CheckedValue(v) = map.next_value()?;
            out.insert(key.0.into_owned(), v);
        }
        Ok(CheckedValue(Value::Object(out)))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn syntax_problem(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = full.strip_suffix(&suffix).unwrap_or(&full);
    format!("invalid JSON at line {} column {}: {what}", e.line(), e.column())
}

/// The JSON type of a value, as the messages name it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a non-secret scalar (`99`, `"2"`); containers by type only.
fn shown(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => kind(v).to_string(),
        _ => {
            let s = v.to_string();
            if s.chars().count() > 40 {
                format!("{}...", s.chars().take(37).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// `<field>: <problem>` for an entry error. [`Entry::parse`] quotes the offending value; keep
/// that for scalars of ordinary fields (`"high"` is what the user needs to see), but name only
/// the type for containers (which may hold tokens) and for strings in secret-looking fields.
fn entry_problem(m: &Map<String, Value>, fe: entry::FieldError) -> String {
    let problem = match (m.get(&fe.field), fe.problem.split_once(", found ")) {
        (Some(v), Some((expected, _)))
            if matches!(v, Value::Array(_) | Value::Object(_)) || (is_secret_looking(&fe.field) && v.is_string()) =>
        {
            format!("{expected}, found {}", kind(v))
        }
        _ => fe.problem,
    };
    format!("{}: {problem}", fe.field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem(text: &str) -> String {
        AuthDoc::parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn validation_table() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty file (0 bytes); expected a JSON object"),
            (b"{\"version\": 1,", "invalid JSON at line 1 column 14: EOF while parsing a value"),
            (b"{\n  \"a\": 1,\n  \"b\" 2\n}", "invalid JSON at line 3 column 7: expected `:`"),
            (b"   ", "invalid JSON at line 1 column 3: EOF while parsing a value"),
            (b"{\"a\": \"\xff\"}", "not valid UTF-8 (byte offset 7)"),
            (b"\xEF\xBB\xBF{\"a\": \"\xc3\"}", "not valid UTF-8 (byte offset 10)"),
            (b"[]", "top level: expected an object, found an array"),
            (b"\"sk-secret\"", "top level: expected an object, found a string"),
            (b"null", "top level: expected an object, found null"),
            (br#"{"version": 99}"#, "version: expected 1, found 99"),
            (br#"{"version": "1"}"#, "version: expected 1, found \"1\""),
            (br#"{"providers": []}"#, "providers: expected an object, found an array"),
            (br#"{"credential_pool": "x"}"#, "credential_pool: expected an object, found a string"),
            (
                br#"{"credential_pool": {"openrouter": {"id": "a"}}}"#,
                "credential_pool.openrouter: expected an array, found an object",
            ),
            (
                br#"{"credential_pool": {"openrouter": [{"id": "a"}, {"id": "b"}, "sk-or-secret"]}}"#,
                "credential_pool.openrouter[2]: expected an object, found a string",
            ),
            (
                br#"{"credential_pool": {"openrouter": [{"id": "a"}, {"id": "b"}, {"id": "c", "priority": "high"}]}}"#,
                "credential_pool.openrouter[2].priority: expected an integer, found \"high\"",
            ),
            (
                br#"{"credential_pool": {"openrouter": [{"id": "a", "last_status": "cooling"}]}}"#,
                "credential_pool.openrouter[0].last_status: expected null, \"ok\", \"exhausted\" or \"dead\", found \"cooling\"",
            ),
            (
                br#"{"credential_pool": {"openrouter": [{"id": ""}]}}"#,
                "credential_pool.openrouter[0].id: missing or empty; every entry needs a non-empty string id",
            ),
            (
                br#"{"credential_pool": {"openrouter": [{"label": "x"}]}}"#,
                "credential_pool.openrouter[0].id: missing or empty; every entry needs a non-empty string id",
            ),
            (
                br#"{"credential_pool": {"x": [{"id": "a", "access_token": 5}]}}"#,
                "credential_pool.x[0].access_token: expected a string, found 5",
            ),
            (
                br#"{"credential_pool": {"x": [{"id": "a", "access_token": {"v": "sk-hidden"}}]}}"#,
                "credential_pool.x[0].access_token: expected a string, found an object",
            ),
            (br#"{"suppressed_sources": []}"#, "suppressed_sources: expected an object, found an array"),
            (
                br#"{"suppressed_sources": {"xai": "env:XAI_API_KEY"}}"#,
                "suppressed_sources.xai: expected an array of strings, found a string",
            ),
            (br#"{"suppressed_sources": {"xai": ["a", 5]}}"#, "suppressed_sources.xai[1]: expected a string, found a number"),
        ];
        for (bytes, want) in cases {
            assert_eq!(AuthDoc::parse(bytes).unwrap_err(), *want, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn accepted_forms() {
        for ok in [
            "{}",
            "\u{feff}{\"version\": 1}",
            r#"{"version": null, "providers": null, "credential_pool": null, "suppressed_sources": null}"#,
            r#"{"credential_pool": {"a": [{"id": "x"}, {"id": "x"}]}}"#,
            r#"{"credential_pool": {"a": [{"id": "x", "access_token": null, "last_status_at": "junk"}]}}"#,
            r#"{"providers": {"xai-oauth": "whatever", "nous": {"tls": {"insecure": false}}}}"#,
            r#"{"active_provider": 7, "updated_at": {"odd": true}}"#,
        ] {
            assert!(AuthDoc::parse(ok.as_bytes()).is_ok(), "{ok}: {:?}", AuthDoc::parse(ok.as_bytes()));
        }
    }

    #[test]
    fn secrets_never_echoed() {
        for text in [
            r#"{"credential_pool": {"x": "sk-SECRETVALUE"}}"#,
            r#"{"credential_pool": {"x": ["sk-SECRETVALUE"]}}"#,
            r#"{"credential_pool": {"x": [{"id": "a", "refresh_token": ["sk-SECRETVALUE"]}]}}"#,
            r#"{"credential_pool": {"x": [{"id": "a", "label": {"t": "sk-SECRETVALUE"}}]}}"#,
            r#"{"providers": "sk-SECRETVALUE"}"#,
            r#"{"version": ["sk-SECRETVALUE"]}"#,
            "{\"a\": \"sk-SECRETVALUE\" x}",
        ] {
            assert!(!problem(text).contains("SECRET"), "{}", problem(text));
        }
    }

    const PRETTY: &str = r#"{
  "version": 1,
  "zeta": {
    "nested": [
      1.50,
      1e+16,
      1e-05,
      -0.0,
      12345678901234567890123
    ]
  },
  "providers": {
    "nous": {
      "access_token": "tok",
      "tls": {
        "insecure": false,
        "ca_bundle": null
      },
      "extra": "ünïcødé ✓"
    }
  },
  "credential_pool": {
    "openrouter": [
      {
        "id": "81b6bb",
        "label": "api-key-1",
        "last_status_at": 1751360000.0,
        "last_error_reset_at": 1751360060.000,
        "unknown_entry_key": {
          "b": 2,
          "a": 1
        },
        "request_count": 12
      }
    ],
    "empty": []
  },
  "suppressed_sources": {},
  "updated_at": "2026-07-01T09:00:00.123456+00:00",
  "aaa_last": "kept"
}
"#;

    #[test]
    fn byte_exact_round_trip() {
        let doc = AuthDoc::parse(PRETTY.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(doc.to_bytes()).unwrap(), PRETTY);
        let with_bom = [UTF8_BOM, PRETTY.as_bytes()].concat();
        assert_eq!(AuthDoc::parse(&with_bom).unwrap().to_bytes(), PRETTY.as_bytes());
        // `\uXXXX` escapes are accepted and written back as raw UTF-8.
        let escaped = AuthDoc::parse(br#"{"a": "\u00fc"}"#).unwrap();
        assert_eq!(escaped.to_bytes(), "{\n  \"a\": \"ü\"\n}\n".as_bytes());
        assert_eq!(
            AuthDoc::new_document().to_bytes(),
            b"{\n  \"version\": 1,\n  \"providers\": {},\n  \"credential_pool\": {}\n}\n"
        );
    }

    #[test]
    fn edits_keep_order_and_number_text() {
        let mut doc = AuthDoc::parse(PRETTY.as_bytes()).unwrap();
        let pool = doc.pool_mut("openrouter");
        let m = pool[0].as_object_mut().unwrap();
        entry::set(m, "request_count", json!(13));
        doc.pool_mut("openrouter").push(json!({"id": "new"}));
        doc.provider_state_mut("nous").insert("z".into(), json!(1));
        doc.prepare_write(1751360000.5);
        let text = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(text.contains("\"last_status_at\": 1751360000.0,"));
        assert!(text.contains("\"last_error_reset_at\": 1751360060.000,"));
        assert!(text.contains("12345678901234567890123"));
        assert!(text.contains("\"request_count\": 13\n"));
        let keys: Vec<&String> = doc.root().keys().collect();
        assert_eq!(
            keys,
            // The empty `suppressed_sources` object is deleted on write (docs/design.md#store-format).
            ["version", "zeta", "providers", "credential_pool", "updated_at", "aaa_last"]
        );
        assert_eq!(doc.root()["updated_at"], json!("2025-07-01T08:53:20.500000+00:00"));
        let entry_keys: Vec<&String> = doc.pool("openrouter")[0].as_object().unwrap().keys().collect();
        assert_eq!(
            entry_keys,
            ["id", "label", "last_status_at", "last_error_reset_at", "unknown_entry_key", "request_count"]
        );
        assert_eq!(doc.entries("openrouter").len(), 2);
    }

    #[test]
    fn accessors() {
        let mut doc = AuthDoc::empty();
        assert!(doc.pool("x").is_empty());
        assert!(doc.pool_keys().is_empty());
        assert_eq!(doc.active_provider(), None);
        doc.pool_mut("b").push(json!({"id": "1"}));
        doc.pool_mut("a").push(json!({"id": "2", "priority": 3}));
        assert_eq!(doc.pool_keys(), ["b", "a"]);
        assert_eq!(doc.entries("a")[0].priority, 3);
        doc.provider_state_mut("nous").insert("k".into(), json!("v"));
        assert_eq!(doc.provider_state("nous").unwrap()["k"], json!("v"));
        assert_eq!(doc.provider_ids(), ["nous"]);
        assert!(doc.remove_provider_state("nous"));
        assert!(!doc.remove_provider_state("nous"));
        doc.set_active_provider("nous");
        assert_eq!(doc.active_provider(), Some("nous"));
        doc.clear_active_provider();
        assert_eq!(doc.root()["active_provider"], Value::Null);
        doc.set_suppressed("xai", vec!["env:XAI_API_KEY".into()]);
        doc.set_suppressed("openrouter", vec!["env:A".into(), "env:B".into()]);
        assert_eq!(doc.suppressed("openrouter"), ["env:A", "env:B"]);
        doc.set_suppressed("xai", vec![]);
        assert_eq!(doc.root()["suppressed_sources"], json!({"openrouter": ["env:A", "env:B"]}));
        doc.set_suppressed("openrouter", vec![]);
        assert!(!doc.root().contains_key("suppressed_sources"));
        assert!(doc.suppressed("openrouter").is_empty());
    }

    #[test]
    fn legacy_suppressed_object_becomes_list() {
        let doc =
            AuthDoc::parse(br#"{"suppressed_sources": {"xai": {"env:XAI_API_KEY": true, "env:B": 1}, "a": ["x"]}}"#)
                .unwrap();
        assert_eq!(doc.root()["suppressed_sources"], json!({"xai": ["env:XAI_API_KEY", "env:B"], "a": ["x"]}));
    }

    #[test]
    fn legacy_systems_nous_portal_moves() {
        let doc = AuthDoc::parse(
            br#"{"version": 1, "systems": {"nous_portal": {"access_token": "t", "n": 1.50}}, "other": 1}"#,
        )
        .unwrap();
        assert_eq!(
            doc.to_bytes(),
            AuthDoc::parse(
                br#"{"version": 1, "other": 1, "providers": {"nous": {"access_token": "t", "n": 1.50}}, "active_provider": "nous"}"#
            )
            .unwrap()
            .to_bytes()
        );

        // `systems` keeps its other keys; an existing active_provider is kept (null is replaced
        // in place).
        let doc = AuthDoc::parse(
            br#"{"active_provider": "anthropic", "providers": {"x": {}}, "systems": {"nous_portal": {"a": 1}, "keep": 2}}"#,
        )
        .unwrap();
        assert_eq!(doc.active_provider(), Some("anthropic"));
        assert_eq!(doc.root()["systems"], json!({"keep": 2}));
        assert_eq!(doc.root()["providers"], json!({"x": {}, "nous": {"a": 1}}));
        let doc = AuthDoc::parse(br#"{"active_provider": null, "systems": {"nous_portal": {}}}"#).unwrap();
        let keys: Vec<&String> = doc.root().keys().collect();
        assert_eq!(keys, ["active_provider", "providers"]);
        assert_eq!(doc.active_provider(), Some("nous"));

        // A newer providers.nous wins; the legacy copy is left alone.
        let text = br#"{"providers": {"nous": {"new": 1}}, "systems": {"nous_portal": {"old": 1}}}"#;
        let doc = AuthDoc::parse(text).unwrap();
        assert_eq!(doc.root()["providers"]["nous"], json!({"new": 1}));
        assert_eq!(doc.root()["systems"], json!({"nous_portal": {"old": 1}}));
        assert_eq!(doc.active_provider(), None);
    }

    #[test]
    fn prepare_write_filters_borrowed_only() {
        let mut doc = AuthDoc::parse(
            br#"{"credential_pool": {"openrouter": [
                {"id": "a", "source": "manual", "access_token": "sk-owned-123456"},
                {"id": "b", "source": "env:OPENROUTER_API_KEY", "access_token": "sk-borrowed-1234", "apiKey": "x"},
                {"id": "c", "access_token": "sk-default-source"}
            ], "nous": [{"id": "d", "source": "device_code", "access_token": "t", "refresh_token": "r"}]}}"#,
        )
        .unwrap();
        doc.prepare_write(0.0);
        let pool = doc.pool("openrouter");
        assert_eq!(pool[0]["access_token"], json!("sk-owned-123456"));
        assert_eq!(pool[1].get("access_token"), None);
        assert_eq!(pool[1].get("apiKey"), None);
        assert_eq!(pool[1]["secret_fingerprint"], json!(crate::secret::fingerprint("sk-borrowed-1234")));
        assert_eq!(pool[2]["access_token"], json!("sk-default-source"));
        assert_eq!(doc.pool("nous")[0]["refresh_token"], json!("r"));
        // A document without version gets it appended; updated_at too.
        let keys: Vec<&String> = doc.root().keys().collect();
        assert_eq!(keys, ["credential_pool", "version", "updated_at"]);
    }

    #[test]
    fn watched_pools_are_the_ones_handed_out_mutably() {
        let mut doc = AuthDoc::parse(br#"{"credential_pool": {"a": [], "b": [], "c": []}}"#).unwrap();
        assert!(doc.touched_pools().is_none(), "not watched: any pool may have changed");
        doc.watch_pools();
        assert_eq!(doc.touched_pools(), Some(&[][..]));
        doc.pool_mut("a");
        doc.take_pool("b");
        doc.pool_mut("a");
        let _ = doc.pool("c");
        assert_eq!(doc.touched_pools(), Some(&["a".to_string(), "b".to_string()][..]));
        let copy = doc.clone();
        assert_eq!(copy, AuthDoc::parse(br#"{"credential_pool": {"a": [], "b": [], "c": []}}"#).unwrap());
        doc.root_mut();
        assert!(doc.touched_pools().is_none(), "the whole tree was handed out");
    }

    #[test]
    fn saved_pools_give_the_document_before_and_put_it_back() {
        let text = br#"{"credential_pool": {"a": [{"id": "1"}], "b": [{"id": "2"}], "c": [{"id": "3"}]}}"#;
        let original = AuthDoc::parse(text).unwrap();
        let mut doc = original.clone();
        doc.watch_pools_saving_from(Vec::new());
        doc.pool_mut("a").push(serde_json::json!({"id": "4"}));
        doc.pool_mut("a")[0]["id"] = "9".into();
        let taken = doc.take_pool("b");
        doc.pool_mut("new").push(serde_json::json!({"id": "5"}));
        assert_eq!(taken, original.pool("b"));
        assert_eq!(doc.pool_before("a"), Some(original.pool("a")));
        assert_eq!(doc.pool_before("b"), Some(original.pool("b")));
        assert_eq!(doc.pool_before("c"), Some(original.pool("c")), "not handed out: as it is");
        assert_eq!(doc.pool_before("new"), Some(&[][..]));
        assert!(doc.restore_saved());
        assert_eq!(doc, original);
        doc.watch_pools_saving_from(Vec::new());
        doc.root_mut();
        assert_eq!(doc.pool_before("a"), None, "handed out whole: nothing known");
        assert!(!doc.restore_saved());
    }

    #[test]
    fn saved_pools_brought_level_serve_the_next_watch() {
        let text = br#"{"credential_pool": {"a": [{"id": "1", "n": 1, "u": {"x": 1, "y": 2}}, {"id": "2", "n": 2}], "b": [{"id": "3"}]}}"#;
        let mut doc = AuthDoc::parse(text).unwrap();
        doc.watch_pools_saving_from(Vec::new());
        doc.pool_mut("a")[0]["n"] = 5.into();
        // A nested object whose keys change order: equal as maps, not as written.
        doc.pool_mut("a")[0]["u"] = serde_json::json!({"y": 2, "x": 1});
        let second = doc.pool_mut("a")[1].as_object_mut().unwrap();
        second.shift_remove("id");
        second.insert("id".into(), "2".into());
        doc.pool_mut("b").push(serde_json::json!({"id": "4"}));
        doc.pool_mut("c").push(serde_json::json!({"id": "5"}));
        let saved = doc.take_saved_level();
        assert!(doc.touched_pools().is_none(), "the watch ended");
        let text_of = |v: &Option<Value>| v.as_ref().map(|v| serde_json::to_string(v).unwrap());
        for (key, copy) in &saved {
            let now = doc.root()[CREDENTIAL_POOL].get(key.as_str()).cloned();
            assert_eq!(text_of(copy), text_of(&now), "{key}: level with the pool, key order included");
        }
        // The next watch starts from those copies: its state before is the document now.
        let at_second_watch = doc.clone();
        doc.watch_pools_saving_from(saved);
        doc.pool_mut("a")[1]["n"] = 7.into();
        doc.take_pool("c");
        assert_eq!(doc.pool_before("a"), Some(at_second_watch.pool("a")));
        assert_eq!(doc.pool_before("c"), Some(at_second_watch.pool("c")));
        assert!(doc.restore_saved());
        assert_eq!(serde_json::to_string(doc.root()).unwrap(), serde_json::to_string(at_second_watch.root()).unwrap());
    }

    #[test]
    fn prune_new_empties() {
        let before = AuthDoc::parse(br#"{"credential_pool": {"kept": []}}"#).unwrap();
        let mut doc = before.clone();
        doc.pool_mut("kept");
        doc.pool_mut("fresh");
        doc.provider_state_mut("nous");
        doc.prune_new_empties(&before);
        assert_eq!(doc, before);
        let fresh = AuthDoc::new_document();
        let mut doc = fresh.clone();
        doc.pool_mut("x");
        doc.prune_new_empties(&fresh);
        assert_eq!(doc, fresh);
        let nulls = AuthDoc::parse(br#"{"credential_pool": null, "providers": null}"#).unwrap();
        let mut doc = nulls.clone();
        doc.pool_mut("x");
        doc.provider_state_mut("nous");
        doc.prune_new_empties(&nulls);
        assert_eq!(doc, nulls);
    }

    #[test]
    fn no_panic_on_odd_input() {
        let deep = "[".repeat(10_000);
        assert!(AuthDoc::parse(deep.as_bytes()).unwrap_err().contains("recursion limit"));
        for text in ["{\"a\":1}garbage", "\u{0}", "{\"credential_pool\": {\"\": [{\"id\": \"x\"}]}}", "1e999999"] {
            let _ = AuthDoc::parse(text.as_bytes());
        }
    }
}
