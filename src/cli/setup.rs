//! `hermes setup`: the credential part of a first-run setup (docs/design.md#command-line).
//!
//! Four steps: the default provider and model (`model.provider`, `model.default`); a credential
//! in that provider's pool (offered when it is empty); the pool's rotation strategy (asked when
//! the pool has more than one entry); and the fallback chain (`fallback_providers`). On a
//! terminal each step asks unless its flag answers it; with `--no-input` nothing is asked and
//! only the flags change anything, so CI gets the same result as the prompts (STYLE 7).
//!
//! Every answer is gathered before config.yaml is touched, so leaving at a prompt writes nothing
//! there (a credential added in step 2 is a finished action of its own). config.yaml is then
//! edited only through [`crate::config::edit`], which changes the lines of the keys set, keeps
//! every other byte, and verifies the result before the atomic rename.

use crate::cli::printer::Printer;
use crate::cli::prompt::Prompter;
use crate::cli::steps;
use crate::config::edit;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::pool::strategy::Strategy;
use crate::providers::{self, AuthKind};

/// Set the default provider and model, its credential, rotation strategy and fallbacks.
///
/// config.yaml changes only in the keys set: model.provider, model.default,
/// credential_pool_strategies.<provider> and fallback_providers. Comments, order and every other
/// key stay as they are.
///
/// On a terminal each step asks, unless its flag answers it. Without a terminal, pass
/// --no-input: nothing is asked and only the flags given change anything. An empty pool is then
/// reported with the `hermes auth add` command to run.
///
/// Examples:
///   hermes setup
///   hermes setup --no-input --provider openrouter --model anthropic/claude-sonnet-4
///   hermes setup --no-input --strategy round_robin     (the default provider's pool)
///   hermes setup --no-input --fallback anthropic:claude-sonnet-4 --fallback custom:local:qwen3
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Default provider (model.provider): a provider id, alias, custom:<name> or custom_providers name.
    #[arg(long, value_name = "P")]
    pub provider: Option<String>,
    /// Default model (model.default), e.g. anthropic/claude-sonnet-4.
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Rotation strategy of the provider's pool (credential_pool_strategies.<provider>); for any
    /// other pool use: hermes auth strategy PROVIDER NAME.
    #[arg(long, value_name = "S", value_parser = ["fill_first", "round_robin", "least_used", "random", "headroom"])]
    pub strategy: Option<String>,
    /// A step of the fallback chain; repeat for more. Replaces fallback_providers. PROVIDER ends at
    /// the first ':', or at the second for custom:<name>:MODEL.
    #[arg(long = "fallback", value_name = "PROVIDER:MODEL")]
    pub fallback: Vec<String>,
    /// Never ask: use the flags and the current config only (needed without a terminal).
    #[arg(long)]
    pub no_input: bool,
}

/// What `setup` says without a terminal and without `--no-input` (exit 2).
pub const NO_TERMINAL: &str = "hermes setup needs a terminal to ask its questions; without one, pass \
     --no-input and give the answers as flags: hermes setup --no-input --provider P --model M \
     [--strategy fill_first|round_robin|least_used|random] [--fallback PROVIDER:MODEL]...";

/// Split a `--fallback` value into (PROVIDER, MODEL), both trimmed and non-empty (docs/design.md#fallback).
///
/// PROVIDER ends at the first `:`, or at the second when the value starts with `custom:`, so
/// `custom:mock2:mock-model` is (`custom:mock2`, `mock-model`) and `lmstudio:qwen3:8b` is
/// (`lmstudio`, `qwen3:8b`). The provider is not checked here (see [`Home::resolve`]).
pub fn parse_fallback(value: &str) -> std::result::Result<(String, String), String> {
    use crate::runtime::chain::{split_provider_model, SpecProblem};
    match split_provider_model(value) {
        Ok((provider, model)) => Ok((provider.to_string(), model.to_string())),
        Err(SpecProblem::NoColon) => Err(format!(
            "--fallback {value:?}: expected PROVIDER:MODEL, e.g. anthropic:claude-sonnet-4 or custom:local:qwen3"
        )),
        Err(SpecProblem::NoProvider) => Err(format!("--fallback {value:?}: the provider is empty")),
        Err(SpecProblem::NoModel) => Err(format!("--fallback {value:?}: the model is empty")),
    }
}

/// `hermes setup` from the command line: dialoguer prompts on a terminal.
pub fn run_cli(args: Args, ctx: Context, out: &mut Printer) -> Result<()> {
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && ctx.colour_allowed();
    let mut prompter = crate::cli::prompt::TermPrompter::new(colour);
    run(args, &ctx, &mut prompter, out)
}

