//! The pool view (docs/design.md#the-pool-view): stored entries in priority order, hydrated with live secrets, merged
//! with unsuppressed seed candidates shown as virtual entries. Reads never materialise; a
//! mutation edits the view and then [`PoolView::write`]s it back into the document it was
//! built from, inside the same store transaction.

use crate::context::Epoch;
use crate::model::entry::{self, AuthType, Entry, LastStatus, NewEntry};
use crate::model::jwt;
use crate::model::AuthDoc;
use crate::pool::candidate::{self, Candidate, CLAUDE_CODE, DEVICE_CODE};
use crate::pool::status::{self, Status, StatusInput};
use crate::pool::strategy::{self, Strategy};
use crate::secret::Secret;
use crate::text::one_line;
use serde_json::{Map, Value};

/// Skew before expiry at which hermes refreshes its own OAuth entries.
pub const REFRESH_SKEW: f64 = 120.0;
/// Margin for OAuth entries hermes may not refresh.
pub const READ_ONLY_MARGIN: f64 = 60.0;

/// Sources hermes refreshes itself (docs/design.md#owned-and-borrowed: only its own `manual:*` logins).
pub fn is_refreshable_source(source: &str) -> bool {
    matches!(source, "manual:hermes_pkce" | "manual:claude_code_import" | "manual:device_code")
}

/// Tokens another tool wrote, used but never refreshed (docs/design.md#owned-and-borrowed).
pub fn is_read_only_source(pool_key: &str, source: &str) -> bool {
    source == CLAUDE_CODE
        || source == "hermes_pkce"
        || (source == DEVICE_CODE && matches!(pool_key, "nous" | "openai-codex"))
}

/// One row of the view.
#[derive(Debug, Clone)]
pub struct ViewEntry {
    /// The entry as it is (or would be) stored, after hydration.
    pub map: Map<String, Value>,
    pub entry: Entry,
    /// False for a virtual (seeded, not yet stored) entry.
    pub persisted: bool,
    stored_pos: Option<usize>,
    pub owned: bool,
    /// A borrowed entry whose source is in `suppressed_sources`: never selectable.
    pub suppressed: bool,
    /// The live secret: the stored token for owned entries, the source's value for borrowed ones.
    pub secret: Option<Secret>,
    pub status: Status,
    pub refreshable: bool,
    pub read_only: bool,
    /// The announced headroom in thousandths, while its window lasts (the `headroom` strategy).
    pub headroom: Option<u16>,
}

impl ViewEntry {
    /// `sk-o…1111`, or the stored fingerprint when the secret is not available.
    pub fn masked(&self) -> String {
        match &self.secret {
            Some(s) => s.mask(),
            None => self.entry.secret_fingerprint.clone().unwrap_or_else(|| "****".into()),
        }
    }

    /// Fingerprint of the live secret (or the stored one).
    pub fn fingerprint(&self) -> Option<String> {
        self.secret.as_ref().map(Secret::fingerprint).or_else(|| self.entry.secret_fingerprint.clone())
    }

    /// The SOURCE column: the source, with `(read-only)` for another tool's tokens.
    pub fn source_display(&self) -> String {
        if self.read_only {
            format!("{} (read-only)", self.entry.source)
        } else {
            self.entry.source.clone()
        }
    }

    /// Re-read the typed entry after editing `map` and recompute its status.
    pub fn reparse(&mut self, pool_key: &str, now: Epoch) {
        if let Ok(e) = Entry::parse(&self.map) {
            self.entry = e;
        }
        self.recompute(pool_key, now);
    }

    /// Recompute the status from `entry`, which must already match `map`.
    fn recompute(&mut self, pool_key: &str, now: Epoch) {
        let missing = if self.suppressed {
            Some(format!("{} was removed from hermes (suppressed)", self.entry.source))
        } else if self.owned || self.secret.is_some() {
            None
        } else {
            Some(candidate::missing_detail(&self.entry.source))
        };
        let (input, refreshable, read_only) = status_input(pool_key, &self.entry, self.secret.as_ref(), missing, now);
        self.status = status::compute(&self.entry, &input, now);
        self.refreshable = refreshable;
        self.read_only = read_only;
        self.headroom = super::headroom::stored_permille(&self.map, now);
    }
}

