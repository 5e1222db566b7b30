//! `hermes auth remove`: delete one entry; a borrowed source is suppressed, never edited.

use crate::cli::printer::Printer;
use crate::error::Result;
use crate::home::Home;
use crate::ops;
use crate::text::one_line;
use serde_json::json;

/// Remove a credential by 1-based index, id or label.
///
/// Removing an entry discovered from the environment or config.yaml only stops hermes from
/// using it; .env and config.yaml are never edited.
///
/// Examples:
///   hermes auth remove openrouter 2
///   hermes auth remove openrouter work
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: String,
    /// 1-based index, id or label (an exact id or label beats an index).
    pub target: String,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let r = ops::remove(home, &pool, &args.target)?;
    print_removed(&r, out);
    if args.json {
        out.json(&json!({"provider": r.key, "index": r.index, "id": r.id, "label": r.label,
            "source": r.source, "suppressed": r.suppressed}));
    }
    Ok(())
}

/// The report of docs/design.md#command-line on stderr (`remove` and the wizard).
pub fn print_removed(r: &ops::Removed, out: &mut Printer) {
    out.err(&format!(
        "Removed {} credential #{} ({}): id {}, source {}",
        r.key,
        r.index,
        one_line(&r.label),
        one_line(&r.id),
        one_line(&r.source)
    ));
    if r.suppressed && r.source == crate::pool::candidate::DEVICE_CODE {
        // hermes-agent's login itself is gone with its provider state: only a new login helps.
        out.err(&format!("To use {} again, log in: hermes auth add {}", r.key, r.key));
    } else if r.suppressed {
        let restore = format!("hermes auth restore {} {}", r.key, crate::text::shell_word(&r.source));
        match r.source.strip_prefix("env:") {
            Some(var) => out.err(&format!(
                "{var} is still set in .env/your environment; hermes ignores it for {} until you run: {restore}",
                r.key
            )),
            None => out.err(&format!("hermes ignores {} for {} until you run: {restore}", one_line(&r.source), r.key)),
        }
    }
}
