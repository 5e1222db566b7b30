//! The `hermes` binary: parse, run, map the error to an exit code. Nothing else.

use clap::Parser;

fn main() {
    hermes::cli::panic::install_hook();
    let args: Vec<String> = std::env::args().collect();
    let cli = match hermes::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => std::process::exit(hermes::cli::parse_error(e, &args)),
    };
    let ctx = hermes::context::Context::from_process();
    hermes::cli::panic::maybe_force(&ctx);
    let code = hermes::cli::run(cli, ctx);
    std::process::exit(code);
}
