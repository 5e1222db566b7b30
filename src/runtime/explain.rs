//! `hermes auth explain`: which entry the next request would use, why every other entry is
//! skipped, and which fallback would follow. Reads only: no lock, no write, no network.

use super::chain::{self, Step};
use crate::context::Epoch;
use crate::error::Result;
use crate::home::{Home, PoolRef};
use crate::model::AuthDoc;
use crate::pool::status::Status;
use crate::pool::strategy::Strategy;
use crate::pool::view::{PoolView, ViewEntry};
use crate::text::one_line;
use crate::time;
use serde_json::{json, Value};

/// One entry and what the next pick makes of it.
#[derive(Debug, Clone)]
pub struct EntryWhy {
    /// 1-based position in list order.
    pub index: usize,
    pub id: String,
    pub label: String,
    /// The masked secret, or the fingerprint.
    pub secret: String,
    pub status: Status,
    pub selectable: bool,
    /// The next pick returns this entry.
    pub chosen: bool,
    /// Why it is chosen, passed over or skipped.
    pub why: String,
}

/// One fallback step and whether it could serve now.
#[derive(Debug, Clone)]
pub struct FallbackWhy {
    pub provider: String,
    pub model: String,
    /// `fallback_providers[0]` or `fallback_model`.
    pub origin: String,
    pub usable: bool,
    pub why: String,
}

/// The whole explanation.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub provider: String,
    pub strategy: Strategy,
    pub now: Epoch,
    pub entries: Vec<EntryWhy>,
    /// Why the chosen entry (or none) is next.
    pub next_why: String,
    /// When no entry is selectable: the earliest deadline of a cooling entry.
    pub next_usable_at: Option<Epoch>,
    pub fallbacks: Vec<FallbackWhy>,
    /// The fallback a request would go to if this pool had nothing usable (the first usable).
    pub would_follow: Option<String>,
    /// `warning: …` lines about skipped fallback entries.
    pub warnings: Vec<String>,
}

/// Explain the next pick of `pool` as of `now`.
pub fn explain(home: &Home, pool: &PoolRef, now: Epoch) -> Result<Explanation> {
    let doc = home.state().read()?;
    let view = home.view(&doc, &pool.key, now);
    let next = next_index(&view);
    let mut entries = Vec::with_capacity(view.entries.len());
    for (i, v) in view.entries.iter().enumerate() {
        let selectable = v.status.selectable() && v.secret.is_some();
        let mut why = entry_why(&view, i, next, now);
        for (model, until, code) in crate::pool::scoped::current(&view.entries[i].map, now) {
            let code = code.map(|c| format!(" ({c})")).unwrap_or_default();
            why.push_str(&format!("; for model {model} only: cooling until {}{code}", time::iso_z(until)));
        }
        entries.push(EntryWhy {
            index: i + 1,
            id: v.entry.id.clone(),
            label: v.entry.label.clone(),
            secret: v.masked(),
            status: v.status.clone(),
            selectable,
            chosen: Some(i) == next,
            why,
        });
    }
    let any = view.entries.iter().any(|v| v.status.selectable() && v.secret.is_some());
    let next_why = match (next, any) {
        (Some(_), _) => chosen_reason(view.strategy).to_string(),
        (None, true) => {
            format!("random: one of {} selectable entries", entries.iter().filter(|e| e.selectable).count())
        }
        (None, false) if view.entries.is_empty() => {
            format!("none: the pool is empty (add one: hermes auth add {})", pool.key)
        }
        (None, false) => "none: no entry is selectable".to_string(),
    };
    let (steps, warnings) = chain::fallbacks(home);
    let fallbacks: Vec<FallbackWhy> = steps.iter().map(|s| fallback_why(home, &doc, s, now)).collect();
    let would_follow = fallbacks.iter().find(|f| f.usable).map(|f| format!("{}/{}", f.provider, f.model));
    Ok(Explanation {
        provider: pool.key.clone(),
        strategy: view.strategy,
        now,
        entries,
        next_why,
        next_usable_at: if any { None } else { view.earliest_deadline() },
        fallbacks,
        would_follow,
        warnings,
    })
}

/// The entry a pick would return; `None` for random (any selectable one) or when none is.
fn next_index(view: &PoolView) -> Option<usize> {
    // The pick also needs a live secret; the marker alone does not check that.
    view.marker_where(|v| v.secret.is_some())
}

fn chosen_reason(s: Strategy) -> &'static str {
    match s {
        Strategy::FillFirst => "fill_first takes the first selectable entry in priority order",
        Strategy::RoundRobin => {
            "round_robin takes the first selectable entry by priority, which then goes behind the others"
        }
        Strategy::LeastUsed => "least_used takes the selectable entry with the fewest requests",
        Strategy::Random => "random",
        Strategy::Headroom => {
            "headroom takes the selectable entry with the most announced headroom (no figures count as full), then the fewest requests"
        }
    }
}

/// For the headroom strategy: the figure that decided, as announced.
fn headroom_note(view: &PoolView, v: &ViewEntry, now: Epoch) -> String {
    if view.strategy != Strategy::Headroom {
        return String::new();
    }
    match v.map.get(crate::pool::headroom::FIELD).and_then(crate::pool::headroom::Headroom::from_json) {
        Some(h) if v.headroom.is_some() => format!("; headroom {}‰: {}", v.headroom.unwrap_or(1000), h.describe(now)),
        _ => "; headroom: no current figures (counts as full)".to_string(),
    }
}

