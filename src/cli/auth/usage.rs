//! `hermes auth usage`: requests and tokens per entry, from the counts each answer leaves on its
//! entry (docs/guide.md#usage).

use crate::cli::printer::{self, Printer};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::pool::usage;
use serde_json::json;

/// How much each credential served: requests, input and output tokens.
///
/// Counted per day on each entry from every answer through hermes (`hermes chat`, the library,
/// `hermes serve`, streamed answers included); the last 92 days are kept. On a terminal a bar
/// shows each entry's share of the requests.
///
/// Examples:
///   hermes auth usage
///   hermes auth usage openrouter --since 7d
///   hermes auth usage --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this provider's pool.
    pub provider: Option<String>,
    /// Only days since: a duration back from now (`24h`, `7d`) or a date (`2026-07-01`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// One entry's line: provider, id, label, (requests, input, output).
type Row = (String, String, String, (u64, u64, u64));

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let now = home.now();
    let since = match &args.since {
        Some(w) => Some(super::history::parse_since(w, now).ok_or_else(|| {
            Error::Usage(format!("--since {w:?} is neither a duration (24h, 7d) nor a date (2026-07-01)"))
        })?),
        None => None,
    };
    let doc = home.state().read()?;
    let keys = match &args.provider {
        Some(p) => vec![home.resolve(p)?.key()],
        None => home.pool_keys(&doc),
    };
    let mut rows: Vec<Row> = Vec::new();
    for k in &keys {
        let view = home.view(&doc, k, now);
        for v in &view.entries {
            rows.push((k.clone(), v.entry.id.clone(), v.entry.label.clone(), usage::totals(&v.map, since)));
        }
    }
    if args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(p, id, l, (r, i, o))| {
                json!({"provider": p, "id": id, "label": l, "requests": r, "input_tokens": i, "output_tokens": o})
            })
            .collect();
        out.json(&json!({ "since": since.map(usage::day), "entries": list }));
        return Ok(());
    }
    if rows.is_empty() {
        out.err("No credentials. Add one with: hermes auth add PROVIDER");
        return Ok(());
    }
    let most = rows.iter().map(|r| r.3 .0).max().unwrap_or(0).max(1);
    let bars = out.stdout_width().is_some();
    let mut table = vec![["PROVIDER", "LABEL", "REQUESTS", "INPUT", "OUTPUT", ""].map(String::from).to_vec()];
    for (p, _, l, (r, i, o)) in &rows {
        let bar = if bars { "█".repeat(r.saturating_mul(20).div_ceil(most).min(20) as usize) } else { String::new() };
        table.push(vec![
            crate::text::one_line(p).into_owned(),
            crate::text::one_line(l).into_owned(),
            r.to_string(),
            i.to_string(),
            o.to_string(),
            bar,
        ]);
    }
    let t = printer::fitted_table(table, out.stdout_width(), &[5, 0], &[(1, 10)]);
    let mut text = printer::render_table(t, false);
    text.push('\n');
    out.out(&text);
    Ok(())
}
