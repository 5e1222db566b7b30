//! `hermes auth strategy`: show or set one pool's rotation strategy
//! (`credential_pool_strategies.<provider>` in config.yaml). Setting it touches that one line and
//! nothing else: not `model.provider`, not `model.default`.

use crate::cli::printer::{self, Printer};
use crate::cli::steps;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::pool::strategy::Strategy;
use serde_json::json;

/// Show or set the rotation strategy of a pool.
///
/// Without arguments: every pool with entries or a configured strategy. With PROVIDER: that
/// pool's strategy. With PROVIDER and NAME: set it. Only the line
/// credential_pool_strategies.<provider> of config.yaml changes; the default provider and model
/// stay as they are. A pool without a configured strategy uses fill_first.
///
/// Strategies:
///   fill_first   use the first key until it is benched
///   round_robin  cycle through keys evenly
///   least_used   pick the key with the fewest requests
///   random       pick a usable key at random
///
/// Examples:
///   hermes auth strategy
///   hermes auth strategy openrouter round_robin
///   hermes auth strategy anthropic --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias or custom pool.
    pub provider: Option<String>,
    /// The strategy to set.
    #[arg(value_parser = ["fill_first", "round_robin", "least_used", "random", "headroom"])]
    pub name: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let Some(provider) = args.provider.as_deref() else {
        return show_all(home, args.json, out);
    };
    let pool = home.pool(provider)?;
    let Some(name) = args.name.as_deref() else {
        let (strategy, configured) = (home.strategy(&pool.key), home.strategy_entry(&pool.key).is_some());
        if args.json {
            out.json(&json!({"provider": pool.key, "strategy": strategy.as_str(), "configured": configured}));
        } else {
            out.out(&format!("{}: {}", pool.key, describe(strategy, configured)));
        }
        return Ok(());
    };
    let strategy = Strategy::parse(name).ok_or_else(|| {
        Error::Usage(format!(
            "invalid strategy \"{name}\"; valid values: fill_first, round_robin, least_used, random, headroom"
        ))
    })?;
    let changed = steps::save_strategy(home, &pool.key, strategy, out)?;
    if args.json {
        out.json(&json!({"provider": pool.key, "strategy": strategy.as_str(), "configured": true, "changed": changed}));
    }
    Ok(())
}

/// `round_robin` or `fill_first (default)`.
fn describe(s: Strategy, configured: bool) -> String {
    if configured {
        s.to_string()
    } else {
        format!("{s} (default)")
    }
}

fn show_all(home: &Home, json: bool, out: &mut Printer) -> Result<()> {
    let doc = home.state().read()?;
    let mut keys = home.pool_keys(&doc);
    for k in home.strategy_keys() {
        if !keys.contains(&k) && home.pool(&k).is_ok() {
            keys.push(k);
        }
    }
    keys.sort();
    let rows: Vec<(String, Strategy, bool)> =
        keys.into_iter().map(|k| (k.clone(), home.strategy(&k), home.strategy_entry(&k).is_some())).collect();
    if json {
        let pools: Vec<_> =
            rows.iter().map(|(k, s, c)| json!({"provider": k, "strategy": s.as_str(), "configured": c})).collect();
        out.json(&json!({"pools": pools}));
        return Ok(());
    }
    if rows.is_empty() {
        out.err("No pools yet; every pool uses fill_first until you set another: hermes auth strategy PROVIDER NAME");
        return Ok(());
    }
    let mut t = printer::table(&["PROVIDER", "STRATEGY"]);
    for (k, s, c) in &rows {
        t.add_row(vec![printer::safe_line(k).into_owned(), describe(*s, *c)]);
    }
    out.out(printer::render_table(t, false).trim_end());
    Ok(())
}
