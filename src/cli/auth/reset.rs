//! `hermes auth reset`: clear cooldowns; a dead entry only when named.

use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::ops;
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
        // Ruling 6: an index clears a cooldown only; reviving a dead entry needs its id or label.
        if let Some(p) = &pool {
            let doc = home.store.read()?;
            let view = home.view(&doc, &p.key, home.now());
            if let Ok(i) = view.find(t) {
                let by_index = view.entries[i].entry.id != *t && !view.entries[i].entry.label.eq_ignore_ascii_case(t);
                if by_index && view.entries[i].entry.last_status == Some(crate::pool::entry::LastStatus::Dead) {
                    return Err(Error::Failed(format!(
                        "#{t} in {} is dead; to revive it name it: hermes auth reset {} {}",
                        p.key, p.key, view.entries[i].entry.id
                    )));
                }
            }
        }
    }
    let r = ops::reset(home, pool.as_ref(), args.target.as_deref())?;
    print_reset(&r, pool.as_ref().map(|p| p.key.as_str()), out);
    if args.json {
        let dead: Vec<_> = r
            .dead
            .iter()
            .map(|d| json!({"provider": d.key, "id": d.id, "label": d.label, "reason": d.reason}))
            .collect();
        out.json(&json!({"reset": r.changed, "pools": r.pools, "dead": dead}));
    }
    Ok(())
}

/// The report of §12.5 on stderr (`reset` and the wizard); `pool` is None for every pool.
pub fn print_reset(r: &ops::ResetReport, pool: Option<&str>, out: &mut Printer) {
    let plural = if r.changed == 1 { "cooldown" } else { "cooldowns" };
    match pool {
        Some(key) => out.err(&format!("Reset {} {plural} in {key}", r.changed)),
        None => out.err(&format!("Reset {} {plural} across {} pools", r.changed, r.pools)),
    }
    if !r.dead.is_empty() {
        let list: Vec<String> =
            r.dead.iter().map(|d| format!("{} {} ({}) {}", d.key, d.id, d.label, d.reason)).collect();
        let first = &r.dead[0];
        out.err(&format!(
            "{} dead credential(s) not reset: {} — to reset one: hermes auth reset {} {}",
            r.dead.len(),
            list.join(", "),
            first.key,
            first.id
        ));
    }
}
