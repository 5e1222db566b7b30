//! `hermes auth repair`: check auth.json; with --force, move an invalid one aside.

use crate::cli::printer::Printer;
use crate::error::Result;
use crate::home::Home;

/// Check auth.json, or move an invalid one aside.
///
/// Temp files that killed writers left next to auth.json are removed and reported. With --force,
/// an invalid store is renamed to auth.json.corrupt-<time> so the next command
/// starts empty. A valid store is never moved.
///
/// Examples:
///   hermes auth repair
///   hermes auth repair --force
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Move an invalid auth.json aside.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let Some(store) = home.file_store() else {
        // Pools that do not live in auth.json have no file to repair.
        home.state().read()?;
        out.out("ok");
        return Ok(());
    };
    let removed = store.clean_temp_files()?;
    if !removed.is_empty() {
        out.err(&format!(
            "removed {} left by interrupted writes (they may have held old keys)",
            crate::cli::printer::count(removed.len(), "temp file")
        ));
    }
    if !args.force {
        store.check()?;
        out.out(&valid(home, store)?);
        return Ok(());
    }
    match store.repair_force(home.now())? {
        Some(moved) => {
            out.err(&format!(
                "Moved the invalid {} to {}; the next command starts with an empty store \
                 (copy what you need back from that file, or add the keys again)",
                store.path().display(),
                moved.display()
            ));
        }
        None => out.out(&valid(home, store)?),
    }
    Ok(())
}

/// `/…/auth.json is valid: 3 credentials in 2 pools`, or that there is none yet.
fn valid(home: &Home, store: &crate::store::Store) -> Result<String> {
    if !store.path().exists() {
        return Ok(format!("{} does not exist yet; the first change creates it", store.path().display()));
    }
    let doc = home.state().read()?;
    let keys = doc.pool_keys();
    let entries: usize = keys.iter().map(|k| doc.pool(k).len()).sum();
    Ok(format!(
        "{} is valid: {} in {}",
        store.path().display(),
        crate::cli::printer::count(entries, "credential"),
        crate::cli::printer::count(keys.len(), "pool")
    ))
}
