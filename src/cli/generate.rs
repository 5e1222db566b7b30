//! `hermes completions SHELL` and `hermes man`: generated from the clap definitions, so they
//! always match the binary.

use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Print a shell completion script.
///
/// Examples:
///   hermes completions bash > ~/.local/share/bash-completion/completions/hermes
///   hermes completions zsh > "${fpath[1]}/_hermes"
///   hermes completions fish > ~/.config/fish/completions/hermes.fish
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    pub shell: clap_complete::Shell,
}

/// Print the man page, or write one page per command into a directory.
///
/// Examples:
///   hermes man | man -l -
///   hermes man --dir ~/.local/share/man/man1
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {
    /// Write hermes.1, hermes-auth.1, hermes-auth-add.1, … into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Shell completions of `cmd` (the whole command line, [`super::Cli::command`]).
pub fn completions(args: CompletionsArgs, mut cmd: clap::Command, out: &mut Printer) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "hermes", &mut buf);
    out.out(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// Man pages of `cmd` (the whole command line).
pub fn man(args: ManArgs, mut cmd: clap::Command, out: &mut Printer) -> Result<()> {
    cmd.build();
    match args.dir {
        None => {
            out.out(&String::from_utf8_lossy(&render(&cmd)?));
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::Failed(format!("{}: {e}", dir.display())))?;
            let written = write_pages(&cmd, &dir)?;
            out.err(&format!("wrote {written} man pages to {}", dir.display()));
        }
    }
    Ok(())
}

fn render(cmd: &clap::Command) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(|e| Error::Failed(format!("could not render the man page: {e}")))?;
    Ok(buf)
}

/// One page per command; a built command's display name is already `hermes-auth-add`.
fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<usize> {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, render(cmd)?).map_err(|e| Error::Failed(format!("{}: {e}", path.display())))?;
    let mut n = 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help" && !s.is_hide_set()) {
        n += write_pages(sub, dir)?;
    }
    Ok(n)
}
