//! Completions and man pages come from the clap definitions; every command's help has an
//! Examples section.

use crate::common::*;
use clap::CommandFactory;

#[test]
fn completions_for_each_shell() {
    let s = Sealed::new();
    for shell in ["bash", "zsh", "fish"] {
        let o = s.run(&["completions", shell]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        for word in ["hermes", "auth", "setup", "token"] {
            assert!(o.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert_eq!(s.run(&["completions", "tcsh-nope"]).code, 2);
}

#[test]
fn man_pages() {
    let s = Sealed::new();
    let o = s.run(&["man"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.starts_with(".ie") || o.stdout.contains(".TH hermes 1"), "{}", &o.stdout[..200]);
    let dir = s.dir.path().join("man1");
    let o = s.run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for page in ["hermes.1", "hermes-auth.1", "hermes-auth-add.1", "hermes-setup.1"] {
        assert!(dir.join(page).exists(), "{page}");
    }
}

#[test]
fn every_command_has_examples() {
    fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
        let subs: Vec<_> = cmd.get_subcommands().filter(|c| c.get_name() != "help").collect();
        let help = cmd.clone().render_long_help().to_string();
        if !help.contains("Examples:") {
            missing.push(path.clone());
        }
        for sub in subs {
            walk(sub, format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut root = hermes::cli::Cli::command();
    root.build();
    let mut missing = Vec::new();
    walk(&root, "hermes".into(), &mut missing);
    assert!(missing.is_empty(), "commands without an Examples section: {missing:?}");
}