/// Run the setup steps with `prompter` (a terminal, or a script in tests).
pub fn run(args: Args, ctx: &Context, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    let ask = !args.no_input;
    if ask && !prompter.interactive() {
        return Err(Error::Usage(NO_TERMINAL.into()));
    }
    let home = Home::open(ctx.clone())?;
    let result = steps(&args, &home, ask, prompter, out);
    for w in home.take_warnings() {
        out.err(&w);
    }
    result
}

/// The answers of the steps, then the writes.
fn steps(args: &Args, home: &Home, ask: bool, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    // Flags first, all of them, before any question or write (an unknown provider exits 1 with
    // the closest name, a bad strategy or fallback exits 2).
    let strategy_flag = args
        .strategy
        .as_deref()
        .map(|s| {
            Strategy::parse(s).ok_or_else(|| {
                Error::Usage(format!(
                    "invalid strategy \"{s}\"; valid values: fill_first, round_robin, least_used, random, headroom"
                ))
            })
        })
        .transpose()?;
    let model_flag = match args.model.as_deref().map(str::trim) {
        Some("") => return Err(Error::Usage("--model is empty".into())),
        m => m.map(str::to_string),
    };
    // Targets are checked with the rules `chat` applies, so nothing saved here is refused later.
    let provider_flag = args.provider.as_deref().map(|p| home.pool(p)).transpose()?;
    if let Some(p) = &provider_flag {
        chat_target(home, p, "--provider")?;
    }
    let mut fallback_flag = Vec::new();
    for value in &args.fallback {
        let (provider, model) = parse_fallback(value).map_err(Error::Usage)?;
        let pool = home.pool(&provider)?;
        chat_target(home, &pool, &format!("--fallback {value}"))?;
        fallback_flag.push((pool.key, model));
    }
    let current = current_provider(home);
    if !ask && strategy_flag.is_some() && provider_flag.is_none() && current.is_none() {
        return Err(Error::Usage(
            "--strategy needs a pool: set model.provider in config.yaml, or use: hermes auth strategy PROVIDER NAME"
                .into(),
        ));
    }
    let current_model = home.config().model.default.clone();
    let current_key = current.as_ref().map(|p| p.key.clone());
    // A new default provider with the old provider's model would send that model's name to a
    // provider that may not know it: without a terminal, --model must come with --provider.
    let written = home.config().model.provider.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let switches = |p: &PoolRef| written.is_some() && Some(&p.key) != current_key.as_ref();
    if let (false, Some(p), None, Some(m)) = (ask, &provider_flag, &model_flag, &current_model) {
        if switches(p) {
            let was = current_key.as_deref().or(written).unwrap_or("none");
            return Err(Error::Usage(format!(
                "--provider {} changes the default provider (now {was}) but model.default is {m:?}, chosen for \
                 {was}; pass --model M as well (--model {m:?} keeps it)",
                p.key
            )));
        }
    }

    // 1. Provider and model.
    let pool = match provider_flag {
        Some(p) => Some(p),
        None if ask => {
            Some(steps::pick_provider_where(home, prompter, "Default provider", current_key.as_deref(), |p| {
                crate::runtime::chain::check_chat_target(home, p).is_ok()
            })?)
        }
        None => current,
    };
    let model = match model_flag {
        Some(m) => Some(m),
        None if ask => {
            let key = pool.as_ref().map_or("", |p| p.key.as_str());
            // The current model is offered only while the provider stays the one it was chosen for.
            let offered = current_model.as_deref().filter(|_| !pool.as_ref().is_some_and(switches));
            Some(ask_model(prompter, out, &format!("Default model for {key}"), offered)?)
        }
        None => None,
    };
    // Write only what differs, so an alias or `custom` in the file is not rewritten for nothing.
    let new_provider = pool.as_ref().map(|p| p.key.clone()).filter(|k| Some(k) != current_key.as_ref());
    let new_model = model.filter(|m| Some(m) != current_model.as_ref());
    // A new provider keeping the model of the file: said plainly (a switch away from another
    // provider was refused above without a terminal; this is the case of no provider before).
    if let (Some(p), None, Some(m)) = (&new_provider, &new_model, &current_model) {
        out.err(&format!("Kept model.default: {m} for {p} (pass --model M to change it)"));
    }

    // 2. A credential in the pool.
    if let Some(pool) = &pool {
        ensure_credential(home, pool, ask, prompter, out)?;
    }

    // 3. Strategy.
    let strategy = match (&pool, strategy_flag) {
        (Some(_), Some(s)) => Some(s),
        (Some(p), None) if ask && entry_count(home, &p.key)? > 1 => {
            Some(steps::ask_strategy(home, &p.key, prompter, out)?)
        }
        _ => None,
    };

    // 4. Fallback chain.
    let fallbacks = if !args.fallback.is_empty() {
        Some(fallback_flag)
    } else if ask {
        ask_fallbacks(home, prompter, out)?
    } else {
        None
    };

    // The writes: no question from here on.
    let path = home.config().path.clone();
    let mut changed = false;
    if (new_provider.is_some() || new_model.is_some())
        && edit::set_model(&path, new_provider.as_deref(), new_model.as_deref())?
    {
        changed = true;
        let mut parts = Vec::new();
        if let Some(p) = &new_provider {
            parts.push(format!("model.provider: {p}"));
        }
        if let Some(m) = &new_model {
            parts.push(format!("model.default: {m}"));
        }
        out.err(&format!("Saved {}", parts.join(", ")));
    }
    if let (Some(p), Some(s)) = (&pool, strategy) {
        changed |= steps::save_strategy(home, &p.key, s, out)?;
    }
    if let Some(chain) = fallbacks {
        if edit::set_fallbacks(&path, &chain)? {
            changed = true;
            if chain.is_empty() {
                out.err("Saved fallback chain: none");
            } else {
                out.err(&format!("Saved fallback chain: {}", describe_chain(&chain)));
            }
        }
    }
    if !changed {
        out.err(&format!("Nothing to change in {}", path.display()));
    }
    let model_set = new_model.is_some() || current_model.is_some();
    out.err(&next_step(home, pool.as_ref(), model_set)?);
    Ok(())
}

