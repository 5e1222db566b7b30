//! Panics never print their payload: it could carry a key or token that some bug formatted
//! into a message. The hook prints one line with the location only, and no backtrace.

use crate::context::Context;
use crate::vars;

/// Replace the default panic output with a one-line, payload-free message.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error in hermes{at}; this is a bug, please report it (details withheld: they may contain secrets)");
    }));
}

/// Hidden test hook: `HERMES_TEST_PANIC=<text>` panics with that text in the payload, so a test
/// can prove the payload never reaches the terminal.
pub fn maybe_force(ctx: &Context) {
    if let Some(text) = ctx.var(vars::TEST_PANIC) {
        panic!("forced panic carrying {text}");
    }
}
