//! `hermes auth explain`: the next pick and why every other entry is skipped. Reads only.

use crate::cli::printer::Printer;
use crate::error::Result;
use crate::home::Home;
use crate::runtime::explain;

/// Show which entry the next request would use and why every other one is skipped.
///
/// For each entry: chosen, usable but behind another, or skipped (cooling until when, dead
/// because, source missing); then the fallbacks from config.yaml and which one would follow.
/// Reads only: no lock, no write, no network.
///
/// Examples:
///   hermes auth explain openrouter
///   hermes auth explain openrouter --json | jq '.entries[] | {id, why}'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: String,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let e = explain::explain(home, &pool, home.now())?;
    for w in &e.warnings {
        out.err(w);
    }
    if args.json {
        out.json(&e.to_json());
    } else {
        out.out(&e.render());
    }
    Ok(())
}
