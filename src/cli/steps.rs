//! The questions the wizard and `hermes setup` both ask, and what they save: pick a provider,
//! add a credential to a pool, choose and save a rotation strategy. Each asks through a
//! [`Prompter`] first and only then calls the same code as the matching subcommand.

use crate::cli::auth::add;
use crate::cli::printer::Printer;
use crate::cli::prompt::Prompter;
use crate::config::edit;
use crate::context::Epoch;
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::model::AuthDoc;
use crate::ops;
use crate::pool::strategy::Strategy;
use crate::pool::view::PoolView;
use crate::providers::{self, CUSTOM_PREFIX};

/// The views of the pools hermes manages that have at least one entry, in pool-key order.
pub(crate) fn views_with_entries(home: &Home, doc: &AuthDoc, now: Epoch) -> Vec<PoolView> {
    home.pool_keys(doc)
        .iter()
        .filter(|k| home.pool(k).is_ok())
        .map(|k| home.view(doc, k, now))
        .filter(|v| !v.entries.is_empty())
        .collect()
}

/// One line of a provider picker.
pub(crate) struct ProviderChoice {
    pub(crate) key: String,
    pub(crate) text: String,
}

/// Every provider a credential can be added to: pools that already have entries first, then
/// the registry in docs/design.md#providers order, then `custom:*` pools configured in config.yaml. Each line shows
/// the aliases (or the configured name) so that typing any of them finds it.
pub(crate) fn provider_choices(home: &Home, doc: &AuthDoc, now: Epoch) -> Vec<ProviderChoice> {
    let mut keys: Vec<String> = views_with_entries(home, doc, now).into_iter().map(|v| v.key).collect();
    for p in providers::all() {
        keys.push(p.id.to_string());
    }
    for c in &home.config().custom_providers {
        keys.push(providers::custom_key(&c.name));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut choices = Vec::new();
    for key in keys {
        if seen.contains(&key) {
            continue;
        }
        let Ok(pool) = home.pool(&key) else { continue };
        seen.push(key.clone());
        let text = match (pool.provider, &pool.custom) {
            (Some(p), _) if !p.aliases.is_empty() => format!("{key} ({})", p.aliases.join(", ")),
            (None, Some((name, _))) if providers::slug(name) != *name => format!("{key} ({name})"),
            _ => key.clone(),
        };
        choices.push(ProviderChoice { key, text });
    }
    choices
}

/// Ask for a provider from the fuzzy list; `preferred` (a pool key) is preselected.
pub(crate) fn pick_provider(
    home: &Home,
    prompter: &mut dyn Prompter,
    prompt: &str,
    preferred: Option<&str>,
) -> Result<PoolRef> {
    pick_provider_where(home, prompter, prompt, preferred, |_| true)
}

/// Like [`pick_provider`], offering only the pools `keep` accepts (setup offers only the
/// providers `chat` can use).
pub(crate) fn pick_provider_where(
    home: &Home,
    prompter: &mut dyn Prompter,
    prompt: &str,
    preferred: Option<&str>,
    keep: impl Fn(&PoolRef) -> bool,
) -> Result<PoolRef> {
    let doc = home.state().read()?;
    let choices: Vec<ProviderChoice> = provider_choices(home, &doc, home.now())
        .into_iter()
        .filter(|c| home.pool(&c.key).is_ok_and(|p| keep(&p)))
        .collect();
    let items: Vec<String> = choices.iter().map(|c| c.text.clone()).collect();
    let default = preferred.and_then(|p| choices.iter().position(|c| c.key == p)).unwrap_or(0);
    let i = prompter.fuzzy_select(prompt, &items, default)?;
    home.pool(&choices[i].key)
}

/// The add flow for one pool (the wizard and `setup`): API key or OAuth login where both
/// exist, then the hidden key and an optional label (default shown), or the login.
pub(crate) fn add_to_pool(home: &Home, pool: &PoolRef, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    if pool.provider.is_none() && !pool.key.starts_with(CUSTOM_PREFIX) {
        return Err(Error::Usage(format!("{} is not supported by hermes; use hermes-agent", pool.key)));
    }
    let kind = add::choose_kind(pool, None, false, prompter)?;
    if kind == add::Kind::OAuth {
        let added = add::oauth_login(home, pool, &add::OAuthOptions::default(), prompter, out)?;
        add::print_added(&added, "OAuth ", "oauth", false, out);
        return Ok(());
    }
    let secret = add::check_key(&prompter.password("Paste your API key")?)?;
    // A key already in the pool is refused before the label question, not after it.
    if ops::check_new_key(home, pool, &secret)? {
        let added = ops::add_api_key(home, pool, &secret, None)?;
        add::print_added(&added, "", "api_key", false, out);
        return Ok(());
    }
    let doc = home.state().read()?;
    let default_label = ops::default_label(&home.view(&doc, &pool.key, home.now()), "api-key");
    let answer = prompter.input("Label", Some(&default_label))?;
    let answer = answer.trim();
    // The default is picked again inside the transaction, so a concurrent add cannot make it
    // clash; a label the user typed is checked there for uniqueness (docs/design.md#ids-labels-priorities).
    let label = (!answer.is_empty() && answer != default_label).then_some(answer);
    add::warn_unconfigured(pool, out);
    let added = ops::add_api_key(home, pool, &secret, label)?;
    add::print_added(&added, "", "api_key", false, out);
    Ok(())
}

/// `Current strategy for <key>: <s>`, then the four strategies with their meaning and ` ←` on
/// the current one. Returns the choice; nothing is written here.
pub(crate) fn ask_strategy(home: &Home, key: &str, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<Strategy> {
    let current = home.strategy(key);
    out.err(&format!("Current strategy for {key}: {current}"));
    let items: Vec<String> = Strategy::ALL
        .iter()
        .map(|s| format!("{} — {}{}", s.as_str(), s.description(), if *s == current { " ←" } else { "" }))
        .collect();
    let default = Strategy::ALL.iter().position(|s| *s == current).unwrap_or(0);
    let i = prompter.select(&format!("Rotation strategy for {key}"), &items, default)?;
    Ok(Strategy::ALL[i])
}

/// Write `credential_pool_strategies.<key>` (only that line) and say so; returns whether the
/// file changed. A key spelled differently in the file (an alias, other case, quoted) is
/// overwritten in place rather than shadowed by a second one.
pub fn save_strategy(home: &Home, key: &str, strategy: Strategy, out: &mut Printer) -> Result<bool> {
    let raw = home.strategy_entry(key).map_or(key, |(k, _)| k.as_str());
    let changed = edit::set_strategy(&home.config().path, raw, strategy.as_str())?;
    if changed {
        out.err(&format!("Saved {key} rotation strategy: {strategy}"));
    } else {
        out.err(&format!("{key} rotation strategy is already {strategy}; config.yaml unchanged"));
    }
    Ok(changed)
}
