//! `hermes auth check`: probe each credential live and mark the pool with what the answers prove
//! (docs/recovery.md#checking-keys).

use crate::cli::printer::{self, Printer};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::runtime::check::{self, Verdict};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Probe each credential with a cheap live request and mark the pool accordingly.
///
/// The probe is the provider's model listing (no tokens spent). Each key is reported valid,
/// rejected (401/403), out of credit (402) or rate-limited (429), with the evidence, and marked
/// as a request's answer would mark it; a good answer lifts an auth bench. At most 4 probes run
/// at once, each within --timeout. Nothing is probed unless you run this.
///
/// Examples:
///   hermes auth check
///   hermes auth check openrouter
///   hermes auth check anthropic work --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this provider's pool (default: every pool).
    pub provider: Option<String>,
    /// Only this entry (index, id or label); needs PROVIDER.
    pub target: Option<String>,
    /// Seconds each probe may take.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub timeout: f64,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: Arc<Home>, out: &mut Printer) -> Result<()> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(Error::Usage(format!("--timeout {} is not a number of seconds from 0 to 600", args.timeout)));
    }
    let pools = match &args.provider {
        Some(p) => vec![home.pool(p)?],
        None => {
            let doc = home.state().read()?;
            home.pool_keys(&doc).iter().map(|k| home.pool_ref_for_key(k)).collect()
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the async runtime: {e}")))?;
    let probes =
        rt.block_on(check::check(home.clone(), pools, args.target.clone(), Duration::from_secs_f64(args.timeout)));
    let probes = probes?;
    if args.json {
        let list: Vec<_> = probes
            .iter()
            .map(|p| {
                json!({
                    "provider": p.pool, "index": p.index, "id": p.id, "label": p.label,
                    "result": p.verdict.as_str(), "code": p.code, "evidence": p.evidence,
                    "elapsed_ms": p.elapsed.as_millis() as u64,
                })
            })
            .collect();
        out.json(&json!({ "probes": list }));
        return Ok(());
    }
    if probes.is_empty() {
        out.err("No credentials to check. Add one with: hermes auth add PROVIDER");
        return Ok(());
    }
    let mut rows = vec![["PROVIDER", "#", "LABEL", "RESULT", "EVIDENCE"].map(String::from).to_vec()];
    for p in &probes {
        rows.push(vec![
            crate::text::one_line(&p.pool).into_owned(),
            p.index.to_string(),
            crate::text::one_line(&p.label).into_owned(),
            p.verdict.as_str().to_string(),
            crate::text::one_line(&p.evidence).into_owned(),
        ]);
    }
    let t = printer::fitted_table(rows, out.stdout_width(), &[0], &[(4, 12), (2, 10)]);
    let mut text = printer::render_table(t, false);
    text.push('\n');
    let bad = probes.iter().filter(|p| !matches!(p.verdict, Verdict::Valid | Verdict::Skipped)).count();
    if bad > 0 {
        text.push_str(&format!("{} marked; see: hermes auth list\n", printer::count(bad, "credential")));
    }
    out.out(&text);
    Ok(())
}
