//! `hermes auth restore`: undo `remove` of a borrowed source (an environment or `.env` variable,
//! a config.yaml key, the Claude Code login): hermes hands it out again.

use crate::cli::printer::Printer;
use crate::error::Result;
use crate::home::Home;
use crate::ops;
use crate::text::one_line;
use serde_json::json;

/// Let hermes use a removed source again.
///
/// Removing an entry discovered from the environment, .env or config.yaml only stops hermes
/// from using it (the source is listed under suppressed_sources in auth.json). This lifts that,
/// for one SOURCE or, without one, every removed source of the pool; the entry is seeded again
/// at once when its value is set. `hermes auth list --all` shows the removed sources.
///
/// Examples:
///   hermes auth restore openrouter env:OPENROUTER_API_KEY
///   hermes auth restore anthropic
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: String,
    /// The source to restore, as `list --all` shows it (env:VAR, config:NAME, claude_code, …).
    pub source: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let r = ops::restore(home, &pool, args.source.as_deref())?;
    if r.sources.is_empty() {
        out.err(&format!("Nothing to restore: no source is removed from {}", r.key));
    }
    for s in &r.sources {
        out.err(&format!("Restored {} in {}", one_line(s), r.key));
    }
    for (index, id, label) in &r.entries {
        out.err(&format!("  now {} #{index} {} \"{}\"", r.key, one_line(id), one_line(label)));
    }
    if !r.sources.is_empty() && r.entries.is_empty() {
        out.err("  its value is not set now; it is used again as soon as it is");
    }
    if args.json {
        let entries: Vec<_> =
            r.entries.iter().map(|(index, id, label)| json!({"index": index, "id": id, "label": label})).collect();
        out.json(&json!({"provider": r.key, "restored": r.sources, "entries": entries}));
    }
    Ok(())
}
