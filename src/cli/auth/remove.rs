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

/// The command that undoes removing `source` from pool `key`: `hermes auth restore`, except for
/// hermes-agent's device login, whose tokens went with its provider state (a new login then).
pub fn undo_command(key: &str, source: &str) -> String {
    if source == crate::pool::candidate::DEVICE_CODE {
        format!("hermes auth add {key}")
    } else {
        format!("hermes auth restore {key} {}", crate::text::shell_word(source))
    }
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
    if !r.suppressed {
        return;
    }
    let undo = undo_command(&r.key, &r.source);
    let line = match r.source.strip_prefix("env:") {
        _ if r.source == crate::pool::candidate::DEVICE_CODE => format!("To use {} again, log in: {undo}", r.key),
        Some(var) => {
            format!(
                "{var} is still set in .env/your environment; hermes ignores it for {} until you run: {undo}",
                r.key
            )
        }
        None => format!("hermes ignores {} for {} until you run: {undo}", one_line(&r.source), r.key),
    };
    out.err(&line);
}
