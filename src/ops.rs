//! Pool operations, each one store transaction on a fresh read (docs/design.md#write-protocol). The CLI commands, the
//! wizard and the runtime all call these; success messages are built from what they return,
//! which is what actually changed on disk.

use crate::context::Epoch;
use crate::error::{Conflict, EntrySummary, Error, NothingUsable, PoolSummary, Result, TargetMiss};
use crate::home::{Home, PoolRef};
use crate::model::entry::{self, AuthType, LastStatus, NewEntry};
use crate::model::AuthDoc;
use crate::pool::cooldown::{self, Decision, Outcome};
use crate::pool::status::Status;
use crate::pool::view::{PoolView, TargetError, ViewEntry};
use crate::secret::{Redactor, Secret};
use serde_json::Value;

/// A credential added by `add` or a login.
#[derive(Debug, Clone)]
pub struct Added {
    pub key: String,
    pub id: String,
    pub label: String,
    /// 1-based list position after the write.
    pub index: usize,
    /// Sources whose suppression was cleared.
    pub reenabled: Vec<String>,
    /// An OAuth login for an account already in the pool replaced that entry's tokens instead
    /// of adding one (docs/design.md#account-matching).
    pub replaced: bool,
    /// The key was that of a removed borrowed source: the source was restored instead of a
    /// copy being added.
    pub restored: bool,
}

/// Add an API key as a `manual` entry (docs/design.md#command-line).
pub fn add_api_key(home: &Home, pool: &PoolRef, secret: &Secret, label: Option<&str>) -> Result<Added> {
    let now = home.now();
    let base_url = home.default_base_url(pool, Some(secret.expose())).unwrap_or_default();
    let fp = secret.fingerprint();
    let added = home.state().update(now, |doc| -> Result<Added> {
        let reenabled = doc.suppressed(&pool.key);
        doc.set_suppressed(&pool.key, Vec::new());
        let view = home.view(doc, &pool.key, now);
        if let Some(i) = key_already_there(&view, &fp, &reenabled)? {
            // The key of a removed borrowed source: adding it restores that source (a second,
            // manual copy of one key would only be refused later).
            let v = &view.entries[i];
            let restored = Added {
                key: pool.key.clone(),
                id: v.entry.id.clone(),
                label: v.entry.label.clone(),
                index: i + 1,
                reenabled,
                replaced: false,
                restored: true,
            };
            view.write(doc);
            return Ok(restored);
        }
        let label = match label {
            Some(l) => {
                check_label_free(&view, l)?;
                l.to_string()
            }
            None => default_label(&view, "api-key"),
        };
        // Nor may a new id equal a label: the label would then name two entries.
        let id = entry::random_id(&|id| view.entries.iter().any(|v| v.entry.id == id || v.entry.label == id));
        let priority = view.entries.iter().map(|v| v.entry.priority).max().map_or(0, |p| p.saturating_add(1));
        let map = NewEntry {
            id: &id,
            label: &label,
            auth_type: if pool.key == "anthropic" && secret.expose().starts_with("sk-ant-oat") {
                AuthType::OAuth
            } else {
                AuthType::ApiKey
            },
            priority,
            source: "manual",
            access_token: Some(secret),
            refresh_token: None,
            base_url: Some(&base_url),
        }
        .into_map();
        view.write(doc);
        doc.pool_mut(&pool.key).push(Value::Object(map));
        let after = home.view(doc, &pool.key, now);
        let index = after.position_of(&id).map_or(after.entries.len(), |i| i + 1);
        Ok(Added { key: pool.key.clone(), id, label, index, reenabled, replaced: false, restored: false })
    })?;
    home.record(vec![added_event(&added, "api_key", now)]);
    Ok(added)
}

