//! The command line: clap types, one file per leaf command, and the printer.
