//! `hermes auth reset`: clear cooldowns; a dead entry only when named.

use crate::cli::printer::{count, Printer};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::ops;
use crate::text::one_line;
use serde_json::json;

/// Clear cooldowns of every pool, one pool, or exactly one entry.
///
/// A pool-wide reset leaves dead (revoked) entries alone; name one to revive it.
///
/// Examples:
///   hermes auth reset
///   hermes auth reset openrouter
///   hermes auth reset openrouter d4e5f6
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this provider's pool.
    pub provider: Option<String>,
    /// Exactly this entry (id or label; an index clears a cooldown only).
    pub target: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = args.provider.as_deref().map(|p| home.pool(p)).transpose()?;
    if let Some(t) = &args.target {
        if t.trim().is_empty() {
            return Err(Error::Usage("TARGET is empty; give an id or label".into()));
        }
        // docs/design.md#reset: an index clears a cooldown only; reviving a dead entry needs its id or label.
        // An index naming a dead entry therefore changes nothing and says how to revive it.
        if let Some(p) = &pool {
            let doc = home.state().read()?;
            let view = home.view(&doc, &p.key, home.now());
            if let Ok(i) = view.find(t) {
                let e = &view.entries[i].entry;
                let by_index = e.id != *t && !e.label.eq_ignore_ascii_case(t);
                if by_index && e.last_status == Some(crate::model::entry::LastStatus::Dead) {
                    let dead = ops::DeadEntry {
                        key: p.key.clone(),
                        id: e.id.clone(),
                        label: e.label.clone(),
                        reason: e.last_error_reason.clone().unwrap_or_else(|| "dead".into()),
                    };
                    let r = ops::ResetReport { changed: 0, pools: 1, dead: vec![dead], target: None };
                    print_reset(&r, Some(&p.key), out);
                    if args.json {
                        out.json(&report_json(&r));
                    }
                    return Ok(());
                }
            }
        }
    }
    let r = ops::reset(home, pool.as_ref(), args.target.as_deref())?;
    print_reset(&r, pool.as_ref().map(|p| p.key.as_str()), out);
    if args.json {
        out.json(&report_json(&r));
    }
    Ok(())
}

/// `reset --json`: how many cooldowns were cleared, over how many pools, and the dead entries left.
fn report_json(r: &ops::ResetReport) -> serde_json::Value {
    let dead: Vec<_> =
        r.dead.iter().map(|d| json!({"provider": d.key, "id": d.id, "label": d.label, "reason": d.reason})).collect();
    let mut doc = json!({"reset": r.changed, "pools": r.pools, "dead": dead});
    if let Some((index, id, label)) = &r.target {
        doc["entry"] = json!({"index": index, "id": id, "label": label});
    }
    doc
}

/// The report of docs/design.md#command-line on stderr (`reset` and the wizard); `pool` is None for every pool.
pub fn print_reset(r: &ops::ResetReport, pool: Option<&str>, out: &mut Printer) {
    match (pool, &r.target) {
        (Some(key), Some((index, id, label))) => out.err(&format!(
            "Reset {} in {key}: #{index} {} \"{}\"",
            count(r.changed, "cooldown"),
            one_line(id),
            one_line(label)
        )),
        (Some(key), None) => out.err(&format!("Reset {} in {key}", count(r.changed, "cooldown"))),
        (None, _) => out.err(&format!("Reset {} across {}", count(r.changed, "cooldown"), count(r.pools, "pool"))),
    }
    if !r.dead.is_empty() {
        let list: Vec<String> = r
            .dead
            .iter()
            .map(|d| format!("{} {} ({}) {}", d.key, one_line(&d.id), one_line(&d.label), one_line(&d.reason)))
            .collect();
        let first = &r.dead[0];
        out.err(&format!(
            "{} not reset: {} — to reset one: hermes auth reset {} {}",
            count(r.dead.len(), "dead credential"),
            list.join(", "),
            first.key,
            first.id
        ));
    }
}