/// Check `secret` against the pool before asking anything more about it (the wizard asks for a
/// label only after this): a key already in the pool is the [`Conflict::DuplicateKey`] error
/// [`add_api_key`] would return; `Ok(true)` when it is the key of a removed borrowed source,
/// which adding restores (no label needed); `Ok(false)` when it is new.
pub fn check_new_key(home: &Home, pool: &PoolRef, secret: &Secret) -> Result<bool> {
    let now = home.now();
    let mut doc = home.state().read()?;
    let removed = doc.suppressed(&pool.key);
    doc.set_suppressed(&pool.key, Vec::new());
    let view = home.view(&doc, &pool.key, now);
    Ok(key_already_there(&view, &secret.fingerprint(), &removed)?.is_some())
}

/// The entry of `view` (built with the pool's suppressions lifted) that holds the key with
/// fingerprint `fp`: `Ok(Some(i))` when it is a `removed` source's, which adding restores; the
/// duplicate-key error when it is any other entry's; `Ok(None)` when the key is new.
fn key_already_there(view: &PoolView, fp: &str, removed: &[String]) -> Result<Option<usize>> {
    let Some(i) = view.entries.iter().position(|v| v.fingerprint().as_deref() == Some(fp)) else {
        return Ok(None);
    };
    let v = &view.entries[i];
    if removed.contains(&v.entry.source) {
        return Ok(Some(i));
    }
    Err(Error::Conflict(Conflict::DuplicateKey {
        pool: view.key.clone(),
        index: i + 1,
        id: v.entry.id.clone(),
        label: v.entry.label.clone(),
    }))
}

/// Refuse a label a TARGET could not name unambiguously (docs/design.md#ids-labels-priorities):
/// one already used in the pool in any case (lookups ignore case), one of digits only (read as
/// an index), or another entry's id.
pub fn check_label_free(view: &PoolView, label: &str) -> Result<()> {
    let label = label.trim();
    if let Some(i) = view.entries.iter().position(|v| v.entry.id == label) {
        return Err(Error::Conflict(Conflict::LabelIsId {
            pool: view.key.clone(),
            label: label.to_string(),
            index: i + 1,
        }));
    }
    if !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Conflict(Conflict::LabelIsIndex { label: label.to_string() }));
    }
    if let Some(i) = view.entries.iter().position(|v| v.entry.label.to_lowercase() == label.to_lowercase()) {
        return Err(Error::Conflict(Conflict::LabelTaken {
            pool: view.key.clone(),
            label: label.to_string(),
            index: i + 1,
            id: view.entries[i].entry.id.clone(),
        }));
    }
    Ok(())
}

/// `<prefix>-N` with the smallest N not already a label in the pool.
pub fn default_label(view: &PoolView, prefix: &str) -> String {
    (1..)
        .map(|n| format!("{prefix}-{n}"))
        .find(|l| !view.entries.iter().any(|v| &v.entry.label == l))
        .expect("an unused label exists")
}

/// A target miss as data: what matched (when several did) and every valid choice.
pub fn target_error(view: &PoolView, target: &str, err: TargetError) -> Error {
    let row = |i: usize| (i + 1, view.entries[i].entry.id.clone(), view.entries[i].entry.label.clone());
    let matches = match err {
        TargetError::NoMatch => Vec::new(),
        TargetError::Ambiguous(hits) => hits.into_iter().map(row).collect(),
    };
    Error::Target(Box::new(TargetMiss {
        pool: view.key.clone(),
        target: target.to_string(),
        matches,
        choices: (0..view.entries.len()).map(row).collect(),
    }))
}

/// What `remove` did.
#[derive(Debug, Clone)]
pub struct Removed {
    pub key: String,
    pub index: usize,
    pub id: String,
    pub label: String,
    pub source: String,
    /// The source was added to `suppressed_sources`.
    pub suppressed: bool,
}

