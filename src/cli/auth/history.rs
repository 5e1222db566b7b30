//! `hermes auth history`: what happened to the credentials of this home, from the event log
//! (`$HERMES_HOME/hermes-events.jsonl`, docs/guide.md#history).

use crate::cli::printer::{self, Printer};
use crate::context::Epoch;
use crate::error::{Error, Result};
use crate::home::Home;
use serde_json::{json, Value};

/// Show the event log: keys added and removed, benched (code, class, reason, until), back
/// again, refreshed or not, reset, marked dead.
///
/// Every hermes command and `hermes serve` append to the same log; it keeps the newest events
/// (about 10,000) and never holds a secret.
///
/// Examples:
///   hermes auth history
///   hermes auth history openrouter --since 7d
///   hermes auth history anthropic work --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this provider's events.
    pub provider: Option<String>,
    /// Only this entry's events (its id or label).
    pub target: Option<String>,
    /// Only events since: a duration back from now (`90m`, `24h`, `7d`) or a date
    /// (`2026-07-01`, `2026-07-01T09:00:00Z`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--since`: a duration back from `now` or an absolute date.
pub fn parse_since(text: &str, now: Epoch) -> Option<Epoch> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len()));
    if let Ok(n) = num.parse::<f64>() {
        let secs = match unit {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 7.0 * 86400.0,
            _ => return date(t),
        };
        return Some(now - n * secs);
    }
    date(t)
}

fn date(t: &str) -> Option<Epoch> {
    crate::time::parse_iso(t).or_else(|| crate::time::parse_iso(&format!("{t}T00:00:00Z")))
}

/// The DETAIL cell: what the event carries besides who and when.
fn detail(e: &Value) -> String {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(|v| crate::text::one_line(v).into_owned());
    let mut parts = Vec::new();
    if let Some(c) = e.get("class").and_then(Value::as_str) {
        parts.push(c.to_string());
    }
    if let Some(code) = e.get("code").and_then(Value::as_i64) {
        parts.push(format!("({code})"));
    }
    if let Some(r) = s("reason") {
        parts.push(r);
    }
    if let Some(u) = s("until") {
        parts.push(format!("until {u}"));
    }
    if let Some(t) = s("type") {
        parts.push(t);
    }
    parts.join(" ")
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let now = home.now();
    let provider = match &args.provider {
        Some(p) => Some(home.resolve(p)?.key()),
        None => None,
    };
    let since = match &args.since {
        Some(w) => Some(parse_since(w, now).ok_or_else(|| {
            Error::Usage(format!("--since {w:?} is neither a duration (90m, 24h, 7d) nor a date (2026-07-01)"))
        })?),
        None => None,
    };
    let log = home.events();
    let events = log.read_all().map_err(|e| Error::System {
        what: "cannot read the event log",
        detail: format!("{}: {e}", log.path().display()),
    })?;
    let str_of = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let kept: Vec<&Value> = events
        .iter()
        .filter(|e| provider.as_deref().is_none_or(|p| str_of(e, "provider") == p))
        .filter(|e| args.target.as_deref().is_none_or(|t| str_of(e, "id") == t || str_of(e, "label") == t))
        .filter(|e| since.is_none_or(|s| e.get("at").and_then(Value::as_f64).is_some_and(|at| at >= s)))
        .collect();
    if args.json {
        out.json(&json!({ "log": log.path().display().to_string(), "events": kept }));
        return Ok(());
    }
    if kept.is_empty() {
        out.err(&format!("No events{}.", if events.is_empty() { " recorded yet" } else { " match" }));
        return Ok(());
    }
    let mut rows = vec![["TIME", "PROVIDER", "ENTRY", "EVENT", "DETAIL"].map(String::from).to_vec()];
    for e in &kept {
        let entry = match (str_of(e, "label"), str_of(e, "id")) {
            (l, id) if !l.is_empty() && l != id => format!("{l} ({id})"),
            (_, id) => id,
        };
        rows.push(vec![
            str_of(e, "time"),
            crate::text::one_line(&str_of(e, "provider")).into_owned(),
            crate::text::one_line(&entry).into_owned(),
            str_of(e, "event"),
            detail(e),
        ]);
    }
    let t = printer::fitted_table(rows, out.stdout_width(), &[1], &[(4, 12), (2, 10)]);
    let mut text = printer::render_table(t, false);
    text.push('\n');
    out.out(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_durations_and_dates() {
        let now = 1_782_896_400.0;
        assert_eq!(parse_since("90m", now), Some(now - 5400.0));
        assert_eq!(parse_since("7d", now), Some(now - 7.0 * 86400.0));
        assert_eq!(parse_since("2026-07-01", now), Some(now - 9.0 * 3600.0));
        assert_eq!(parse_since("2026-07-01T09:00:00Z", now), Some(now));
        assert_eq!(parse_since("soon", now), None);
        assert_eq!(parse_since("5x", now), None);
    }
}