fn entry_why(view: &PoolView, i: usize, next: Option<usize>, now: Epoch) -> String {
    let v: &ViewEntry = &view.entries[i];
    if Some(i) == next {
        return format!("next ({}{})", v.status.describe(now), headroom_note(view, v, now));
    }
    if v.secret.is_none() && v.status.selectable() {
        return "skipped: no secret stored".to_string();
    }
    match &v.status {
        Status::Cooling { until, .. } => {
            let detail = v.status.describe(now);
            let detail = detail.strip_prefix("cooling: ").unwrap_or(&detail);
            format!("skipped: cooling until {}: {detail}", time::iso_z(*until))
        }
        Status::Dead { .. } => format!("skipped: {}", v.status.describe(now)),
        Status::SourceMissing { .. } => format!("skipped: {}", v.status.describe(now)),
        Status::NeedsRefresh { refreshable: false, .. } => format!("skipped: {}", v.status.describe(now)),
        _ => match (view.strategy, next) {
            (Strategy::Random, _) => "usable: one of the random choices".to_string(),
            (Strategy::LeastUsed, Some(n)) => format!(
                "usable, not next: {} requests against {} for #{}",
                v.entry.request_count,
                view.entries[n].entry.request_count,
                n + 1
            ),
            (_, Some(n)) => format!("usable, not next: #{} comes first", n + 1),
            (_, None) => "usable".to_string(),
        },
    }
}

fn fallback_why(home: &Home, doc: &AuthDoc, step: &Step, now: Epoch) -> FallbackWhy {
    let (usable, why) = match &step.fixed {
        Some(f) => (true, format!("uses its own key from {} ({})", f.origin, f.secret.mask())),
        None => {
            let view = home.view(doc, &step.pool.key, now);
            match next_index(&view) {
                Some(n) => {
                    let e = &view.entries[n];
                    (
                        true,
                        format!("usable: next #{} {} \"{}\"", n + 1, one_line(&e.entry.id), one_line(&e.entry.label)),
                    )
                }
                None if view.entries.iter().any(|v| v.status.selectable() && v.secret.is_some()) => {
                    (true, "usable (random pick)".to_string())
                }
                None if view.entries.is_empty() => (false, "not usable: no credentials".to_string()),
                None => match view.earliest_deadline() {
                    Some(t) => (false, format!("not usable until {}", time::iso_z(t))),
                    None => (false, "not usable: no selectable entry".to_string()),
                },
            }
        }
    };
    FallbackWhy {
        provider: step.provider().to_string(),
        model: step.model.clone(),
        origin: step.origin.clone(),
        usable,
        why,
    }
}

impl Explanation {
    /// The text `auth explain` prints on stdout.
    pub fn render(&self) -> String {
        let n = self.entries.len();
        let mut out = format!(
            "{} ({n} {}, {})\n",
            self.provider,
            if n == 1 { "credential" } else { "credentials" },
            self.strategy
        );
        match self.entries.iter().find(|e| e.chosen) {
            Some(e) => out.push_str(&format!(
                "next: #{} {} \"{}\" ({}): {}\n",
                e.index,
                one_line(&e.id),
                one_line(&e.label),
                e.secret,
                self.next_why
            )),
            None => {
                out.push_str(&format!("next: {}", self.next_why));
                if let Some(t) = self.next_usable_at {
                    out.push_str(&format!(
                        "; usable again at {} (in {})",
                        time::iso_z(t),
                        time::format_wait(t - self.now)
                    ));
                }
                out.push('\n');
            }
        }
        for e in &self.entries {
            out.push_str(&format!("  #{} {} \"{}\": {}\n", e.index, one_line(&e.id), one_line(&e.label), e.why));
        }
        if self.fallbacks.is_empty() {
            out.push_str("fallback: none configured (fallback_providers in config.yaml)\n");
        }
        for (i, f) in self.fallbacks.iter().enumerate() {
            out.push_str(&format!("fallback {}: {}/{} ({}): {}\n", i + 1, f.provider, f.model, f.origin, f.why));
        }
        let selectable = self.entries.iter().any(|e| e.selectable);
        match (&self.would_follow, selectable) {
            (Some(f), false) => out.push_str(&format!("the next request would go to fallback {f}\n")),
            (Some(f), true) => out.push_str(&format!("if {} had nothing usable: fallback {f}\n", self.provider)),
            (None, false) if !self.fallbacks.is_empty() => {
                out.push_str("no fallback is usable either: the next request would fail (exit 4)\n")
            }
            (None, false) => out.push_str("the next request would fail (exit 4)\n"),
            (None, true) => {}
        }
        out
    }

    /// The `auth explain --json` document.
    pub fn to_json(&self) -> Value {
        let iso = |t: Option<Epoch>| t.map(time::iso_z);
        let next = self
            .entries
            .iter()
            .find(|e| e.chosen)
            .map(|e| json!({"index": e.index, "id": e.id, "label": e.label, "reason": self.next_why}));
        json!({
            "provider": self.provider,
            "strategy": self.strategy.as_str(),
            "now": time::iso_z(self.now),
            "next": next,
            "next_reason": self.next_why,
            "next_usable_at": iso(self.next_usable_at),
            "entries": self.entries.iter().map(|e| json!({
                "index": e.index, "id": e.id, "label": e.label, "secret": e.secret,
                "status": e.status.json_name(), "until": iso(e.status.until()),
                "selectable": e.selectable, "next": e.chosen, "why": e.why,
            })).collect::<Vec<_>>(),
            "fallbacks": self.fallbacks.iter().map(|f| json!({
                "provider": f.provider, "model": f.model, "origin": f.origin, "usable": f.usable, "why": f.why,
            })).collect::<Vec<_>>(),
            "would_follow": self.would_follow,
        })
    }
}
