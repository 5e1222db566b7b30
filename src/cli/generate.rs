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
pub fn completions(args: CompletionsArgs, cmd: clap::Command, out: &mut Printer) -> Result<()> {
    let names: Vec<&'static str> =
        crate::providers::all().iter().flat_map(|p| std::iter::once(p.id).chain(p.aliases.iter().copied())).collect();
    let mut cmd = with_provider_names(cmd, &names);
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "hermes", &mut buf);
    out.out(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// `cmd` with every `provider` argument (positional or `--provider`) completing to `names`.
/// Only the completion script sees these values: parsing still takes any provider, so
/// `custom:<name>` pools work where the registry does not list them.
fn with_provider_names(cmd: clap::Command, names: &[&'static str]) -> clap::Command {
    let subcommands: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    let mut cmd = cmd;
    if cmd.get_arguments().any(|a| a.get_id() == "provider") {
        // `mut_arg` moves the argument to the end, and positionals without an index are numbered
        // in order: pin every positional's place first.
        let positionals: Vec<String> = cmd.get_positionals().map(|a| a.get_id().to_string()).collect();
        for (i, id) in positionals.iter().enumerate() {
            cmd = cmd.mut_arg(id, |a| a.index(i + 1));
        }
        cmd = cmd.mut_arg("provider", |a| a.value_parser(clap::builder::PossibleValuesParser::new(names.to_vec())));
    }
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, |s| with_provider_names(s, names));
    }
    cmd
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
    Ok(keep_verbatim(&String::from_utf8_lossy(&buf)).into_bytes())
}

/// The indented lines of a help text (examples, tables) as they are written: each run of them in
/// a no-fill block, so man does not join, justify or hyphenate a command line
/// (`--model ope‐ nai/gpt-4o-mini`).
fn keep_verbatim(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len() + 64);
    let mut inside = false;
    for line in roff.lines() {
        let verbatim = line.starts_with("  ") && !line.trim().is_empty();
        if verbatim && !inside {
            out.push_str(".nf\n");
            inside = true;
        } else if !verbatim && inside {
            out.push_str(".fi\n");
            inside = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    if inside {
        out.push_str(".fi\n");
    }
    out
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn examples_are_not_filled() {
        let roff = ".PP\nExamples:\n  hermes auth list\n  hermes chat \\-q hi\n.SH OPTIONS\n";
        assert_eq!(
            super::keep_verbatim(roff),
            ".PP\nExamples:\n.nf\n  hermes auth list\n  hermes chat \\-q hi\n.fi\n.SH OPTIONS\n"
        );
    }

    /// The completion-only provider values keep every command line valid (positions included).
    #[test]
    fn provider_names_keep_the_command_valid() {
        let names: Vec<&'static str> = crate::providers::all().iter().map(|p| p.id).collect();
        let mut cmd = super::with_provider_names(crate::cli::Cli::command(), &names);
        cmd.build();
        let restore = cmd.find_subcommand("auth").and_then(|a| a.find_subcommand("restore")).unwrap();
        let mut ids: Vec<(usize, &str)> =
            restore.get_positionals().map(|a| (a.get_index().unwrap_or(0), a.get_id().as_str())).collect();
        ids.sort();
        assert_eq!(ids, [(1, "provider"), (2, "source")]);
        let provider = restore.get_positionals().find(|a| a.get_id() == "provider").unwrap();
        assert!(provider.get_possible_values().iter().any(|v| v.get_name() == "openrouter"));
    }
}
