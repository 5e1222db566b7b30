//! Bare `hermes auth` on a terminal: the interactive wizard (docs/design.md#command-line).
//!
//! It shows a status view of every pool, then a menu: add a credential, remove one, reset
//! cooldowns, set the rotation strategy, quit. After each action the status view comes back
//! with the menu. Each action first gathers its answers through a [`Prompter`] and only then
//! calls the same code as the matching subcommand ([`ops::add_api_key`], [`add::oauth_login`],
//! [`ops::remove`], [`ops::reset`], [`steps::save_strategy`]), so leaving at any prompt leaves
//! auth.json and config.yaml exactly as they were.
//!
//! Leaving (docs/design.md#command-line): Esc, q, Ctrl-C or Ctrl-D at the menu ends the wizard
//! with exit 0. Inside an action, Esc ([`Error::Cancelled`]) backs out to the menu saying nothing
//! changed, and Ctrl-C or Ctrl-D ([`Error::Interrupted`]) quits with exit 130, the terminal
//! restored. An action that fails for another reason (a label already used, an empty key)
//! prints its error and the menu comes back. Without a terminal nothing is asked: the error names
//! the commands to use.

use crate::cli::auth::{list, remove, reset};
use crate::cli::printer::Printer;
use crate::cli::prompt::Prompter;
use crate::cli::steps;
use crate::context::{Context, Epoch};
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::ops;
use crate::pool::view::PoolView;

/// What bare `hermes auth` says without a terminal (exit 2).
pub const NO_TERMINAL: &str = "the interactive wizard needs a terminal; use instead: \
     hermes auth add PROVIDER --api-key -, hermes auth list, hermes auth remove PROVIDER TARGET, \
     hermes auth reset [PROVIDER], hermes auth strategy PROVIDER NAME";

/// The menu, in order.
const MENU: [&str; 5] = ["Add a credential", "Remove a credential", "Reset cooldowns", "Set rotation strategy", "Quit"];

/// Run the wizard until the user quits. `colour` applies to the status view (stderr).
pub fn run(ctx: &Context, prompter: &mut dyn Prompter, out: &mut Printer, colour: bool) -> Result<()> {
    if !prompter.interactive() {
        return Err(Error::Usage(NO_TERMINAL.into()));
    }
    let mut shown_warnings: Vec<String> = Vec::new();
    loop {
        // Reopened every round: config.yaml may have just changed (a strategy), and another
        // process may have changed the store.
        let home = Home::open(ctx.clone())?;
        show_status(&home, out, colour)?;
        flush_warnings(&home, out, &mut shown_warnings);
        let items: Vec<String> = MENU.iter().map(|s| s.to_string()).collect();
        let choice = match prompter.select("What would you like to do?", &items, 0) {
            Ok(i) => i,
            // Leaving the menu is how the wizard ends: Esc, q, Ctrl-C and Ctrl-D all exit 0.
            Err(Error::Interrupted | Error::Cancelled) => return Ok(()),
            Err(e) => return Err(e),
        };
        let result = match choice {
            0 => add_action(&home, prompter, out),
            1 => remove_action(&home, prompter, out),
            2 => reset_action(&home, prompter, out),
            3 => strategy_action(&home, prompter, out),
            _ => return Ok(()),
        };
        match result {
            Ok(()) => {}
            // Esc backs out of the action to the menu; Ctrl-C quits the wizard (exit 130).
            Err(Error::Cancelled) => out.err("Cancelled; nothing was changed."),
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => out.err(&format!("error: {}", crate::cli::errors::render(&e))),
        }
        flush_warnings(&home, out, &mut shown_warnings);
        out.err("");
    }
}

/// Print the home's warnings that were not shown yet (each once per wizard session).
fn flush_warnings(home: &Home, out: &mut Printer, shown: &mut Vec<String>) {
    for w in home.take_warnings() {
        if !shown.contains(&w) {
            out.err(&w);
            shown.push(w);
        }
    }
}

/// Every pool with entries, as `auth list` shows them (next pick marked `←`), on stderr.
/// A read: no lock, no write.
pub fn show_status(home: &Home, out: &mut Printer, colour: bool) -> Result<()> {
    let doc = home.state().read()?;
    let now = home.now();
    let views = steps::views_with_entries(home, &doc, now);
    if views.is_empty() {
        out.err("No credentials yet.");
        return Ok(());
    }
    let mut text = String::new();
    for v in &views {
        text.push_str(&list::render_pool(v, now, colour, crate::cli::printer::stderr_width()));
        text.push('\n');
    }
    if views.iter().any(|v| v.entries.iter().any(|e| !e.persisted)) {
        text.push_str("* not yet saved; discovered from the environment/config\n");
    }
    out.err(text.trim_end());
    Ok(())
}

/// Ask for one of the pools that have entries; None (after saying so) when there are none.
fn pick_pool_with_entries(
    home: &Home,
    prompter: &mut dyn Prompter,
    prompt: &str,
    out: &mut Printer,
) -> Result<Option<(PoolRef, PoolView)>> {
    let doc = home.state().read()?;
    let mut views = steps::views_with_entries(home, &doc, home.now());
    if views.is_empty() {
        out.err("No credentials yet.");
        return Ok(None);
    }
    let items: Vec<String> = views
        .iter()
        .map(|v| {
            let n = v.entries.len();
            format!("{} ({n} {})", v.key, if n == 1 { "credential" } else { "credentials" })
        })
        .collect();
    let i = prompter.select(prompt, &items, 0)?;
    let view = views.swap_remove(i);
    Ok(Some((home.pool(&view.key)?, view)))
}