/// The one command to try after setup: a chat when the default provider has a credential and a
/// model, else what is missing.
fn next_step(home: &Home, pool: Option<&PoolRef>, model_set: bool) -> Result<String> {
    let Some(pool) = pool else {
        return Ok("Next: choose a default provider with: hermes setup --no-input --provider P --model M".into());
    };
    if entry_count(home, &pool.key)? == 0 {
        return Ok(format!("Next: {} has no credentials; add one with: {}", pool.key, add_command(pool)));
    }
    if !model_set {
        return Ok("Next: choose a default model with: hermes setup --no-input --model M".into());
    }
    Ok("Next: try it with: hermes chat -q \"Say hi\"   (or see the pool with: hermes auth list)".into())
}

/// `what` names a pool `chat` cannot use: the runtime's error, naming the flag.
fn chat_target(home: &Home, pool: &PoolRef, what: &str) -> Result<()> {
    crate::runtime::chain::check_chat_target(home, pool)
        .map_err(|e| Error::Usage(format!("{what}: {}", crate::cli::errors::render(&e))))
}

/// Ask for a model until the answer is not empty (Enter takes `default` when there is one).
fn ask_model(prompter: &mut dyn Prompter, out: &mut Printer, prompt: &str, default: Option<&str>) -> Result<String> {
    loop {
        let answer = prompter.input(prompt, default)?;
        let answer = answer.trim();
        if !answer.is_empty() {
            return Ok(answer.to_string());
        }
        out.err("a model is needed, e.g. anthropic/claude-sonnet-4 on openrouter or claude-sonnet-4 on anthropic");
    }
}

/// The pool `model.provider` names now; plain `custom` goes through `model.base_url` (docs/design.md#config).
/// None when it is absent or not a pool hermes manages (e.g. hermes-agent's `auto`).
fn current_provider(home: &Home) -> Option<PoolRef> {
    let model = &home.config().model;
    let provider = model.provider.as_deref()?.trim();
    if provider.eq_ignore_ascii_case("custom") {
        let key = providers::pool_for_base_url(model.base_url.as_deref()?, &home.sources.customs())?;
        return home.pool(&key).ok();
    }
    home.pool(provider).ok()
}

fn entry_count(home: &Home, key: &str) -> Result<usize> {
    let doc = home.state().read()?;
    Ok(home.view(&doc, key, home.now()).entries.len())
}

/// The command that adds a credential to `pool` without a terminal.
fn add_command(pool: &PoolRef) -> String {
    match pool.provider.map(|p| p.auth) {
        Some(AuthKind::OAuth) => format!("hermes auth add {}", pool.key),
        Some(AuthKind::KeyOAuth) => {
            format!("hermes auth add {} --api-key - (or: hermes auth add {} --type oauth)", pool.key, pool.key)
        }
        _ => format!("hermes auth add {} --api-key -", pool.key),
    }
}