/// A pool as every command sees it.
#[derive(Debug, Clone)]
pub struct PoolView {
    pub key: String,
    pub strategy: Strategy,
    pub entries: Vec<ViewEntry>,
    /// Stored entries folded into the first entry of their source group.
    pub merged: usize,
}

/// Why a TARGET did not name exactly one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    NoMatch,
    Ambiguous(Vec<usize>),
}

fn strictness(m: &Map<String, Value>) -> f64 {
    let Ok(e) = Entry::parse(m) else { return 0.0 };
    match e.last_status {
        Some(LastStatus::Dead) => f64::INFINITY,
        Some(LastStatus::Exhausted) => status::deadline(&e).unwrap_or(0.0),
        _ => 0.0,
    }
}

fn copy_status(from: &Map<String, Value>, to: &mut Map<String, Value>) {
    for k in entry::STATUS_FIELDS {
        entry::set(to, k, from.get(k).cloned().unwrap_or(Value::Null));
    }
    match from.get(entry::RATE_LIMIT_STREAK) {
        Some(v) => entry::set(to, entry::RATE_LIMIT_STREAK, v.clone()),
        None => {
            to.shift_remove(entry::RATE_LIMIT_STREAK);
        }
    }
}

/// What the status model needs beyond the entry (expiry, margins, refreshability).
fn status_input(
    pool_key: &str,
    e: &Entry,
    secret: Option<&Secret>,
    missing: Option<String>,
    now: Epoch,
) -> (StatusInput, bool, bool) {
    let refreshable = e.auth_type == AuthType::OAuth && is_refreshable_source(&e.source);
    let read_only = is_read_only_source(pool_key, &e.source);
    let mut input = StatusInput {
        source_missing: missing,
        margin: if refreshable { REFRESH_SKEW } else { READ_ONLY_MARGIN },
        refreshable,
        ..Default::default()
    };
    if e.auth_type != AuthType::OAuth {
        return (input, refreshable, read_only);
    }
    match pool_key {
        "anthropic" => {
            input.expires_at = e.expires_at_ms.map(|ms| ms as f64 / 1000.0);
            if e.source == CLAUDE_CODE {
                input.refresh_hint =
                    Some("run Claude Code, or: hermes auth add anthropic --type oauth --import claude-code".into());
            } else if e.source == "hermes_pkce" {
                input.refresh_hint =
                    Some("run hermes-agent, or take it over: hermes auth add anthropic --import hermes-agent".into());
            } else if !refreshable {
                input.refresh_hint = Some("log in again: hermes auth add anthropic --type oauth".into());
            }
        }
        "openai-codex" => {
            input.expires_at = secret.and_then(|s| jwt::exp(&jwt::claims(s.expose())));
            if e.source == DEVICE_CODE {
                input.refresh_hint = Some(
                    "run hermes-agent, or take it over: hermes auth add openai-codex --import hermes-agent".into(),
                );
            } else if !refreshable {
                input.refresh_hint = Some("log in again: hermes auth add openai-codex".into());
            }
        }
        "nous" => {
            if let Some(s) = e.expires_at.as_deref() {
                match crate::time::parse_iso(s) {
                    Some(t) => input.expires_at = Some(t),
                    None => input.force_needs_refresh = true,
                }
            }
            if let Some(s) = secret {
                if !nous_runtime_key_ok(s.expose(), None, now) {
                    input.force_needs_refresh = true;
                }
            }
            if e.source == DEVICE_CODE {
                input.refresh_hint =
                    Some("run hermes-agent, or take it over: hermes auth add nous --import hermes-agent".into());
            } else if !refreshable {
                input.refresh_hint = Some("log in again: hermes auth add nous --type oauth".into());
            }
        }
        _ => {}
    }
    (input, refreshable, read_only)
}

/// Whether a Nous access token serves as the inference key (docs/design.md#oauth-flows).
pub fn nous_runtime_key_ok(token: &str, stored_scope: Option<&str>, now: Epoch) -> bool {
    if token.starts_with("sk-") {
        return true;
    }
    let claims = jwt::claims(token);
    if claims.is_empty() {
        // Opaque tokens: rely on the stored expiry alone.
        return true;
    }
    let scoped = jwt::has_scope(&claims, "inference:invoke")
        || stored_scope.is_some_and(|s| s.split_whitespace().any(|x| x == "inference:invoke"));
    scoped && jwt::exp(&claims).is_some_and(|exp| exp - now > REFRESH_SKEW)
}

