//! `hermes chat`: one request through the runtime (docs/design.md#recovery, docs/design.md#command-line), reply on stdout.

use crate::cli::printer::Printer;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::runtime::client::DEFAULT_MAX_TOKENS;
use crate::runtime::{ChatRequest, Reply, RequestLog, Runtime};
use serde_json::{json, Value};
use std::sync::Arc;

/// Send one prompt through the credential pool and its fallbacks; print the reply.
///
/// The primary is --provider (else model.provider in config.yaml) with --model (else
/// model.default); the fallbacks come from fallback_providers (or fallback_model). A rate-limited,
/// out-of-credit or rejected key is benched and a sibling used at once; the fallback is used only
/// when the pool has nothing left. Exit 0 with a reply, 4 when no credential anywhere is usable,
/// 1 on any other failure. -v prints the decision trail on stderr.
///
/// Examples:
///   hermes chat -q "Say hi" --provider openrouter --model anthropic/claude-sonnet-4
///   hermes chat -q "Say hi" --json | jq '.attempts'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The prompt (one user message, not blank).
    #[arg(short = 'q', long = "query", value_name = "TEXT", value_parser = not_blank)]
    pub query: String,
    /// Provider id, alias or custom pool (default: model.provider in config.yaml).
    #[arg(long)]
    pub provider: Option<String>,
    /// Model name (default: model.default in config.yaml).
    #[arg(long)]
    pub model: Option<String>,
    /// The most tokens the reply may use (sent as max_tokens).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_TOKENS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: u32,
    /// Print the reply and every attempt as one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// A prompt of only whitespace would be sent and billed for nothing.
fn not_blank(s: &str) -> std::result::Result<String, String> {
    if s.trim().is_empty() {
        Err("the prompt is empty".into())
    } else {
        Ok(s.to_string())
    }
}

pub fn run(args: Args, ctx: Context, out: &mut Printer) -> Result<()> {
    let home = Arc::new(Home::open(ctx)?);
    let result = run_in(&args, &home, out);
    for w in home.take_warnings() {
        out.err(&w);
    }
    result
}

fn run_in(args: &Args, home: &Arc<Home>, out: &mut Printer) -> Result<()> {
    let runtime = Runtime::new(home.clone())?;
    let chain = runtime.chain(args.provider.as_deref(), args.model.as_deref())?;
    for w in &chain.warnings {
        out.err(w);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the async runtime: {e}")))?;
    let mut request = ChatRequest::user(args.query.clone());
    request.max_tokens = args.max_tokens;
    let result = rt.block_on(runtime.complete(&chain, &request));
    let report = match &result {
        Ok(r) => &r.report,
        Err(f) => &f.report,
    };
    print_report(report, out);
    let reply = match result {
        Ok(reply) => reply,
        Err(f) => {
            if args.json {
                // A script needs the attempts exactly when the request failed.
                let status = f.response.as_ref().map(|r| r.status).or_else(|| f.report.attempts.last()?.status);
                out.json_error(&json!({"error": {
                    "kind": f.error.json_kind(),
                    "message": crate::cli::errors::render(&f.error),
                    "status": status,
                    "attempts": attempts_json(&f.report),
                }}));
            }
            return Err(f.error);
        }
    };
    let Some(text) = reply.text.clone() else {
        return Err(Error::Failed(format!(
            "{}/{} answered {} but the body holds no reply text",
            reply.provider, reply.model, reply.response.status
        )));
    };
    if args.json {
        out.json(&reply_json(&reply, &text));
    } else {
        out.out(&text);
    }
    Ok(())
}

/// The fallback status lines always; the decision trail with `-v`.
fn print_report(report: &RequestLog, out: &mut Printer) {
    for line in &report.trail {
        out.debug(line);
    }
    for n in &report.notices {
        out.err(n);
    }
}

fn reply_json(reply: &Reply, text: &str) -> Value {
    json!({
        "reply": text,
        "provider": reply.provider,
        "model": reply.model,
        "entry": reply.entry_id.as_ref().map(|id| json!({"id": id, "label": reply.label})),
        "attempts": attempts_json(&reply.report),
    })
}

/// Every attempt of a request, as `--json` shows them (answered or failed).
fn attempts_json(report: &RequestLog) -> Vec<Value> {
    report
        .attempts
        .iter()
        .map(|a| {
            json!({
                "provider": a.provider,
                "model": a.model,
                "entry_id": a.entry_id,
                "label": a.label,
                "status": a.status,
                "outcome": a.outcome.as_str(),
                "decision": a.decision,
                "elapsed_ms": a.elapsed_ms,
            })
        })
        .collect()
}