/// Remove one entry (docs/design.md#command-line).
pub fn remove(home: &Home, pool: &PoolRef, target: &str) -> Result<Removed> {
    if target.trim().is_empty() {
        return Err(Error::Usage("TARGET is empty; give an index, id or label".into()));
    }
    let now = home.now();
    let removed = home.state().update(now, |doc| -> Result<Removed> {
        let mut view = home.view(doc, &pool.key, now);
        let i = view.find(target).map_err(|e| target_error(&view, target, e))?;
        let gone = view.entries.remove(i);
        view.renumber();
        view.write(doc);
        let source = gone.entry.source.clone();
        let mut suppressed = false;
        if source == crate::pool::candidate::DEVICE_CODE && matches!(pool.key.as_str(), "nous" | "openai-codex") {
            doc.remove_provider_state(&pool.key);
            if pool.key == "openai-codex" {
                suppressed = suppress(doc, &pool.key, &source);
            }
        } else if !gone.owned {
            suppressed = suppress(doc, &pool.key, &source);
        }
        Ok(Removed {
            key: pool.key.clone(),
            index: i + 1,
            id: gone.entry.id,
            label: gone.entry.label,
            source,
            suppressed,
        })
    })?;
    home.record(vec![event("removed", &removed.key, &removed.id, &removed.label, now)]);
    Ok(removed)
}

fn suppress(doc: &mut AuthDoc, key: &str, source: &str) -> bool {
    let mut list = doc.suppressed(key);
    if !list.iter().any(|s| s == source) {
        list.push(source.to_string());
    }
    doc.set_suppressed(key, list);
    true
}

/// What `restore` did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub key: String,
    /// The sources lifted from `suppressed_sources`.
    pub sources: Vec<String>,
    /// The entries they now seed (index, id, label); a source whose value is not set now seeds
    /// nothing until it is.
    pub entries: Vec<(usize, String, String)>,
}

/// Undo the suppression of a removed borrowed source (docs/design.md#suppression): `source`, or
/// every suppressed source of the pool when `None`. Its entry is seeded again in the same
/// transaction. A source that is not suppressed is an error naming the ones that are.
pub fn restore(home: &Home, pool: &PoolRef, source: Option<&str>) -> Result<Restored> {
    let now = home.now();
    home.state().update(now, |doc| {
        let list = doc.suppressed(&pool.key);
        let lifted: Vec<String> = match source.map(str::trim) {
            None => list.clone(),
            Some(s) => match list.iter().find(|x| x.as_str() == s || x.eq_ignore_ascii_case(s)) {
                Some(x) => vec![x.clone()],
                None => {
                    return Err(Error::Usage(format!(
                        "{s} is not removed from {}; removed sources: {}",
                        pool.key,
                        if list.is_empty() { "none".to_string() } else { list.join(", ") }
                    )))
                }
            },
        };
        doc.set_suppressed(&pool.key, list.into_iter().filter(|x| !lifted.contains(x)).collect());
        let view = home.view(doc, &pool.key, now);
        view.write(doc);
        let entries = view
            .entries
            .iter()
            .enumerate()
            .filter(|(_, v)| lifted.contains(&v.entry.source))
            .map(|(i, v)| (i + 1, v.entry.id.clone(), v.entry.label.clone()))
            .collect();
        Ok(Restored { key: pool.key.clone(), sources: lifted, entries })
    })
}

/// A dead entry that a pool-wide reset left alone.
#[derive(Debug, Clone)]
pub struct DeadEntry {
    pub key: String,
    pub id: String,
    pub label: String,
    pub reason: String,
}

/// What `reset` changed.
#[derive(Debug, Clone, Default)]
pub struct ResetReport {
    pub changed: usize,
    pub pools: usize,
    pub dead: Vec<DeadEntry>,
    /// With a TARGET: the entry it named (index, id, label), whether or not it had a cooldown.
    pub target: Option<(usize, String, String)>,
}

