//! stdout is for data, stderr for everything else. The printer owns both streams, knows
//! whether colour is allowed, and exits quietly when stdout is a closed pipe.

use crate::context::Context;
use std::io::{IsTerminal, Write};

pub struct Printer {
    colour: bool,
    pub verbose: bool,
    stdout_tty: bool,
}

impl Printer {
    pub fn new(ctx: &Context, verbose: bool) -> Printer {
        let stdout_tty = std::io::stdout().is_terminal();
        Printer { colour: stdout_tty && ctx.colour_allowed(), verbose, stdout_tty }
    }

    /// Whether ANSI colour may be written to stdout.
    pub fn colour(&self) -> bool {
        self.colour
    }

    pub fn stdout_is_tty(&self) -> bool {
        self.stdout_tty
    }

    /// Write data to stdout. A closed pipe (`hermes auth list | head -1`) ends the process
    /// quietly with exit 0.
    pub fn out(&mut self, text: &str) {
        let mut so = std::io::stdout().lock();
        let r = so
            .write_all(text.as_bytes())
            .and_then(|_| if text.ends_with('\n') { Ok(()) } else { so.write_all(b"\n") })
            .and_then(|_| so.flush());
        if let Err(e) = r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }

    /// One JSON document on stdout.
    pub fn json(&mut self, v: &serde_json::Value) {
        let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
        self.out(&text);
    }

    /// A message, warning or error on stderr.
    pub fn err(&mut self, text: &str) {
        let mut se = std::io::stderr().lock();
        let _ = writeln!(se, "{text}");
    }

    /// A diagnostic line, shown only with `-v`.
    pub fn debug(&mut self, text: &str) {
        if self.verbose {
            self.err(&format!("hermes: {text}"));
        }
    }
}
