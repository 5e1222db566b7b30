//! The command line: clap types, one file per leaf command, the printer and the prompter.
//! Commands parse flags, call the library (mostly [`crate::ops`]) and print what it returns.

pub mod auth;
pub mod chat;
pub mod errors;
pub mod generate;
pub mod panic;
pub mod printer;
pub mod prompt;
pub mod reference;
#[cfg(feature = "serve")]
pub mod serve;
pub mod setup;
mod steps;
pub mod wizard;

use crate::context::Context;
use crate::error::Error;
use clap::{CommandFactory, Parser, Subcommand};
use printer::Printer;

/// Manage pools of LLM provider credentials.
///
/// API keys and OAuth logins per provider, picked by a strategy and benched on 429/402/401 for an
/// evidence-based cooldown. Home: $HERMES_HOME (default ~/.hermes) with auth.json and config.yaml,
/// shared with hermes-agent. Exit codes: 0 ok, 1 error, 2 usage, 4 no usable credential,
/// 130 interrupted.
///
/// Examples:
///   hermes auth list
///   echo "$KEY" | hermes auth add openrouter --api-key -
///   hermes chat -q "Say hi" --provider openrouter --model openai/gpt-4o-mini
#[derive(Debug, Parser)]
#[command(name = "hermes", version, verbatim_doc_comment)]
pub struct Cli {
    /// Print diagnostics on stderr (never a secret).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Auth(auth::AuthArgs),
    Setup(setup::Args),
    Chat(chat::Args),
    #[cfg(feature = "serve")]
    Serve(serve::Args),
    Completions(generate::CompletionsArgs),
    Man(generate::ManArgs),
}

impl Cli {
    fn wants_json(&self) -> bool {
        match &self.command {
            Command::Auth(a) => a.wants_json(),
            Command::Setup(_) | Command::Completions(_) | Command::Man(_) => false,
            #[cfg(feature = "serve")]
            Command::Serve(_) => false,
            Command::Chat(a) => a.json,
        }
    }
}

/// Report a command line clap could not parse: its text on stderr (help and version on stdout,
/// exit 0), and with `--json` among `args` the usage document on stdout. Returns the exit code.
///
/// clap quotes the offending argument; a value that looks like a key (`hermes auth add deepseek
/// sk-…`, forgetting `--api-key`) is masked there and the user is pointed at `--api-key -`.
pub fn parse_error(e: clap::Error, args: &[String]) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    let mut text = e.render().to_string();
    let mut masked_any = false;
    // A whole argument, or the value of `--flag=VALUE`.
    let values = args.iter().skip(1).flat_map(|a| [Some(a.as_str()), a.split_once('=').map(|(_, v)| v)]).flatten();
    for a in values.filter(|a| looks_like_secret(a)) {
        if text.contains(a) {
            text = text.replace(a, &crate::secret::mask(a));
            masked_any = true;
        }
    }
    let mut stderr = printer::safe(&text).into_owned();
    if masked_any {
        if !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        stderr.push_str(
            "tip: that looks like a key; pass keys on stdin so they stay out of argv and errors: \
             echo \"$KEY\" | hermes auth add PROVIDER --api-key -\n",
        );
    }
    eprint!("{stderr}");
    if args.iter().any(|a| a == "--json") {
        let message = text
            .lines()
            .take_while(|l| !l.starts_with("Usage:"))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let message = message.trim_start_matches("error: ");
        let doc = serde_json::json!({"error": {"kind": "usage", "message": message}});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    2
}

/// An argument shaped like an API key or token: a known key prefix, or a long run of key
/// characters mixing letters and digits.
fn looks_like_secret(arg: &str) -> bool {
    let key_chars = arg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '='));
    if !key_chars || arg.starts_with('-') || arg.len() < 16 {
        return false;
    }
    const PREFIXES: &[&str] = &["sk-", "sk_", "xai-", "gsk_", "AIza", "ghp_", "pk-", "rk-", "eyJ"];
    let mixed = arg.chars().any(|c| c.is_ascii_digit()) && arg.chars().any(|c| c.is_ascii_alphabetic());
    PREFIXES.iter().any(|p| arg.starts_with(p)) || (arg.len() >= 24 && mixed)
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli, ctx: Context) -> i32 {
    let mut out = Printer::new(&ctx, cli.verbose);
    let json = cli.wants_json();
    if cli.verbose && !matches!(cli.command, Command::Completions(_) | Command::Man(_)) {
        for line in home_provenance(&ctx) {
            out.debug(&line);
        }
    }
    let result = match cli.command {
        Command::Auth(args) => auth::run(args, ctx, &mut out),
        Command::Setup(args) => setup::run_cli(args, ctx, &mut out),
        Command::Completions(args) => generate::completions(args, Cli::command(), &mut out),
        Command::Man(args) => generate::man(args, Cli::command(), &mut out),
        Command::Chat(args) => chat::run(args, ctx, &mut out),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args, ctx, &mut out),
    };
    match result {
        Ok(()) => 0,
        Err(e) => report_error(&mut out, &e, json),
    }
}

/// What `-v` says first: the home in use and why, and the config.yaml and `.env` read from it.
fn home_provenance(ctx: &Context) -> Vec<String> {
    use crate::vars;
    let Some(dir) = ctx.hermes_home() else {
        return vec!["no home: HERMES_HOME and HOME are unset and the system reports no home directory".into()];
    };
    let why = if ctx.var(vars::HERMES_HOME).is_some() {
        "from HERMES_HOME".to_string()
    } else if ctx.var(vars::HOME).is_some() {
        "from HOME; HERMES_HOME is not set".to_string()
    } else {
        let how = if ctx.vars_contains(vars::HOME) { "empty" } else { "unset" };
        format!("HOME is {how}, so the home directory the system reports for this user is used")
    };
    let file = |name: &str| {
        let path = dir.join(name);
        let state = if path.exists() { "" } else { " (not present)" };
        format!("{name}: {}{state}", path.display())
    };
    vec![format!("home: {} ({why})", dir.display()), file("auth.json"), file("config.yaml"), file(".env")]
}

fn report_error(out: &mut Printer, e: &Error, json: bool) -> i32 {
    if matches!(e, Error::Interrupted | Error::Cancelled) {
        out.err("");
        return e.exit_code();
    }
    let text = errors::render(e);
    out.err(&format!("error: {text}"));
    if json && !out.error_document_written() {
        let doc = serde_json::json!({"error": {"kind": e.json_kind(), "message": text}});
        out.json_error(&doc);
    }
    e.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-v` says why the home is where it is, including the passwd-home fallback.
    #[test]
    fn home_provenance_says_where_the_home_comes_from() {
        let ctx = |vars: &[(&str, &str)]| {
            Context::with_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        };
        let lines = home_provenance(&ctx(&[("HERMES_HOME", "/h")]));
        assert_eq!(lines[0], "home: /h (from HERMES_HOME)");
        assert_eq!(lines[2], "config.yaml: /h/config.yaml (not present)");
        let lines = home_provenance(&ctx(&[("HOME", "/u")]));
        assert_eq!(lines[0], "home: /u/.hermes (from HOME; HERMES_HOME is not set)");
        for (vars, how) in [(&[("HOME", "")][..], "empty"), (&[][..], "unset")] {
            let lines = home_provenance(&ctx(vars));
            // Either the system reports a home (and -v says it is used, and why) or there is none.
            let first = &lines[0];
            assert!(
                first.contains(&format!("HOME is {how}, so the home directory the system reports"))
                    || first.starts_with("no home: "),
                "{first}"
            );
        }
    }
}
