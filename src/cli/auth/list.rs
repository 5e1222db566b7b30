//! `hermes auth list`: every pool's entries, status and next pick. Reads only: no lock, no
//! write, no network.

use crate::cli::printer::{self, Printer};
use crate::context::Epoch;
use crate::error::Result;
use crate::home::Home;
use crate::pool::status::Status;
use crate::pool::view::{PoolView, ViewEntry};
use crate::time;
use comfy_table::{Cell, Color};
use serde_json::{json, Value};

/// List credential pools with status, request counts and the next pick.
///
/// Columns: index, id, label, type, source, masked key, status (with time left), request count,
/// and ← on the entry the next pick would return. Reads only: no lock, no write, no network.
///
/// Examples:
///   hermes auth list
///   hermes auth list openrouter --json | jq '.providers[0].entries[].status'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this provider's pool.
    pub provider: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

const FOOTNOTE: &str = "* not yet saved; discovered from the environment/config";

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let doc = home.store.read()?;
    let now = home.now();
    let keys = match &args.provider {
        Some(p) => vec![home.resolve(p)?.key()],
        None => home.pool_keys(&doc),
    };
    let views: Vec<PoolView> = keys.iter().map(|k| home.view(&doc, k, now)).filter(|v| !v.entries.is_empty()).collect();
    if args.json {
        let providers: Vec<Value> = views.iter().map(|v| pool_json(v, now)).collect();
        out.json(&json!({ "providers": providers }));
    }
    if views.is_empty() {
        match &args.provider {
            Some(_) => out.err(&format!("No credentials for {}.", keys[0])),
            None => out.err("No credentials. Add one with: hermes auth add PROVIDER"),
        }
        return Ok(());
    }
    if args.json {
        return Ok(());
    }
    let mut text = String::new();
    for v in &views {
        text.push_str(&render_pool(v, now, out.colour()));
        text.push('\n');
    }
    if views.iter().any(|v| v.entries.iter().any(|e| !e.persisted)) {
        text.push_str(FOOTNOTE);
        text.push('\n');
    }
    out.out(&text);
    Ok(())
}

/// `openrouter (3 credentials, fill_first)` and the table, columns separated by two spaces.
pub fn render_pool(v: &PoolView, now: Epoch, colour: bool) -> String {
    let n = v.entries.len();
    let mut s =
        format!("{} ({n} {}, {})\n", v.key, if n == 1 { "credential" } else { "credentials" }, v.strategy.as_str());
    let marker = v.next_marker();
    let mut table = printer::table(&["#", "ID", "LABEL", "TYPE", "SOURCE", "KEY", "STATUS", "REQS", "NEXT"]);
    for (i, e) in v.entries.iter().enumerate() {
        let id = if e.persisted { e.entry.id.clone() } else { format!("{}*", e.entry.id) };
        let mut status = Cell::new(e.status.describe(now));
        if colour {
            status = status.fg(match e.status {
                Status::Ok => Color::Green,
                Status::Cooling { .. } | Status::NeedsRefresh { .. } => Color::Yellow,
                Status::Dead { .. } | Status::SourceMissing { .. } => Color::Red,
            });
        }
        table.add_row(vec![
            Cell::new(i + 1),
            Cell::new(id),
            Cell::new(&e.entry.label),
            Cell::new(e.entry.auth_type.as_str()),
            Cell::new(e.source_display()),
            Cell::new(e.masked()),
            status,
            Cell::new(e.entry.request_count),
            Cell::new(if marker == Some(i) { "←" } else { "" }),
        ]);
    }
    s.push_str(&printer::render_table(table, colour));
    s
}

/// One entry as `list --json` (and `report --json`) show it.
pub fn entry_json(e: &ViewEntry, index: usize, now: Epoch, next: bool) -> Value {
    let until = e.status.until();
    json!({
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
        "until": until.map(time::iso_z),
        "seconds_left": until.map(|u| (u - now).max(0.0).ceil() as i64),
        "refreshable": e.refreshable,
        "read_only": e.read_only,
        "request_count": e.entry.request_count,
        "next": next,
    })
}

pub fn pool_json(v: &PoolView, now: Epoch) -> Value {
    let marker = v.next_marker();
    let entries: Vec<Value> =
        v.entries.iter().enumerate().map(|(i, e)| entry_json(e, i + 1, now, marker == Some(i))).collect();
    json!({
        "provider": v.key,
        "strategy": v.strategy.as_str(),
        "next": marker.map(|i| v.entries[i].entry.id.clone()),
        "entries": entries,
    })
}
