//! `hermes auth report`: record how a request with an entry went (docs/design.md#command-line).

use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::ops;
use crate::pool::cooldown::Outcome;
use crate::pool::hints;
use crate::text::one_line;

/// Record how a request made with an entry went.
///
/// 2xx clears failures; 429, 402, 403 and 401 bench the entry by the cooldown rules; 5xx and
/// `timeout` change nothing. Prints the entry's new status.
///
/// Examples:
///   hermes auth report openrouter 81b6bb --status 429 --retry-after 120
///   hermes auth report openrouter 81b6bb --status 200
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: String,
    /// The entry's id (or label, or 1-based index).
    pub id: String,
    /// HTTP status code, or `timeout`.
    #[arg(long, value_name = "CODE")]
    pub status: String,
    /// The Retry-After value: seconds or an HTTP-date.
    #[arg(long, value_name = "V")]
    pub retry_after: Option<String>,
    /// The provider's error code or type.
    #[arg(long)]
    pub reason: Option<String>,
    /// The provider's error message.
    #[arg(long)]
    pub message: Option<String>,
    /// Print the entry as JSON (as in `list --json`).
    #[arg(long)]
    pub json: bool,
}

pub fn outcome(args: &Args, now: f64) -> Result<Outcome> {
    let status = args.status.trim();
    if status.eq_ignore_ascii_case("timeout") {
        return Ok(Outcome::Transient);
    }
    let code: u16 = status
        .parse()
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| Error::Usage(format!("--status {status}: expected an HTTP status code or \"timeout\"")))?;
    let hint = match &args.retry_after {
        Some(v) => Some(hints::parse_retry_after(v, now).ok_or_else(|| {
            Error::Usage(format!("--retry-after {v}: expected seconds or an HTTP-date in the future"))
        })?),
        None => None,
    };
    Ok(match code {
        200..=299 => Outcome::Success,
        500..=599 => Outcome::Transient,
        _ => Outcome::Http { code, reason: args.reason.clone(), message: args.message.clone(), hint },
    })
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let outcome = outcome(&args, home.now())?;
    let (index, e) = ops::report(home, &pool, &args.id, &outcome)?;
    let now = home.now();
    if args.json {
        out.json(&super::list::entry_json(&e, index, now, false));
    } else {
        out.out(&format!(
            "{} #{index} {} \"{}\": {}",
            pool.key,
            one_line(&e.entry.id),
            one_line(&e.entry.label),
            one_line(&e.status.describe(now))
        ));
    }
    Ok(())
}