/// Reset cooldowns (docs/design.md#reset): a pool, every pool (`pool` None), or exactly one entry.
pub fn reset(home: &Home, pool: Option<&PoolRef>, target: Option<&str>) -> Result<ResetReport> {
    let now = home.now();
    let mut cleared: Vec<Value> = Vec::new();
    let report = home.state().update(now, |doc| -> Result<ResetReport> {
        cleared.clear();
        let keys = match pool {
            Some(p) => vec![p.key.clone()],
            None => doc.pool_keys(),
        };
        let mut report = ResetReport { pools: keys.len(), ..Default::default() };
        for key in &keys {
            let mut view = home.view(doc, key, now);
            let targets: Vec<usize> = match target {
                Some(t) => {
                    let i = view.find(t).map_err(|e| target_error(&view, t, e))?;
                    let e = &view.entries[i].entry;
                    report.target = Some((i + 1, e.id.clone(), e.label.clone()));
                    vec![i]
                }
                None => (0..view.entries.len())
                    .filter(|&i| {
                        view.entries[i].entry.last_status == Some(LastStatus::Exhausted)
                            || view.entries[i].map.contains_key(crate::pool::scoped::FIELD)
                    })
                    .collect(),
            };
            let mut changed = 0;
            for &i in &targets {
                let v = &mut view.entries[i];
                // A reset also forgets benches for single models and announced figures.
                let extra = v.map.shift_remove(crate::pool::scoped::FIELD).is_some()
                    | v.map.shift_remove(crate::pool::headroom::FIELD).is_some();
                if entry::has_status(&v.map) || extra {
                    entry::clear_status(&mut v.map);
                    v.reparse(key, now);
                    changed += 1;
                    cleared.push(event("reset", key, &v.entry.id, &v.entry.label, now));
                }
            }
            if target.is_none() {
                for v in view.entries.iter().filter(|v| v.entry.last_status == Some(LastStatus::Dead)) {
                    report.dead.push(DeadEntry {
                        key: key.to_string(),
                        id: v.entry.id.clone(),
                        label: v.entry.label.clone(),
                        reason: v.entry.last_error_reason.clone().unwrap_or_else(|| "dead".into()),
                    });
                }
            }
            // Materialise only when something changes: a no-op reset writes nothing.
            if changed > 0 {
                view.write(doc);
            }
            report.changed += changed;
        }
        Ok(report)
    })?;
    home.record(cleared);
    Ok(report)
}

/// The credential a pick returned, bound to its exact id and fingerprint.
#[derive(Debug, Clone)]
pub struct Pick {
    pub key: String,
    pub id: String,
    pub label: String,
    pub auth_type: AuthType,
    pub base_url: Option<String>,
    pub secret: Secret,
    pub fingerprint: String,
    pub source: String,
    /// The entry needs an OAuth refresh before use.
    pub needs_refresh: bool,
    /// The OAuth access token has already expired: without a refresh it cannot be used.
    pub expired: bool,
    /// The entry carried a status mark or streak when it was picked, so a success has something
    /// to clear.
    pub has_status: bool,
    /// The entry carried model benches when it was picked (a good answer lifts its model's).
    pub model_benches: bool,
}

/// One pick (docs/design.md#strategies) as one transaction; entries in `exclude` are skipped.
pub fn pick(home: &Home, pool: &PoolRef, exclude: &[String]) -> Result<Pick> {
    pick_preferring(home, pool, exclude, None, None, None)
}