/// `#1  81b6bb  api-key-1  sk-o…1111` for each entry, columns aligned; with the status when
/// `status` is set.
fn entry_items(view: &PoolView, now: Epoch, status: bool) -> Vec<String> {
    let rows: Vec<Vec<String>> = view
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let cell = |t: &str| crate::cli::printer::safe_line(t).into_owned();
            let mut row = vec![format!("#{}", i + 1), cell(&e.entry.id), cell(&e.entry.label), cell(&e.masked())];
            if status {
                row.push(cell(&e.status.describe(now)));
            }
            row
        })
        .collect();
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().map(|r| console::measure_text_width(&r[c])).max().unwrap_or(0)).collect();
    // On a terminal, an item is one line: the select widget puts two characters before it.
    let fit = crate::cli::printer::stderr_width().map(|w| w.saturating_sub(3).max(20));
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c + 1 == cols {
                        cell.clone()
                    } else {
                        console::pad_str(cell, widths[c], console::Alignment::Left, None).into_owned()
                    }
                })
                .collect();
            let line = cells.join("  ");
            match fit {
                Some(w) => console::truncate_str(&line, w, "…").into_owned(),
                None => line,
            }
        })
        .collect()
}

/// A TARGET (docs/design.md#command-line) that names exactly entry `i`: its id, else its label, else its index.
fn target_for(view: &PoolView, i: usize) -> String {
    let e = &view.entries[i].entry;
    [e.id.clone(), e.label.clone(), (i + 1).to_string()]
        .into_iter()
        .find(|t| view.find(t) == Ok(i))
        .unwrap_or_else(|| e.id.clone())
}

fn add_action(home: &Home, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    let preferred = home.config().model.provider.clone();
    let pool = steps::pick_provider(home, prompter, "Add a credential to which provider?", preferred.as_deref())?;
    steps::add_to_pool(home, &pool, prompter, out)
}

fn remove_action(home: &Home, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    let Some((pool, view)) = pick_pool_with_entries(home, prompter, "Remove a credential from which provider?", out)?
    else {
        return Ok(());
    };
    let items = entry_items(&view, home.now(), false);
    let i = prompter.select("Which credential?", &items, 0)?;
    let e = &view.entries[i];
    let question = format!("Remove {} #{} \"{}\" ({})?", pool.key, i + 1, e.entry.label, e.masked());
    if !prompter.confirm(&question, false)? {
        out.err("Nothing removed.");
        return Ok(());
    }
    let removed = ops::remove(home, &pool, &target_for(&view, i))?;
    remove::print_removed(&removed, out);
    Ok(())
}

fn reset_action(home: &Home, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    let Some((pool, view)) = pick_pool_with_entries(home, prompter, "Reset cooldowns in which provider?", out)? else {
        return Ok(());
    };
    let scopes = vec![format!("All cooldowns in {}", pool.key), "One credential".to_string()];
    let target = match prompter.select("Reset what?", &scopes, 0)? {
        0 => None,
        _ => {
            let items = entry_items(&view, home.now(), true);
            Some(target_for(&view, prompter.select("Which credential?", &items, 0)?))
        }
    };
    let report = ops::reset(home, Some(&pool), target.as_deref())?;
    reset::print_reset(&report, Some(&pool.key), out);
    Ok(())
}

fn strategy_action(home: &Home, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<()> {
    let doc = home.state().read()?;
    let first = steps::views_with_entries(home, &doc, home.now()).into_iter().next().map(|v| v.key);
    let pool = steps::pick_provider(home, prompter, "Set the rotation strategy of which provider?", first.as_deref())?;
    let strategy = steps::ask_strategy(home, &pool.key, prompter, out)?;
    steps::save_strategy(home, &pool.key, strategy, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;

    fn home_with(config: &str) -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        let (ctx, _, _) = Context::for_test([("HERMES_HOME", dir.path().to_str().unwrap())], 1_782_896_400.0);
        let home = Home::open(ctx).unwrap();
        (dir, home)
    }

    #[test]
    fn provider_choices_list_registry_then_customs_with_aliases() {
        let (_d, home) =
            home_with("custom_providers:\n  - name: My Local LLM\n    base_url: http://127.0.0.1:8080/v1\n");
        let doc = home.state().read().unwrap();
        let choices = steps::provider_choices(&home, &doc, home.now());
        assert_eq!(choices[0].text, "openrouter (or, open-router)");
        assert!(choices.iter().any(|c| c.key == "openai-codex"));
        assert!(!choices.iter().any(|c| c.key == "xai-oauth"), "unmanaged providers are not offered");
        let last = choices.last().unwrap();
        assert_eq!(
            (last.key.as_str(), last.text.as_str()),
            ("custom:my-local-llm", "custom:my-local-llm (My Local LLM)")
        );
    }

    #[test]
    fn entry_items_align_columns() {
        let (_d, home) = home_with("");
        let pool = home.pool("openrouter").unwrap();
        ops::add_api_key(&home, &pool, &crate::secret::Secret::new("sk-or-v1-aaaa1111"), Some("a")).unwrap();
        ops::add_api_key(&home, &pool, &crate::secret::Secret::new("sk-or-v1-bbbb2222"), Some("longer-label")).unwrap();
        let doc = home.state().read().unwrap();
        let view = home.view(&doc, "openrouter", home.now());
        let items = entry_items(&view, home.now(), true);
        assert_eq!(items.len(), 2);
        assert!(items[0].starts_with("#1  "), "{items:?}");
        assert!(items[0].contains("a             sk-o…1111  ok"), "{items:?}");
        assert!(items[1].contains("longer-label  sk-o…2222  ok"), "{items:?}");
        assert_eq!(target_for(&view, 1), view.entries[1].entry.id);
    }
}
