//! `hermes auth …`: one file per leaf command.

pub mod add;
pub mod check;
pub mod explain;
pub mod history;
pub mod list;
pub mod login_ui;
pub mod providers;
pub mod refresh;
pub mod remove;
pub mod repair;
pub mod report;
pub mod reset;
pub mod restore;
pub mod simulate;
pub mod status;
pub mod strategy;
pub mod token;
pub mod usage;

use crate::cli::printer::Printer;
use crate::cli::prompt::TermPrompter;
use crate::context::Context;
use crate::error::Result;
use crate::home::Home;
use clap::{Args, Subcommand};
use std::io::IsTerminal;

/// Manage credential pools (bare `hermes auth` opens the interactive wizard).
///
/// On a terminal, `hermes auth` alone shows every pool and a menu to add, remove, reset and set
/// the rotation strategy. Every action is also a subcommand for scripts.
///
/// Examples:
///   hermes auth
///   hermes auth list --json
///   hermes auth token openrouter
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, verbatim_doc_comment)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub command: Option<AuthCommand>,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    Add(add::Args),
    List(list::Args),
    Remove(remove::Args),
    Reset(reset::Args),
    Restore(restore::Args),
    Token(token::Args),
    Report(report::Args),
    Repair(repair::Args),
    Refresh(refresh::Args),
    Status(status::Args),
    Providers(providers::Args),
    Strategy(strategy::Args),
    Explain(explain::Args),
    Simulate(simulate::Args),
    History(history::Args),
    Check(check::Args),
    Usage(usage::Args),
}

impl AuthArgs {
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Some(AuthCommand::Add(a)) => a.json,
            Some(AuthCommand::List(a)) => a.json,
            Some(AuthCommand::Remove(a)) => a.json,
            Some(AuthCommand::Reset(a)) => a.json,
            Some(AuthCommand::Restore(a)) => a.json,
            Some(AuthCommand::Token(a)) => a.json,
            Some(AuthCommand::Report(a)) => a.json,
            Some(AuthCommand::Status(a)) => a.json,
            Some(AuthCommand::Providers(a)) => a.json,
            Some(AuthCommand::Strategy(a)) => a.json,
            Some(AuthCommand::Explain(a)) => a.json,
            Some(AuthCommand::Simulate(a)) => a.json,
            Some(AuthCommand::History(a)) => a.json,
            Some(AuthCommand::Check(a)) => a.json,
            Some(AuthCommand::Usage(a)) => a.json,
            _ => false,
        }
    }
}

pub fn run(args: AuthArgs, ctx: Context, out: &mut Printer) -> Result<()> {
    let Some(command) = args.command else {
        // Bare `hermes auth`: the wizard on a terminal, else exit 2 naming the commands.
        let colour = std::io::stderr().is_terminal() && ctx.colour_allowed();
        return crate::cli::wizard::run(&ctx, &mut TermPrompter::new(colour), out, colour);
    };
    let home = std::sync::Arc::new(Home::open(ctx)?);
    let result = match command {
        AuthCommand::Add(a) => add::run(a, &home, out),
        AuthCommand::List(a) => list::run(a, &home, out),
        AuthCommand::Remove(a) => remove::run(a, &home, out),
        AuthCommand::Reset(a) => reset::run(a, &home, out),
        AuthCommand::Restore(a) => restore::run(a, &home, out),
        AuthCommand::Token(a) => token::run(a, &home, out),
        AuthCommand::Report(a) => report::run(a, &home, out),
        AuthCommand::Repair(a) => repair::run(a, &home, out),
        AuthCommand::Refresh(a) => refresh::run(a, &home, out),
        AuthCommand::Status(a) => status::run(a, &home, out),
        AuthCommand::Providers(a) => providers::run(a, &home, out),
        AuthCommand::Strategy(a) => strategy::run(a, &home, out),
        AuthCommand::Explain(a) => explain::run(a, &home, out),
        AuthCommand::Simulate(a) => simulate::run(a, &home, out),
        AuthCommand::History(a) => history::run(a, &home, out),
        AuthCommand::Check(a) => check::run(a, home.clone(), out),
        AuthCommand::Usage(a) => usage::run(a, &home, out),
    };
    for w in home.take_warnings() {
        out.err(&w);
    }
    result
}
