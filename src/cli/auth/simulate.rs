//! `hermes auth simulate`: the recovery rules on an in-memory copy of a pool.

use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::runtime::simulate;

/// Replay a sequence of provider answers against a copy of a pool; the store is not touched.
///
/// Each event is one answer to the entry that would serve at that moment: an HTTP status with
/// optional `:retry-after=S` and `:reason=R`, `timeout`, `connection`, or `wait=S` to let time
/// pass. Prints, step by step, which entry serves, what is benched until when, when a request
/// rotates, sleeps or falls back, and the pool's state at the end.
///
/// Examples:
///   hermes auth simulate openrouter --events 429,429:retry-after=30,401,200
///   hermes auth simulate anthropic --events 401,401,wait=120,200 --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: String,
    /// Comma-separated answers: 429, 429:retry-after=30, 401:reason=token_invalidated, 503,
    /// timeout, connection, wait=90, 200.
    #[arg(long, value_name = "EVENTS", allow_hyphen_values = true)]
    pub events: String,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let events = simulate::parse_events(&args.events).map_err(|e| Error::Usage(format!("--events: {e}")))?;
    let sim = simulate::simulate(home, &pool, &events, home.now())?;
    if args.json {
        out.json(&sim.to_json());
    } else {
        out.out(&sim.render());
    }
    Ok(())
}