impl PoolView {
    /// Build the view of `key` from a document and the pool's seed candidates.
    pub fn build(doc: &AuthDoc, key: &str, candidates: &[Candidate], strategy: Strategy, now: Epoch) -> PoolView {
        let stored = doc.pool(key).iter().map(|v| v.as_object().cloned());
        PoolView::from_stored(key, doc.suppressed(key), stored, candidates, strategy, now)
    }

    /// [`PoolView::build`] for a reader that is done with the document: the pool's entries are
    /// moved out of `doc` (leaving the pool empty) instead of copied. `candidates` must have
    /// been computed before any pool was taken. For `list` on a large store, copying every
    /// entry was a fifth of the run time.
    pub fn build_taking(
        doc: &mut AuthDoc,
        key: &str,
        candidates: &[Candidate],
        strategy: Strategy,
        now: Epoch,
    ) -> PoolView {
        let suppressed = doc.suppressed(key);
        let stored = doc.take_pool(key).into_iter().map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        });
        PoolView::from_stored(key, suppressed, stored, candidates, strategy, now)
    }

    /// The view over a pool's stored entry objects (in file order; `None` for a non-object).
    fn from_stored(
        key: &str,
        suppressed: Vec<String>,
        pool: impl Iterator<Item = Option<Map<String, Value>>>,
        candidates: &[Candidate],
        strategy: Strategy,
        now: Epoch,
    ) -> PoolView {
        let mut stored: Vec<(usize, Map<String, Value>, Entry)> = pool
            .enumerate()
            .filter_map(|(i, m)| {
                let m = m?;
                let e = Entry::parse(&m).ok()?;
                Some((i, m, e))
            })
            .collect();
        stored.sort_by_key(|(_, _, e)| e.priority);

        let mut entries: Vec<ViewEntry> = Vec::with_capacity(stored.len() + candidates.len());
        let mut merged = 0;
        let mut stored_sources: Vec<String> = Vec::new();
        for (pos, mut map, e) in stored {
            let owned = e.is_owned(key);
            stored_sources.push(e.source.clone());
            if !owned {
                if let Some(first) = entries.iter_mut().find(|v| !v.owned && v.entry.source == e.source) {
                    // Duplicate borrowed source: the first by priority stands, with the strictest status.
                    if strictness(&map) > strictness(&first.map) {
                        copy_status(&map, &mut first.map);
                        first.reparse(key, now);
                    }
                    merged += 1;
                    continue;
                }
            }
            // A source the user removed stays removed, even when another tool saved its entry
            // again (hermes-agent re-saves `env:*` rows): it is shown, never handed out.
            let is_suppressed = !owned && suppressed.contains(&e.source);
            let cand = candidates.iter().find(|c| c.source == e.source).filter(|_| !is_suppressed);
            // Whether `map` may now differ from the `e` parsed from it.
            let mut edited = false;
            let secret = if owned {
                if let (Some(c), true) = (cand, e.source == DEVICE_CODE) {
                    adopt_singleton(&mut map, c);
                    edited = true;
                }
                map.get(entry::ACCESS_TOKEN).and_then(Value::as_str).map(Secret::new)
            } else if let Some(c) = cand {
                let fp = c.secret.fingerprint();
                // A legacy row may still hold the secret it was seeded with instead of a
                // fingerprint: that secret is its stored identity.
                let stored_fp = e
                    .secret_fingerprint
                    .clone()
                    .or_else(|| entry::stored_secret(&map).map(|s| crate::secret::fingerprint(&s)));
                if stored_fp.is_some_and(|old| old != fp) {
                    // The key behind the source was rotated: its old cooldown says nothing about it.
                    entry::clear_status(&mut map);
                }
                // Drop legacy secrets now, so the write cannot fingerprint a stale one.
                entry::filter_borrowed(&mut map);
                entry::set(&mut map, entry::SECRET_FINGERPRINT, Value::String(fp));
                for (k, v) in &c.extra {
                    if !entry::is_secret_looking(k) {
                        entry::set(&mut map, k, v.clone());
                    }
                }
                edited = true;
                Some(c.secret.clone())
            } else {
                None
            };
            let mut ve = ViewEntry {
                entry: e,
                map,
                persisted: true,
                stored_pos: Some(pos),
                owned,
                suppressed: is_suppressed,
                secret,
                status: Status::Ok,
                headroom: None,
                refreshable: false,
                read_only: false,
            };
            // Most stored entries are read as they are: parsing them a second time would double
            // the cost of building a large pool's view (`list` on 200 entries).
            if edited {
                ve.reparse(key, now);
            } else {
                ve.recompute(key, now);
            }
            entries.push(ve);
        }

        let mut next_priority = entries.iter().map(|v| v.entry.priority).max().map_or(0, |p| p.saturating_add(1));
        for c in candidates {
            if suppressed.contains(&c.source) || stored_sources.contains(&c.source) {
                continue;
            }
            let taken = |id: &str| entries.iter().any(|v| v.entry.id == id);
            let id = entry::seeded_id(key, &c.source, &taken);
            let owned = entry::is_owned(key, &c.source);
            let mut map = NewEntry {
                id: &id,
                label: &c.label,
                auth_type: c.auth_type,
                priority: next_priority,
                source: &c.source,
                access_token: owned.then_some(&c.secret),
                refresh_token: None,
                base_url: c.base_url.as_deref(),
            }
            .into_map();
            for (k, v) in &c.extra {
                if owned || !entry::is_secret_looking(k) {
                    entry::set(&mut map, k, v.clone());
                }
            }
            if !owned {
                entry::set(&mut map, entry::SECRET_FINGERPRINT, Value::String(c.secret.fingerprint()));
            }
            next_priority = next_priority.saturating_add(1);
            let Ok(e) = Entry::parse(&map) else { continue };
            let mut ve = ViewEntry {
                entry: e,
                map,
                persisted: false,
                stored_pos: None,
                owned,
                suppressed: false,
                secret: Some(c.secret.clone()),
                status: Status::Ok,
                headroom: None,
                refreshable: false,
                read_only: false,
            };
            ve.reparse(key, now);
            entries.push(ve);
        }
        // Shown (and numbered) in file order, seeded entries after: an index read from `list`
        // names the same entry after any number of picks, because round_robin rotates
        // priorities, not positions (docs/design.md#ids-labels-priorities).
        entries.sort_by_key(|v| v.stored_pos.unwrap_or(usize::MAX));
        PoolView { key: key.to_string(), strategy, entries, merged }
    }

    /// One entry as `auth list --json` (and the gateway's `/hermes/pools`) shows it.
    pub fn entry_json(e: &ViewEntry, index: usize, now: Epoch, next: bool) -> Value {
        let until = e.status.until();
        let mut out = serde_json::json!({
            "index": index,
            "id": e.entry.id,
            "label": e.entry.label,
            "auth_type": e.entry.auth_type.as_str(),
            "source": e.entry.source,
            "priority": e.entry.priority,
            "persisted": e.persisted,
            "secret": e.masked(),
            "base_url": e.entry.base_url,
            "status": e.status.json_name(),
            "class": e.status.class(),
            "reason": e.status.reason(),
            "code": e.status.code(),
            "until": until.map(crate::time::iso_z),
            "seconds_left": until.map(|u| (u - now).max(0.0).ceil() as i64),
            "refreshable": e.refreshable,
            "read_only": e.read_only,
            "request_count": e.entry.request_count,
            "next": next,
        });
        let scoped = super::scoped::current(&e.map, now);
        if !scoped.is_empty() {
            out["model_benches"] = scoped
                .iter()
                .map(|(model, until, code)| {
                    serde_json::json!({
                        "model": model,
                        "code": code,
                        "until": crate::time::iso_z(*until),
                        "seconds_left": (until - now).max(0.0).ceil() as i64,
                    })
                })
                .collect();
        }
        out
    }

    /// The pool as `auth list --json` shows it.
    pub fn to_json(&self, now: Epoch) -> Value {
        let v = self;
        let marker = v.next_marker();
        let entries: Vec<Value> =
            v.entries.iter().enumerate().map(|(i, e)| PoolView::entry_json(e, i + 1, now, marker == Some(i))).collect();
        serde_json::json!({
            "provider": v.key,
            "strategy": v.strategy.as_str(),
            "next": marker.map(|i| v.entries[i].entry.id.clone()),
            "entries": entries,
        })
    }

    /// Whether any entry holds provider text (a stored reason or message).
    pub fn has_provider_text(&self) -> bool {
        self.entries.iter().any(|v| v.entry.last_error_reason.is_some() || v.entry.last_error_message.is_some())
    }

    /// Sanitise the provider text of every entry for showing it: text another tool (or an older
    /// hermes) stored may hold a key or terminal escapes. `known` is every secret of the home;
    /// that includes the entries' own live secrets. Only the typed entries change, never the stored
    /// objects, so nothing of this is written.
    pub fn clean_provider_text(&mut self, known: &crate::secret::Redactor, now: Epoch) {
        let key = self.key.clone();
        for v in &mut self.entries {
            if v.entry.last_error_reason.is_none() && v.entry.last_error_message.is_none() {
                continue;
            }
            // `known` holds every stored token and every borrowed key already (the entries' own
            // included), so it is used as it is: cloning it per entry made a large list
            // quadratic.
            let reason = known.reason(v.entry.last_error_reason.as_deref());
            let message = known.message(v.entry.last_error_message.as_deref());
            if reason != v.entry.last_error_reason || message != v.entry.last_error_message {
                v.entry.last_error_reason = reason;
                v.entry.last_error_message = message;
                v.recompute(&key, now);
            }
        }
    }

    /// [`PoolView::write`] for a view built with [`PoolView::build_taking`]: the entry objects
    /// move back into `doc` instead of being copied.
    pub fn put_back(self, doc: &mut AuthDoc) {
        // Stored entries in file order, then seeded ones: the order the view was built in, which
        // a pick keeps (it changes priorities, not places), so usually nothing moves.
        let key = |v: &ViewEntry| v.stored_pos.unwrap_or(usize::MAX);
        let mut entries = self.entries;
        if !entries.is_sorted_by_key(key) {
            entries.sort_by_key(key);
        }
        *doc.pool_mut(&self.key) = entries.into_iter().map(|v| Value::Object(v.map)).collect();
    }

    /// Write the view back into `doc` (materialisation, docs/design.md#the-pool-view): stored entries keep their file
    /// order, virtual ones are appended, merged duplicates and removed entries disappear.
    pub fn write(&self, doc: &mut AuthDoc) {
        let mut stored: Vec<&ViewEntry> = self.entries.iter().filter(|v| v.stored_pos.is_some()).collect();
        stored.sort_by_key(|v| v.stored_pos);
        let arr: Vec<Value> = stored
            .into_iter()
            .chain(self.entries.iter().filter(|v| v.stored_pos.is_none()))
            .map(|v| Value::Object(v.map.clone()))
            .collect();
        *doc.pool_mut(&self.key) = arr;
    }

    /// Entry indices in priority order (equal priorities in list order): the order the
    /// strategies see. The list order itself never changes with a pick.
    pub fn priority_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| self.entries[i].entry.priority);
        order
    }

    /// Renumber priorities 0..n−1, keeping their order.
    pub fn renumber(&mut self) {
        let order = self.priority_order();
        self.set_priorities(&order);
    }

    /// Give `order[k]` priority `k`.
    fn set_priorities(&mut self, order: &[usize]) {
        for (p, &i) in order.iter().enumerate() {
            let v = &mut self.entries[i];
            if v.entry.priority != p as i64 {
                entry::set(&mut v.map, entry::PRIORITY, (p as i64).into());
                v.entry.priority = p as i64;
            }
        }
    }

    /// The strategy's candidates in priority order, with that order; an entry counts as
    /// selectable when its status allows it and `usable` accepts it.
    fn ranked(&self, usable: impl Fn(&ViewEntry) -> bool) -> (Vec<usize>, Vec<strategy::Candidate>) {
        let order = self.priority_order();
        let cands = order
            .iter()
            .map(|&i| {
                let v = &self.entries[i];
                strategy::Candidate {
                    selectable: v.status.selectable() && usable(v),
                    request_count: v.entry.request_count,
                    headroom: v.headroom,
                }
            })
            .collect();
        (order, cands)
    }

    /// One pick on the view (docs/design.md#strategies): the strategy's choice among selectable entries with a
    /// live secret and not in `exclude`, round_robin's move-to-end with renumbered priorities, and
    /// the request count. Returns the chosen entry's index after any reordering. The store's
    /// pick ([`crate::ops::pick`]) and `auth simulate` both use it.
    pub fn pick(&mut self, exclude: &[String], rng: &mut impl rand::Rng) -> Option<usize> {
        self.pick_preferring(exclude, None, rng)
    }

    /// [`PoolView::pick`], but entry `prefer` (an id) is chosen while it is selectable and not
    /// excluded: session affinity keeps a provider's prompt cache warm. Its request count goes
    /// up; the strategy's order is left as it is.
    pub fn pick_preferring(
        &mut self,
        exclude: &[String],
        prefer: Option<&str>,
        rng: &mut impl rand::Rng,
    ) -> Option<usize> {
        if let Some(j) = prefer.and_then(|id| self.position_of(id)) {
            let v = &self.entries[j];
            if v.status.selectable() && v.secret.is_some() && !exclude.contains(&v.entry.id) {
                let v = &mut self.entries[j];
                v.entry.request_count = v.entry.request_count.saturating_add(1);
                entry::set(&mut v.map, entry::REQUEST_COUNT, v.entry.request_count.into());
                return Some(j);
            }
        }
        let (order, cands) = self.ranked(|v| v.secret.is_some() && !exclude.contains(&v.entry.id));
        let k = strategy::choose(self.strategy, &cands, rng)?;
        let j = order[k];
        if self.strategy == Strategy::RoundRobin {
            if let Some(rotated) = strategy::round_robin_order(&cands, k) {
                let by_priority: Vec<usize> = rotated.into_iter().map(|r| order[r]).collect();
                self.set_priorities(&by_priority);
            }
        }
        let v = &mut self.entries[j];
        v.entry.request_count = v.entry.request_count.saturating_add(1);
        entry::set(&mut v.map, entry::REQUEST_COUNT, v.entry.request_count.into());
        Some(j)
    }

    /// Index of the entry the next pick would return (`←` in `list`).
    pub fn next_marker(&self) -> Option<usize> {
        self.marker_where(|_| true)
    }

    /// [`PoolView::next_marker`] among the entries `usable` accepts (`explain` also needs a
    /// live secret).
    pub fn marker_where(&self, usable: impl Fn(&ViewEntry) -> bool) -> Option<usize> {
        let (order, cands) = self.ranked(usable);
        strategy::marker(self.strategy, &cands).map(|k| order[k])
    }

    pub fn any_selectable(&self) -> bool {
        self.entries.iter().any(|v| v.status.selectable())
    }

    /// The earliest cooling deadline, if any entry is cooling.
    pub fn earliest_deadline(&self) -> Option<Epoch> {
        self.entries.iter().filter_map(|v| v.status.until()).min_by(|a, b| a.total_cmp(b))
    }

    pub fn position_of(&self, id: &str) -> Option<usize> {
        self.entries.iter().position(|v| v.entry.id == id)
    }

    /// Match TARGET (docs/design.md#command-line): exact id, else a label (case-insensitive), else a 1-based index.
    pub fn find(&self, target: &str) -> Result<usize, TargetError> {
        let by_id: Vec<usize> = (0..self.entries.len()).filter(|&i| self.entries[i].entry.id == target).collect();
        let by_label: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].entry.label.to_lowercase() == target.to_lowercase())
            .collect();
        for hits in [by_id, by_label] {
            match hits.len() {
                0 => {}
                1 => return Ok(hits[0]),
                _ => return Err(TargetError::Ambiguous(hits)),
            }
        }
        if !target.is_empty() && target.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(n) = target.parse::<usize>() {
                if n >= 1 && n <= self.entries.len() {
                    return Ok(n - 1);
                }
            }
        }
        Err(TargetError::NoMatch)
    }

    /// `  #1 81b6bb api-key-1` lines for the given indices.
    pub fn choice_lines(&self, indices: impl IntoIterator<Item = usize>) -> String {
        indices
            .into_iter()
            .map(|i| {
                format!(
                    "  #{} {} {}",
                    i + 1,
                    one_line(&self.entries[i].entry.id),
                    one_line(&self.entries[i].entry.label)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The singleton is authoritative for a stored `device_code` entry (docs/design.md#seeding): adopt newer tokens.
fn adopt_singleton(map: &mut Map<String, Value>, c: &Candidate) {
    let current = map.get(entry::ACCESS_TOKEN).and_then(Value::as_str);
    if current == Some(c.secret.expose()) {
        return;
    }
    entry::set(map, entry::ACCESS_TOKEN, Value::String(c.secret.expose().to_string()));
    for (k, v) in &c.extra {
        entry::set(map, k, v.clone());
    }
    entry::clear_status(map);
}