/// [`pick`], preferring entry `prefer` while it is selectable (session affinity).
/// With a `model`, entries benched for that model (docs/recovery.md#model-benches) are left out
/// as if excluded; with a `tokens` estimate of the request, so are entries whose provider
/// announced fewer tokens left in the current window (docs/recovery.md#headroom).
pub fn pick_preferring(
    home: &Home,
    pool: &PoolRef,
    exclude: &[String],
    prefer: Option<&str>,
    model: Option<&str>,
    tokens: Option<u64>,
) -> Result<Pick> {
    let now = home.now();
    // Left out for sure: the caller's, and entries benched for this model by a rate limit.
    // Left out only while another entry can serve (`soft`): a model a key did not know (404) and
    // a key with fewer tokens announced than the estimate; when nothing else is left the request
    // goes to them and the provider's own answer decides.
    let with_model_benches = |view: &PoolView, soft: bool| -> Vec<String> {
        let mut all = exclude.to_vec();
        if let Some(m) = model {
            all.extend(
                view.entries
                    .iter()
                    .filter(|v| crate::pool::scoped::benched(&v.map, m, now).is_some_and(|code| soft || code != 404))
                    .map(|v| v.entry.id.clone()),
            );
        }
        if let Some(need) = tokens.and_then(|t| i64::try_from(t).ok()).filter(|_| soft) {
            all.extend(
                view.entries
                    .iter()
                    .filter(|v| crate::pool::headroom::tokens_left(&v.map, now).is_some_and(|left| left < need))
                    .map(|v| v.entry.id.clone()),
            );
        }
        all
    };
    // On the file store, a read first: nothing selectable means no transaction (and no lock
    // file or home created). In-memory and shared states answer that inside the transaction for
    // free (a shared one locks no file for a pick).
    if home.file_store().is_some() && !home.state().is_shared() {
        let snapshot = home.state().read()?;
        let view = home.view(&snapshot, &pool.key, now);
        if !has_choice(&view, &with_model_benches(&view, false)) {
            return Err(nothing_usable(home, &[(pool.key.clone(), view)], now));
        }
    }
    home.state().update(now, |doc| -> Result<Pick> {
        let mut view = home.view_taking(doc, &pool.key, now);
        let preferred = with_model_benches(&view, true);
        let exclude = if has_choice(&view, &preferred) { preferred } else { with_model_benches(&view, false) };
        let Some(j) = view.pick_preferring(&exclude, prefer, &mut rand::thread_rng()) else {
            // An error drops the transaction's edits (the pool taken out included).
            return Err(nothing_usable(home, &[(pool.key.clone(), view)], now));
        };
        let v = &view.entries[j];
        let secret = v.secret.clone().expect("selectable entries have a secret");
        let pick = Pick {
            key: pool.key.clone(),
            id: v.entry.id.clone(),
            label: v.entry.label.clone(),
            auth_type: v.entry.auth_type,
            base_url: home.base_url_of(pool, v),
            fingerprint: secret.fingerprint(),
            secret,
            source: v.entry.source.clone(),
            needs_refresh: matches!(v.status, Status::NeedsRefresh { .. }),
            expired: v.entry.auth_type == AuthType::OAuth
                && crate::pool::expiry::access_expiry(&pool.key, &v.entry, v.secret.as_ref()).expired(now),
            has_status: entry::has_status(&v.map),
            model_benches: v.map.get(crate::pool::scoped::FIELD).is_some_and(|b| !b.is_null()),
        };
        view.put_back(doc);
        Ok(pick)
    })
}

fn has_choice(view: &PoolView, exclude: &[String]) -> bool {
    view.entries.iter().any(|v| v.status.selectable() && v.secret.is_some() && !exclude.contains(&v.entry.id))
}

/// The "nothing usable" error: every pool tried, each entry's state, and the earliest time one
/// becomes usable, as data.
pub fn nothing_usable(_home: &Home, views: &[(String, PoolView)], now: Epoch) -> Error {
    Error::NothingUsable(Box::new(nothing_usable_summary(views, now)))
}

