//! The CLI reference (docs/cli.md), generated from the clap definitions so it cannot drift:
//! a test compares the committed file with [`markdown`] and fails when they differ.

use clap::CommandFactory;

/// Markdown for every command: usage and the full `--help` text.
pub fn markdown() -> String {
    let mut root = super::Cli::command();
    root.build();
    let mut out = String::from(
        "# CLI reference\n\n\
         Generated from the clap definitions (`src/cli`); `cargo test` fails when this file and the\n\
         code disagree. Regenerate with `UPDATE_DOCS=1 cargo test --test it docs_drift`.\n",
    );
    walk(&root, "hermes", &mut out);
    out
}

fn walk(cmd: &clap::Command, path: &str, out: &mut String) {
    if cmd.is_hide_set() {
        return;
    }
    let mut c = cmd.clone().bin_name(path).term_width(100);
    let help = c.render_long_help().to_string();
    out.push_str(&format!("\n## `{path}`\n\n```text\n{}\n```\n", help.trim_end()));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        walk(sub, &format!("{path} {}", sub.get_name()), out);
    }
}
