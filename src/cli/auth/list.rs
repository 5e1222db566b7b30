//! `hermes auth list`: every pool's entries, status and next pick. Reads only: no lock, no
//! write, no network.

use crate::cli::printer::{self, Printer};
use crate::context::Epoch;
use crate::error::Result;
use crate::home::Home;
use crate::pool::status::Status;
use crate::pool::strategy::Strategy;
use crate::pool::view::{PoolView, ViewEntry};
use crate::secret::Redactor;
use serde_json::{json, Value};

/// List credential pools with status, request counts and the next pick.
///
/// Columns: index, id, label, type, source, masked key, status (with time left), request count,
/// and ← on the entry the next pick would return (a random pool marks none and says so under
/// its table). Reads only: no lock, no write, no network.
///
/// Examples:
///   hermes auth list
///   hermes auth list openrouter --json | jq '.providers[0].entries[].status'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this provider's pool.
    pub provider: Option<String>,
    /// Also show removed sources (variables and config keys hermes was told to ignore), each
    /// with the command that restores it.
    #[arg(long)]
    pub all: bool,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A removed (suppressed) source of a pool, for `--all`.
struct RemovedSource {
    source: String,
    /// The masked value it would seed, or None when it is not set now.
    secret: Option<String>,
    restore: String,
}

impl RemovedSource {
    fn json(&self) -> Value {
        json!({"source": self.source, "secret": self.secret, "restore": self.restore})
    }

    fn line(&self) -> String {
        let value = self.secret.as_deref().map_or_else(|| "not set now".to_string(), one_line);
        format!("removed: {} ({value})\n  restore with: {}\n", one_line(&self.source), self.restore)
    }
}

fn removed_sources(home: &Home, doc: &crate::model::AuthDoc, key: &str) -> Vec<RemovedSource> {
    let suppressed = doc.suppressed(key);
    if suppressed.is_empty() {
        return Vec::new();
    }
    let candidates = home.candidates(doc, key);
    suppressed
        .into_iter()
        .map(|source| RemovedSource {
            secret: candidates.iter().find(|c| c.source == source).map(|c| c.secret.mask()),
            restore: super::remove::undo_command(key, &source),
            source,
        })
        .collect()
}

/// Whether a stored entry object holds a provider reason or message.
fn has_provider_text(v: &serde_json::Value) -> bool {
    ["last_error_reason", "last_error_message"].iter().any(|k| v.get(k).is_some_and(|t| !t.is_null()))
}

const FOOTNOTE: &str = "* not yet saved; discovered from the environment/config";

/// The shared backend's line (`None` for auth.json alone) and its JSON.
fn backend_line(home: &Home) -> Option<(String, Value)> {
    let b = home.state().backend();
    if !b.shared {
        return None;
    }
    let line = match (b.reachable, &b.problem) {
        (Some(false), Some(why)) => {
            format!("State: {} (not reachable: {}; showing the local state in auth.json)", b.location, one_line(why))
        }
        _ => format!("State: {} (reachable)", b.location),
    };
    let json = json!({"backend": b.name, "url": b.location, "reachable": b.reachable, "problem": b.problem});
    Some((line, json))
}

/// The last logged event of each entry, by (provider, id), from the tail of the event log.
fn last_events(home: &Home) -> std::collections::HashMap<(String, String), Value> {
    let mut last = std::collections::HashMap::new();
    for e in home.events().read_tail(256 * 1024) {
        let key = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        last.insert((key("provider"), key("id")), e.clone());
    }
    last
}

/// A label on one line, at most 24 characters.
fn short_label(label: &str) -> String {
    let l = one_line(label);
    if l.chars().count() <= 24 {
        return l.to_string();
    }
    format!("{}…", l.chars().take(23).collect::<String>())
}