/// The data of [`nothing_usable`].
pub fn nothing_usable_summary(views: &[(String, PoolView)], now: Epoch) -> NothingUsable {
    let mut next: Option<(String, Epoch)> = None;
    let pools = views
        .iter()
        .map(|(key, view)| {
            if let Some(d) = view.earliest_deadline() {
                if next.as_ref().is_none_or(|(_, e)| d < *e) {
                    next = Some((key.clone(), d));
                }
            }
            PoolSummary {
                key: key.clone(),
                entries: view
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, v)| EntrySummary {
                        index: i + 1,
                        id: v.entry.id.clone(),
                        label: v.entry.label.clone(),
                        status: v.status.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    NothingUsable { pools, next, refused_fixed: Vec::new(), now }
}

/// Apply an outcome to an entry (docs/design.md#cooldowns) as one transaction. `bound_fingerprint` is the secret the
/// caller used: if the entry's secret changed since, nothing is marked. Returns the entry after
/// the mark, or None when the target is gone or was replaced.
pub fn mark(
    home: &Home,
    pool: &PoolRef,
    id: &str,
    bound_fingerprint: Option<&str>,
    outcome: &Outcome,
) -> Result<Option<ViewEntry>> {
    mark_for(home, pool, id, bound_fingerprint, outcome, None)
}

/// [`mark`] on behalf of a request: the event it causes names the request.
pub fn mark_for(
    home: &Home,
    pool: &PoolRef,
    id: &str,
    bound_fingerprint: Option<&str>,
    outcome: &Outcome,
    request: Option<&str>,
) -> Result<Option<ViewEntry>> {
    let now = home.now();
    let mut changed_to = None;
    let mut out = None;
    // The pool is moved out of the document and back (the gateway's hot path: every answer is
    // one of these); a mark that changes nothing drops the transaction's edits, which puts the
    // pool back as it was.
    home.state().transact(now, &mut |doc| {
        (changed_to, out) = (None, None);
        // Built before the pool is taken out: its siblings' secrets are masked too.
        let known = outcome_redactor(home, doc, outcome);
        let mut view = home.view_taking(doc, &pool.key, now);
        let Some(i) = view.position_of(id) else { return false };
        let fp = view.entries[i].fingerprint();
        if bound_fingerprint.is_some_and(|b| fp.as_deref() != Some(b)) {
            return false;
        }
        let before = view.entries[i].status.clone();
        let changed = apply_outcome(&mut view, i, outcome, now, &known);
        out = Some(view.entries[i].clone());
        if changed {
            changed_to = transition_event(&pool.key, &before, &view.entries[i], now);
            view.put_back(doc);
        }
        changed
    })?;
    if let (Some(e), Some(r)) = (changed_to.as_mut(), request) {
        e["request"] = r.into();
    }
    home.record(changed_to.into_iter().collect());
    Ok(out)
}

/// A mark made later, with others ([`mark_many`]).
#[derive(Debug, Clone)]
pub struct Mark {
    /// The pool's key.
    pub pool: String,
    pub id: String,
    /// The key the mark is bound to (see [`mark`]).
    pub fingerprint: Option<String>,
    pub outcome: Outcome,
    /// When the outcome happened: it is applied as of then (the day its usage counts for, and
    /// headroom figures newer than it are kept).
    pub at: Epoch,
    /// The request it comes from, named in the events it causes.
    pub request: Option<String>,
}

/// Many marks as one transaction, in order (several on one entry add up): each pool's view is
/// built once. Returns how many changed their entry.
pub fn mark_many(home: &Home, marks: &[Mark]) -> Result<usize> {
    if marks.is_empty() {
        return Ok(0);
    }
    let now = home.now();
    let mut keys: Vec<&str> = Vec::new();
    for m in marks {
        if !keys.contains(&m.pool.as_str()) {
            keys.push(&m.pool);
        }
    }
    let (mut events, mut applied) = (Vec::new(), 0);
    home.state().transact(now, &mut |doc| {
        (events, applied) = (Vec::new(), 0);
        let mut any = false;
        for key in &keys {
            let mine: Vec<&Mark> = marks.iter().filter(|m| m.pool == *key).collect();
            let known =
                if mine.iter().any(|m| has_provider_text(&m.outcome)) { home.redactor(doc) } else { Redactor::new() };
            let mut view = home.view(doc, key, now);
            let mut changed = false;
            for m in mine {
                let Some(i) = view.position_of(&m.id) else { continue };
                if m.fingerprint.as_deref().is_some_and(|b| view.entries[i].fingerprint().as_deref() != Some(b)) {
                    continue;
                }
                let before = view.entries[i].status.clone();
                if apply_outcome(&mut view, i, &m.outcome, m.at, &known) {
                    changed = true;
                    applied += 1;
                    // Applied as of its time (to the entry and every entry holding its key);
                    // their statuses are read as of now again, like `before` and the next mark's.
                    let fp = view.entries[i].fingerprint();
                    for (j, v) in view.entries.iter_mut().enumerate() {
                        if j == i || (fp.is_some() && v.fingerprint() == fp) {
                            v.reparse(key, now);
                        }
                    }
                    if let Some(mut e) = transition_event(key, &before, &view.entries[i], now) {
                        if let Some(r) = &m.request {
                            e["request"] = r.as_str().into();
                        }
                        events.push(e);
                    }
                }
            }
            if changed {
                view.write(doc);
                any = true;
            }
        }
        any
    })?;
    home.record(events);
    Ok(applied)
}

/// Whether an outcome carries provider text (to be masked before it is stored).
fn has_provider_text(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Http { reason, message, .. } => reason.is_some() || message.is_some(),
        Outcome::RefreshTerminal { reason, message } => !reason.is_empty() || message.is_some(),
        Outcome::ModelBench { reason, .. } => reason.is_some(),
        _ => false,
    }
}

/// The secrets to mask in an outcome's text: everything the home knows, built only when the
/// outcome carries provider text.
fn outcome_redactor(home: &Home, doc: &AuthDoc, outcome: &Outcome) -> Redactor {
    if has_provider_text(outcome) {
        home.redactor(doc)
    } else {
        Redactor::new()
    }
}

/// Mark entry `i` and every entry sharing its live secret (limits attach to the key). Returns
/// whether any entry changed; only then is the pool materialised and written.
///
/// The outcome's code, type and message are provider text: they go through `known` (plus the
/// entry's live secret) before anything reaches the file.
pub fn apply_outcome(view: &mut PoolView, i: usize, outcome: &Outcome, now: Epoch, known: &Redactor) -> bool {
    let sole = !view.entries.iter().enumerate().any(|(j, v)| j != i && v.status.selectable());
    let fp = view.entries[i].fingerprint();
    let masked = sanitise_outcome(outcome, &known.with(view.entries[i].secret.as_ref()));
    let outcome = &masked;
    let decision: Decision = cooldown::decide(&view.entries[i].entry, outcome, sole, now);
    let key = view.key.clone();
    let mut changed = false;
    for j in 0..view.entries.len() {
        let same = j == i || (fp.is_some() && view.entries[j].fingerprint() == fp);
        if same {
            let mut d = decision.clone();
            if let (Decision::Set(_), true) = (&d, j != i) {
                // Siblings with the same key get the same deadline, decided from their own history.
                d = cooldown::decide(&view.entries[j].entry, outcome, sole, now);
            }
            let mut touched = cooldown::apply(&mut view.entries[j].map, &d);
            if let Outcome::ModelBench { model, code, reason, until } = outcome {
                touched |=
                    crate::pool::scoped::bench(&mut view.entries[j].map, model, *until, *code, reason.as_deref(), now);
            }
            if let Outcome::Answered { headroom, usage, model, .. } = outcome {
                if let Some(m) = model {
                    crate::pool::scoped::lift(&mut view.entries[j].map, m);
                }
                // The figures belong to the key: every entry holding it gets them, unless it holds
                // figures announced later (an answer recorded after a newer one).
                let newer = |m: &serde_json::Map<String, Value>| {
                    m.get(crate::pool::headroom::FIELD)
                        .and_then(|h| h.get("at"))
                        .and_then(Value::as_f64)
                        .is_some_and(|at| at > now)
                };
                if let Some(h) = headroom.as_ref().filter(|_| !newer(&view.entries[j].map)) {
                    entry::set(&mut view.entries[j].map, crate::pool::headroom::FIELD, h.to_json(now));
                }
                // The request and its tokens count for the entry that served it.
                if j == i {
                    crate::pool::usage::add(&mut view.entries[j].map, 1, *usage, now);
                }
                touched = true;
            }
            if touched {
                view.entries[j].reparse(&key, now);
                changed = true;
            }
        }
    }
    changed
}

/// The outcome with its provider text sanitised (secrets masked, control characters gone, length
/// capped).
fn sanitise_outcome(outcome: &Outcome, r: &Redactor) -> Outcome {
    match outcome {
        Outcome::Http { code, reason, message, hint } => Outcome::Http {
            code: *code,
            reason: r.reason(reason.as_deref()),
            message: r.message(message.as_deref()),
            hint: *hint,
        },
        Outcome::RefreshTerminal { reason, message } => Outcome::RefreshTerminal {
            reason: r.reason(Some(reason)).unwrap_or_default(),
            message: r.message(message.as_deref()),
        },
        Outcome::ModelBench { model, code, reason, until } => Outcome::ModelBench {
            model: model.clone(),
            code: *code,
            reason: r.reason(reason.as_deref()),
            until: *until,
        },
        other => other.clone(),
    }
}

/// `report` (docs/design.md#command-line): find TARGET and apply the outcome. Unknown target → error, nothing marked.
pub fn report(home: &Home, pool: &PoolRef, target: &str, outcome: &Outcome) -> Result<(usize, ViewEntry)> {
    let now = home.now();
    let mut changed_to = None;
    let out = home.state().update(now, |doc| -> Result<_> {
        changed_to = None;
        let mut view = home.view(doc, &pool.key, now);
        let i = view.find(target).map_err(|e| target_error(&view, target, e))?;
        let known = outcome_redactor(home, doc, outcome);
        let before = view.entries[i].status.clone();
        if apply_outcome(&mut view, i, outcome, now, &known) {
            view.write(doc);
            changed_to = transition_event(&pool.key, &before, &view.entries[i], now);
        }
        Ok((i + 1, view.entries[i].clone()))
    })?;
    home.record(changed_to.into_iter().collect());
    Ok(out)
}

/// Count the tokens a streamed answer reported once it has ended (its request was counted when
/// it opened). Nothing happens when the entry is gone.
pub fn record_usage(home: &Home, pool: &PoolRef, id: &str, usage: crate::pool::usage::Usage) -> Result<()> {
    let now = home.now();
    home.state().update(now, |doc| -> Result<()> {
        let mut view = home.view(doc, &pool.key, now);
        let Some(i) = view.position_of(id) else { return Ok(()) };
        crate::pool::usage::add(&mut view.entries[i].map, 0, Some(usage), now);
        view.write(doc);
        Ok(())
    })
}

/// One line of the event log (docs/guide.md#history): what happened to which entry, when. Never
/// a secret: ids, labels and the provider's codes and reasons (already masked) only.
pub fn event(kind: &str, pool: &str, id: &str, label: &str, now: Epoch) -> Value {
    serde_json::json!({
        "time": crate::time::iso_z(now),
        "at": now,
        "event": kind,
        "provider": pool,
        "id": id,
        "label": label,
    })
}

/// `added`, with the credential's type.
pub fn added_event(added: &Added, kind: &str, now: Epoch) -> Value {
    let mut e = event("added", &added.key, &added.id, &added.label, now);
    e["type"] = kind.into();
    if added.replaced {
        e["replaced"] = true.into();
    }
    e
}

/// The event a change of status is: `benched` (or `headroom_bench`), `dead`, `came_back`; `None`
/// when the change is none of these (a bench extended to the same deadline, say).
pub fn transition_event(pool: &str, before: &Status, after: &ViewEntry, now: Epoch) -> Option<Value> {
    // Most marks change no status (a good answer on a healthy entry): decide before building.
    let kind = match (before, &after.status) {
        (Status::Dead { .. }, Status::Dead { .. }) => return None,
        (_, Status::Dead { .. }) => "dead",
        (Status::Cooling { until: was, .. }, Status::Cooling { until, .. }) if (was - until).abs() < 1.0 => {
            return None
        }
        (_, Status::Cooling { reason, .. }) if reason.as_deref() == Some(crate::pool::headroom::REASON) => {
            "headroom_bench"
        }
        (_, Status::Cooling { .. }) => "benched",
        (Status::Cooling { .. }, _) => "came_back",
        _ => return None,
    };
    let mut e = event(kind, pool, &after.entry.id, &after.entry.label, now);
    match &after.status {
        Status::Dead { reason, code, .. } => {
            e["reason"] = reason.clone().into();
            e["code"] = (*code).into();
        }
        Status::Cooling { class, reason, code, until } => {
            e["class"] = (*class).into();
            e["reason"] = reason.clone().into();
            e["code"] = (*code).into();
            e["until"] = crate::time::iso_z(*until).into();
        }
        _ => {}
    }
    Some(e)
}
