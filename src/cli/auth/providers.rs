//! `hermes auth providers`: every provider a pool can be kept for, with the names that find it,
//! its key variables and whether it takes OAuth logins, plus the `custom:` pools config.yaml
//! defines. The list unknown-provider errors point at.

use crate::cli::printer::{self, Printer};
use crate::error::Result;
use crate::home::Home;
use crate::providers::{self, AuthKind, Provider, Wire};
use serde_json::json;

/// List the providers hermes keeps pools for.
///
/// Each row: the id (also the pool key), the other names that find it, the variables a key is
/// read from, the credential types it takes and the API it speaks. Then the custom endpoints of
/// config.yaml (custom_providers), used as custom:<name>; add one there for any other
/// OpenAI-compatible server.
///
/// Examples:
///   hermes auth providers
///   hermes auth providers --json | jq -r '.providers[].id'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

fn credentials(p: &Provider) -> &'static str {
    match p.auth {
        AuthKind::Key => "api-key",
        AuthKind::OAuth => "oauth",
        AuthKind::KeyOAuth => "api-key, oauth",
    }
}

fn api(w: Wire) -> &'static str {
    match w {
        Wire::OpenAi => "openai",
        Wire::Anthropic => "anthropic",
        Wire::CodexResponses => "responses",
    }
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let customs = &home.config().custom_providers;
    if args.json {
        let registry: Vec<_> = providers::all()
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "aliases": p.aliases,
                    "env": p.env,
                    "api_key": p.auth != AuthKind::OAuth,
                    "oauth": providers::supports_oauth(p),
                    "api": api(p.wire),
                    "chat": p.wire != Wire::CodexResponses,
                    "base_url": p.default_base_url,
                })
            })
            .collect();
        let custom: Vec<_> = customs
            .iter()
            .map(|c| json!({"id": providers::custom_key(&c.name), "name": c.name, "base_url": c.base_url}))
            .collect();
        out.json(&json!({"providers": registry, "custom": custom, "unmanaged": providers::UNMANAGED}));
        return Ok(());
    }
    let mut rows: Vec<Vec<String>> =
        vec![["PROVIDER", "ALSO", "KEY VARIABLES", "CREDENTIALS", "API"].iter().map(|h| h.to_string()).collect()];
    // On a terminal the key variables go one per line, so none is cut; the aliases are
    // shortened with `…` if the width needs it (--json has them all).
    let width = out.stdout_width();
    let env_sep = if width.is_some() { "\n" } else { ", " };
    for p in providers::all() {
        rows.push(vec![
            p.id.to_string(),
            p.aliases.join(", "),
            p.env.join(env_sep),
            credentials(p).to_string(),
            api(p.wire).to_string(),
        ]);
    }
    let t = printer::fitted_table(rows, width, &[4], &[(1, 12)]);
    let mut text = printer::render_table(t, false);
    text.push('\n');
    if customs.is_empty() {
        text.push_str(
            "No custom endpoints. For another OpenAI-compatible server, add it to config.yaml\n\
             and use custom:<name>:\n  custom_providers:\n    - name: local\n      base_url: http://localhost:8000/v1\n",
        );
    } else {
        let mut c = printer::table(&["CUSTOM POOL", "NAME", "BASE URL"]);
        for cp in customs {
            c.add_row(vec![
                printer::safe_line(&providers::custom_key(&cp.name)).into_owned(),
                printer::safe_line(&cp.name).into_owned(),
                printer::safe_line(&cp.base_url).into_owned(),
            ]);
        }
        text.push_str(&printer::render_table(c, false));
    }
    text.push_str(&format!(
        "\nKnown but left to hermes-agent (not managed here):\n  {}\n",
        providers::UNMANAGED.join(", ")
    ));
    out.out(text.trim_end());
    Ok(())
}
