//! `hermes auth status`: per entry of one pool, the OAuth token expiry, the last refresh, whether
//! a refresh is due (and whether hermes will do it), and any dead reason (docs/design.md#command-line). Reads only.

use crate::cli::printer::{self, Printer};
use crate::context::Epoch;
use crate::error::Result;
use crate::home::Home;
use crate::model::entry::AuthType;
use crate::oauth;
use crate::pool::expiry::{self, Expiry};
use crate::pool::status::Status;
use crate::pool::view::{PoolView, ViewEntry};
use crate::time;
use serde_json::{json, Value};

/// Show OAuth token state per entry: expiry, last refresh, whether a refresh is due, dead reason.
///
/// hermes refreshes its own logins automatically when they are picked within 2 minutes of
/// expiry; tokens another tool wrote are shown as read-only. Makes no writes and no network calls.
///
/// Examples:
///   hermes auth status anthropic
///   hermes auth status openai-codex --json | jq '.entries[] | {label, expires_at, refresh_due}'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: String,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What `status` says about one entry.
struct Row {
    expiry: Expiry,
    last_refresh: Option<String>,
    due: bool,
    dead_reason: Option<String>,
}

fn row(key: &str, v: &ViewEntry, now: Epoch) -> Row {
    let oauth = v.entry.auth_type == AuthType::OAuth;
    let expiry = if oauth { expiry::access_expiry(key, &v.entry, v.secret.as_ref()) } else { Expiry::Unknown };
    let last_refresh =
        v.entry.last_refresh.clone().or_else(|| v.map.get("obtained_at").and_then(Value::as_str).map(str::to_string));
    let dead_reason = match &v.status {
        Status::Dead { reason, code, .. } => Some(match (reason, code) {
            (Some(r), _) => r.clone(),
            (None, Some(c)) => format!("HTTP {c}"),
            (None, None) => "dead".to_string(),
        }),
        _ => None,
    };
    Row { expiry, last_refresh, due: oauth && oauth::refresh::due(key, v, now), dead_reason }
}

fn refresh_cell(v: &ViewEntry, r: &Row, now: Epoch) -> String {
    if v.entry.auth_type != AuthType::OAuth {
        return "-".into();
    }
    if r.dead_reason.is_some() {
        return "no (dead)".into();
    }
    match (r.due, v.refreshable) {
        (true, true) => "due (automatic)".into(),
        (true, false) => match &v.status {
            Status::NeedsRefresh { hint: Some(h), .. } => format!("due: {h}"),
            _ => "due (read-only: hermes does not refresh it)".into(),
        },
        (false, false) => "never (read-only)".into(),
        (false, true) => match r.expiry.at() {
            Some(t) => format!("in {} (automatic)", time::format_wait(t - expiry::SKEW - now)),
            None => "on demand (no expiry known)".into(),
        },
    }
}

fn expires_cell(r: &Row, now: Epoch) -> String {
    match r.expiry {
        Expiry::At(t) if t > now => format!("{} (in {})", time::iso_z(t), time::format_wait(t - now)),
        Expiry::At(t) => format!("{} (expired {} ago)", time::iso_z(t), time::format_wait(now - t)),
        Expiry::Unreadable => "unreadable".into(),
        Expiry::Unknown => "-".into(),
    }
}

fn entry_json(key: &str, v: &ViewEntry, index: usize, now: Epoch) -> Value {
    let r = row(key, v, now);
    let at = r.expiry.at();
    json!({
        "index": index,
        "id": v.entry.id,
        "label": v.entry.label,
        "auth_type": v.entry.auth_type.as_str(),
        "source": v.entry.source,
        "refreshable": v.refreshable,
        "read_only": v.read_only,
        "expires_at": at.map(time::iso_z),
        "seconds_left": at.map(|t| (t - now).ceil() as i64),
        "last_refresh": r.last_refresh,
        "refresh_due": r.due,
        "status": v.status.json_name(),
        "reason": v.status.reason(),
        "code": v.status.code(),
        "dead_reason": r.dead_reason,
    })
}

fn render(view: &PoolView, now: Epoch) -> String {
    let n = view.entries.len();
    let mut s = format!("{} ({})\n", view.key, printer::count(n, "credential"));
    let mut table =
        printer::table(&["#", "ID", "LABEL", "TYPE", "SOURCE", "EXPIRES", "LAST REFRESH", "REFRESH", "STATUS"]);
    for (i, v) in view.entries.iter().enumerate() {
        let r = row(&view.key, v, now);
        table.add_row(vec![
            (i + 1).to_string(),
            crate::text::one_line(&v.entry.id).into_owned(),
            crate::text::one_line(&v.entry.label).into_owned(),
            v.entry.auth_type.as_str().to_string(),
            v.source_display(),
            expires_cell(&r, now),
            r.last_refresh.clone().unwrap_or_else(|| "-".into()),
            refresh_cell(v, &r, now),
            v.status.describe(now),
        ]);
    }
    s.push_str(&printer::render_table(table, false));
    s
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let key = home.resolve(&args.provider)?.key();
    let doc = home.state().read()?;
    let now = home.now();
    let view = home.view(&doc, &key, now);
    if args.json {
        let entries: Vec<Value> =
            view.entries.iter().enumerate().map(|(i, v)| entry_json(&key, v, i + 1, now)).collect();
        out.json(&json!({"provider": key, "entries": entries}));
        return Ok(());
    }
    if view.entries.is_empty() {
        out.err(&format!("No credentials for {key}."));
        return Ok(());
    }
    out.out(&render(&view, now));
    Ok(())
}
