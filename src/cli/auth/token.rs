//! `hermes auth token`: one pick, the secret alone on stdout (as `gh auth token` does). An OAuth
//! entry that is due is refreshed first (docs/design.md#strategies "Refresh on pick", single-flight across processes).

use crate::cli::printer::Printer;
use crate::error::Result;
use crate::home::Home;
use crate::oauth;
use crate::text::one_line;
use serde_json::json;

/// Pick the next credential and print its secret on stdout.
///
/// The pick is recorded (request_count, round_robin order) so scripts sharing the home share one
/// rotation. Pair it with `hermes auth report` to share cooldowns. An OAuth login close to expiry
/// is refreshed first. Exit 4 when nothing is usable.
///
/// Examples:
///   curl -H "Authorization: Bearer $(hermes auth token openrouter)" …
///   hermes auth token openrouter --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool (required).
    pub provider: String,
    /// Print provider, id, label, auth_type, base_url and secret as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    let p = oauth::block_on(oauth::pick_ready(home, &pool))??;
    out.debug(&format!("picked {} {} \"{}\" ({})", p.key, one_line(&p.id), one_line(&p.label), p.secret.mask()));
    if args.json {
        let doc = json!({
            "provider": p.key, "id": p.id, "label": p.label, "auth_type": p.auth_type.as_str(),
            "base_url": p.base_url, "secret": p.secret.expose(),
        });
        out.answer(&serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        // The one place a full secret is printed: the user asked for exactly this.
        out.answer(p.secret.expose())?;
    }
    Ok(())
}
