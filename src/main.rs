//! The `hermes` binary: parse, run, map the error to an exit code. Nothing else.

use clap::Parser;

fn main() {
    hermes::cli::panic::install_hook();
    let cli = hermes::cli::Cli::parse();
    let ctx = hermes::context::Context::from_process();
    hermes::cli::panic::maybe_force(&ctx);
    let code = hermes::cli::run(cli, ctx);
    std::process::exit(code);
}