/// `benched 3m ago`, for the line under a pool's table.
fn event_age(e: &Value, now: Epoch) -> String {
    let at = e.get("at").and_then(Value::as_f64).unwrap_or(now);
    let kind = e.get("event").and_then(Value::as_str).unwrap_or("event");
    format!("{} {} ago", one_line(kind), crate::time::format_wait((now - at).max(0.0)))
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let mut doc = home.state().read()?;
    let backend = backend_line(home);
    let last = last_events(home);
    let now = home.now();
    let mut keys = match &args.provider {
        Some(p) => vec![home.resolve(p)?.key()],
        None => home.pool_keys(&doc),
    };
    if args.all && args.provider.is_none() {
        let with_removed = doc.root().get(crate::model::doc::SUPPRESSED_SOURCES).and_then(Value::as_object);
        for k in with_removed.into_iter().flat_map(|m| m.keys()) {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        keys.sort();
    }
    // Without --all, removed sources are only counted, with the way to see them.
    let hidden: usize = if args.all { 0 } else { keys.iter().map(|k| doc.suppressed(k).len()).sum() };
    let hidden_hint = format!("{} not shown; see: hermes auth list --all", printer::count(hidden, "removed source"));
    let removed: Vec<Vec<RemovedSource>> =
        keys.iter().map(|k| if args.all { removed_sources(home, &doc, k) } else { Vec::new() }).collect();
    // Seeding reads the whole document (anthropic looks at its own pool, nous and codex at
    // `providers`), so every pool's candidates come first; then each pool's entries are moved
    // into its view rather than copied, since nothing reads the document after this.
    let candidates: Vec<_> = keys.iter().map(|k| home.candidates(&doc, k)).collect();
    // The secrets to mask in stored provider text are gathered before any pool is taken.
    let any_text = keys.iter().any(|k| doc.pool(k).iter().any(has_provider_text));
    let known: Option<Redactor> = any_text.then(|| home.redactor(&doc));
    let mut views: Vec<(PoolView, Vec<RemovedSource>)> = Vec::with_capacity(keys.len());
    for ((k, c), removed) in keys.iter().zip(&candidates).zip(removed) {
        let mut v = PoolView::build_taking(&mut doc, k, c, home.strategy(k), now);
        if let Some(r) = known.as_ref().filter(|_| v.has_provider_text()) {
            v.clean_provider_text(r, now);
        }
        if !v.entries.is_empty() || !removed.is_empty() {
            views.push((v, removed));
        }
    }
    if args.json {
        let providers: Vec<Value> = views
            .iter()
            .map(|(v, removed)| {
                let mut doc = pool_json(v, now);
                if let Some(entries) = doc.get_mut("entries").and_then(Value::as_array_mut) {
                    for (e, ve) in entries.iter_mut().zip(&v.entries) {
                        if let Some(ev) = last.get(&(v.key.clone(), ve.entry.id.clone())) {
                            let at = ev.get("at").and_then(Value::as_f64).unwrap_or(now);
                            e["last_event"] = json!({
                                "event": ev.get("event"),
                                "time": ev.get("time"),
                                "age_seconds": (now - at).max(0.0).round(),
                            });
                        }
                    }
                }
                if args.all {
                    doc["removed"] = removed.iter().map(RemovedSource::json).collect();
                }
                doc
            })
            .collect();
        let mut body = json!({ "providers": providers });
        if let Some((_, state)) = &backend {
            body["state"] = state.clone();
        }
        out.json(&body);
    }
    if views.is_empty() {
        match &args.provider {
            Some(_) => out.err(&format!("No credentials for {}.", keys[0])),
            None => out.err("No credentials. Add one with: hermes auth add PROVIDER"),
        }
        if hidden > 0 {
            out.err(&hidden_hint);
        }
        return Ok(());
    }
    if args.json {
        return Ok(());
    }
    let mut text = String::new();
    if let Some((line, _)) = &backend {
        text.push_str(line);
        text.push_str("\n\n");
    }
    for (v, removed) in &views {
        if v.entries.is_empty() {
            text.push_str(&format!("{} (0 credentials, {})\n", one_line(&v.key), v.strategy.as_str()));
        } else {
            text.push_str(&render_pool(v, now, out.colour(), out.stdout_width()));
        }
        for r in removed {
            text.push_str(&r.line());
        }
        // The pool's latest logged event (docs/guide.md#history).
        let latest =
            v.entries.iter().filter_map(|ve| last.get(&(v.key.clone(), ve.entry.id.clone())).map(|e| (ve, e))).max_by(
                |a, b| {
                    let at = |e: &Value| e.get("at").and_then(Value::as_f64).unwrap_or(0.0);
                    at(a.1).total_cmp(&at(b.1))
                },
            );
        if let Some((ve, e)) = latest {
            text.push_str(&format!(
                "Last event: {} {}; see: hermes auth history {}\n",
                short_label(&ve.entry.label),
                event_age(e, now),
                crate::text::shell_word(&v.key)
            ));
        }
        text.push('\n');
    }
    if views.iter().any(|(v, _)| v.entries.iter().any(|e| !e.persisted)) {
        text.push_str(FOOTNOTE);
        text.push('\n');
    }
    // Every cell went through `safe_line`; the only escapes left are our own colours.
    out.out_styled(&text);
    if hidden > 0 {
        out.err(&hidden_hint);
    }
    Ok(())
}

/// `openrouter (3 credentials, fill_first)` and the table, columns separated by two spaces.
///
/// With `random` no entry is marked: a line under the table says why. With a `width` (a
/// terminal), every line fits it: TYPE, SOURCE, REQS and ID go first, then the status and
/// label are shortened with `…`; piped output (`None`) is never cut.
pub fn render_pool(v: &PoolView, now: Epoch, colour: bool, width: Option<usize>) -> String {
    const HEADER: [&str; 9] = ["#", "ID", "LABEL", "TYPE", "SOURCE", "KEY", "STATUS", "REQS", "NEXT"];
    const ID: usize = 1;
    const LABEL: usize = 2;
    const TYPE: usize = 3;
    const SOURCE: usize = 4;
    const STATUS: usize = 6;
    const REQS: usize = 7;
    let n = v.entries.len();
    let marker = v.next_marker();
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    rows.extend(v.entries.iter().enumerate().map(|(i, e)| {
        let id = if e.persisted { one_line(&e.entry.id) } else { format!("{}*", one_line(&e.entry.id)) };
        vec![
            (i + 1).to_string(),
            id,
            one_line(&e.entry.label),
            e.entry.auth_type.as_str().to_string(),
            one_line(&e.source_display()),
            one_line(&e.masked()),
            {
                // Benches scoped to a model follow the entry's own status.
                let mut s = e.status.describe(now);
                for (model, until, _) in crate::pool::scoped::current(&e.map, now) {
                    s.push_str(&format!("; {model}: cooling, {} left", crate::time::format_wait(until - now)));
                }
                one_line(&s)
            },
            e.entry.request_count.to_string(),
            if marker == Some(i) { "←".to_string() } else { String::new() },
        ]
    }));
    let kept: Vec<usize> = match width {
        Some(w) => {
            // The reason after "… left" goes first; the time left goes only when nothing else can.
            let keep = rows[1..]
                .iter()
                .map(|r| {
                    let cell = &r[STATUS];
                    cell.find(" left: ").map_or_else(
                        || console::measure_text_width(cell),
                        |i| console::measure_text_width(&cell[..i + 5]) + 2,
                    )
                })
                .max()
                .unwrap_or(0)
                .max(6);
            let shrink = [(STATUS, keep.max(30)), (LABEL, 12), (STATUS, keep), (LABEL, 6), (STATUS, 14)];
            printer::fit(&mut rows, w, &[TYPE, SOURCE, REQS, ID], &shrink)
        }
        None => (0..HEADER.len()).collect(),
    };
    let mut rows = rows.into_iter();
    let header: Vec<String> = rows.next().map(|h| kept.iter().map(|&c| h[c].clone()).collect()).unwrap_or_default();
    let mut t = printer::table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for (row, e) in rows.zip(&v.entries) {
        let colour_of = match e.status {
            Status::Ok => comfy_table::Color::Green,
            Status::Cooling { .. } | Status::NeedsRefresh { .. } => comfy_table::Color::Yellow,
            Status::Dead { .. } | Status::SourceMissing { .. } => comfy_table::Color::Red,
        };
        let cells: Vec<comfy_table::Cell> = kept
            .iter()
            .map(|&c| {
                let cell = comfy_table::Cell::new(&row[c]);
                if colour && c == STATUS {
                    cell.fg(colour_of)
                } else {
                    cell
                }
            })
            .collect();
        t.add_row(cells);
    }
    let mut s = format!("{} ({}, {})\n", one_line(&v.key), printer::count(n, "credential"), v.strategy.as_str());
    s.push_str(&printer::render_table(t, colour));
    if v.strategy == Strategy::Random {
        match v.entries.iter().filter(|e| e.status.selectable()).count() {
            0 => {}
            1 => s.push_str("random: one entry is selectable, so it is the next pick\n"),
            n => {
                s.push_str(&format!("random: each pick is drawn from the {n} selectable entries, so none is marked\n"))
            }
        }
    }
    s
}

/// A cell on one line: control characters (a newline or tab in a label another tool wrote, an
/// escape sequence a provider sent) are shown escaped instead of breaking the table.
fn one_line(text: &str) -> String {
    printer::safe_line(text).into_owned()
}

/// One entry as `list --json` (and `report --json`) show it.
/// The `--json` document of one entry (see [`PoolView::entry_json`]).
pub fn entry_json(e: &ViewEntry, index: usize, now: Epoch, next: bool) -> Value {
    PoolView::entry_json(e, index, now, next)
}

/// The `--json` document of one pool (see [`PoolView::to_json`]).
pub fn pool_json(v: &PoolView, now: Epoch) -> Value {
    v.to_json(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuthDoc;
    use crate::pool::strategy::Strategy;

    const NOW: Epoch = 1_782_896_400.0;

    fn doc() -> AuthDoc {
        AuthDoc::parse(
            r#"{"version": 1, "credential_pool": {"openrouter": [
 {"id": "aaaaaa", "label": "日本語のラベル", "source": "manual", "access_token": "sk-or-v1-xxxxxxxxxxxx1111"},
 {"id": "bbbbbb", "label": "emoji 🚀 key", "source": "manual", "access_token": "short"},
 {"id": "cccccc", "label": "tab\there", "source": "manual", "access_token": "sk-or-v1-yyyyyyyy2222", "priority": 1},
 {"id": "dddddd", "label": "combining é", "source": "env:NOPE", "secret_fingerprint": "sha256:0011223344556677",
  "priority": 2, "request_count": 12345}
], "deepseek": [{"id": "eeeeee", "source": "manual", "access_token": "sk-deepseek-123456789"}]}}"#
                .as_bytes(),
        )
        .unwrap()
    }

    /// Columns padded to the widest cell by display width (wide CJK and emoji count 2), two
    /// spaces between, trailing blanks trimmed, control characters escaped.
    #[test]
    fn table_layout() {
        let view = PoolView::build(&doc(), "openrouter", &[], Strategy::FillFirst, NOW);
        let want = "\
openrouter (4 credentials, fill_first)
#  ID      LABEL           TYPE     SOURCE    KEY                      STATUS                        REQS   NEXT
1  aaaaaa  日本語のラベル  api_key  manual    sk-o…1111                ok                            0      ←
2  bbbbbb  emoji 🚀 key    api_key  manual    ****                     ok                            0
3  cccccc  tab\\there       api_key  manual    sk-o…2222                ok                            0
4  dddddd  combining é     api_key  env:NOPE  sha256:0011223344556677  source missing: NOPE not set  12345
";
        assert_eq!(render_pool(&view, NOW, false, None), want);
        let coloured = render_pool(&view, NOW, true, None);
        // Green for ok, red for source missing (comfy-table's colour codes).
        assert!(coloured.contains("\u{1b}[38;5;10mok"), "{coloured:?}");
        assert!(coloured.contains("\u{1b}[38;5;9msource missing: NOPE not set"), "{coloured:?}");
        // Colour codes take no room: stripped, the table is the same.
        assert_eq!(console::strip_ansi_codes(&coloured), want);
    }

    /// Moving the entries out of the document gives the same view as copying them.
    #[test]
    fn taking_view_equals_copying_view() {
        let original = doc();
        for key in ["openrouter", "deepseek", "absent"] {
            let mut taken = original.clone();
            let copied = PoolView::build(&original, key, &[], Strategy::LeastUsed, NOW);
            let moved = PoolView::build_taking(&mut taken, key, &[], Strategy::LeastUsed, NOW);
            assert_eq!(format!("{:?}", moved.entries), format!("{:?}", copied.entries), "{key}");
            assert_eq!(render_pool(&moved, NOW, false, None), render_pool(&copied, NOW, false, None));
            assert!(taken.pool(key).is_empty());
            assert!(!taken.root()["credential_pool"].as_object().unwrap().contains_key("absent"));
        }
    }
}
