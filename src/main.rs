//! The `hermes` binary: parse, run, map the error to an exit code. Nothing else.

use clap::Parser;

fn main() {
    let cli = hermes::cli::Cli::parse();
    let code = hermes::cli::run(cli, hermes::context::Context::from_process());
    std::process::exit(code);
}