/// Step 2: an empty pool gets an offer to add a credential (or, with `--no-input`, the command
/// to run). A failed add is reported and setup goes on; leaving the prompt ends setup.
fn ensure_credential(
    home: &Home,
    pool: &PoolRef,
    ask: bool,
    prompter: &mut dyn Prompter,
    out: &mut Printer,
) -> Result<()> {
    if entry_count(home, &pool.key)? > 0 {
        return Ok(());
    }
    if !ask {
        // The closing "Next:" line names the command to run.
        return Ok(());
    }
    if !prompter.confirm(&format!("{} has no credentials yet. Add one now?", pool.key), true)? {
        out.err(&format!("No credential added; add one later with: {}", add_command(pool)));
        return Ok(());
    }
    match steps::add_to_pool(home, pool, prompter, out) {
        Ok(()) => Ok(()),
        Err(e @ (Error::Interrupted | Error::Cancelled)) => Err(e),
        Err(e) => {
            out.err(&format!("error: {}", crate::cli::errors::render(&e)));
            out.err(&format!("add one later with: {}", add_command(pool)));
            Ok(())
        }
    }
}

/// `anthropic/claude-sonnet-4 → nous/Hermes-4-70B`
fn describe_chain(chain: &[(String, String)]) -> String {
    chain.iter().map(|(p, m)| format!("{p}/{m}")).collect::<Vec<_>>().join(" → ")
}

/// Step 4 on a terminal: keep, replace or remove the current chain, or add one when there is
/// none. None means "leave fallback_providers alone".
fn ask_fallbacks(home: &Home, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<Option<Vec<(String, String)>>> {
    let current: Vec<(String, String)> = home
        .config()
        .fallback_providers
        .iter()
        .flatten()
        .map(|f| (f.provider.clone().unwrap_or_default(), f.model.clone().unwrap_or_default()))
        .collect();
    if current.is_empty() {
        let question = "Add a fallback provider chain?";
        if !prompter.confirm(question, false)? {
            return Ok(None);
        }
    } else {
        out.err(&format!("Fallback chain: {}", describe_chain(&current)));
        let items: Vec<String> = ["Keep it", "Replace it", "Remove it"].iter().map(|s| s.to_string()).collect();
        match prompter.select("Fallback chain", &items, 0)? {
            0 => return Ok(None),
            2 => return Ok(Some(Vec::new())),
            _ => {}
        }
    }
    let mut chain = Vec::new();
    loop {
        let n = chain.len() + 1;
        let pool = steps::pick_provider_where(home, prompter, &format!("Fallback provider #{n}"), None, |p| {
            crate::runtime::chain::check_chat_target(home, p).is_ok()
        })?;
        let model = ask_model(prompter, out, &format!("Model for {}", pool.key), None)?;
        chain.push((pool.key, model));
        if !prompter.confirm("Add another fallback provider?", false)? {
            return Ok(Some(chain));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: &str) -> (String, String) {
        parse_fallback(v).unwrap()
    }

    #[test]
    fn provider_ends_at_first_colon() {
        assert_eq!(ok("anthropic:claude-sonnet-4"), ("anthropic".into(), "claude-sonnet-4".into()));
        assert_eq!(ok("lmstudio:qwen3:8b"), ("lmstudio".into(), "qwen3:8b".into()));
        assert_eq!(
            ok(" openrouter : anthropic/claude-opus-4 "),
            ("openrouter".into(), "anthropic/claude-opus-4".into())
        );
    }

    #[test]
    fn custom_provider_ends_at_second_colon() {
        assert_eq!(ok("custom:mock2:mock-model"), ("custom:mock2".into(), "mock-model".into()));
        assert_eq!(ok("custom:local:qwen3:8b"), ("custom:local".into(), "qwen3:8b".into()));
        assert_eq!(ok("Custom:Local:m"), ("Custom:Local".into(), "m".into()));
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in
            ["anthropic", "", "   ", ":model", "anthropic:", "anthropic:  ", "custom:mock2", "custom::m", "custom:"]
        {
            assert!(parse_fallback(bad).is_err(), "{bad:?}");
        }
        assert!(parse_fallback("anthropic").unwrap_err().contains("expected PROVIDER:MODEL"));
        assert!(parse_fallback("anthropic:").unwrap_err().contains("model is empty"));
    }

    #[test]
    fn add_command_fits_the_provider() {
        let home_dir = tempfile::tempdir().unwrap();
        let (ctx, _, _) = Context::for_test([("HERMES_HOME", home_dir.path().to_str().unwrap())], 0.0);
        let home = Home::open(ctx).unwrap();
        assert_eq!(add_command(&home.pool("openrouter").unwrap()), "hermes auth add openrouter --api-key -");
        assert_eq!(add_command(&home.pool("codex").unwrap()), "hermes auth add openai-codex");
        assert!(add_command(&home.pool("anthropic").unwrap()).contains("--type oauth"));
        assert_eq!(add_command(&home.pool("custom:x").unwrap()), "hermes auth add custom:x --api-key -");
    }
}
