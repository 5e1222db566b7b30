//! stdout is for data, stderr for everything else. The printer owns both streams, knows
//! whether colour is allowed, and exits quietly when stdout is a closed pipe.

use crate::context::Context;
use std::io::{IsTerminal, Write};

pub struct Printer {
    colour: bool,
    pub verbose: bool,
    stdout_tty: bool,
    /// A command already wrote its own `--json` error document (with more than the generic one).
    error_document_written: bool,
    /// In-process tests: what would have gone to stdout and stderr.
    captured: Option<Captured>,
}

/// The text a capturing [`Printer`] kept instead of writing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
}

impl Printer {
    pub fn new(ctx: &Context, verbose: bool) -> Printer {
        let stdout_tty = std::io::stdout().is_terminal();
        Printer {
            colour: stdout_tty && ctx.colour_allowed(),
            verbose,
            stdout_tty,
            error_document_written: false,
            captured: None,
        }
    }

    /// A printer that keeps everything in memory (no colour, not a terminal), so in-process
    /// tests of the wizard and `setup` can check the messages.
    pub fn capturing() -> Printer {
        Printer {
            colour: false,
            verbose: false,
            stdout_tty: false,
            error_document_written: false,
            captured: Some(Captured::default()),
        }
    }

    /// What a capturing printer kept so far (empty for a real one).
    pub fn captured(&self) -> Captured {
        self.captured.clone().unwrap_or_default()
    }

    /// Whether ANSI colour may be written to stdout.
    pub fn colour(&self) -> bool {
        self.colour
    }

    pub fn stdout_is_tty(&self) -> bool {
        self.stdout_tty
    }

    /// The width of the terminal stdout is, or None when it is not one (piped output is never
    /// fitted to a width).
    pub fn stdout_width(&self) -> Option<usize> {
        if !self.stdout_tty || self.captured.is_some() {
            return None;
        }
        console::Term::stdout().size_checked().map(|(_, cols)| cols as usize)
    }

    /// Write data to stdout, control characters other than newline and tab shown escaped (see
    /// [`safe`]). A closed pipe (`hermes auth list | head -1`) ends the process quietly with
    /// exit 0.
    pub fn out(&mut self, text: &str) {
        let text = safe(text);
        self.out_raw(&text);
    }

    /// Write text whose untrusted parts already went through [`safe_line`] and that may carry
    /// ANSI styling of our own (the coloured `auth list` table).
    pub fn out_styled(&mut self, text: &str) {
        self.out_raw(text);
    }

    fn out_raw(&mut self, text: &str) {
        if let Err(e) = self.write_stdout(text) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }

    /// Write the one answer a command exists for (the secret of `auth token`), exactly as it
    /// is. Unlike [`Printer::out`], a failed write is an error: the answer was not delivered.
    pub fn answer(&mut self, text: &str) -> crate::error::Result<()> {
        if self.stdout_tty && text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(crate::error::Error::Failed(
                "the secret contains control characters; refusing to print it on a terminal (pipe it instead)".into(),
            ));
        }
        self.write_stdout(text)
            .map_err(|e| crate::error::Error::Failed(format!("could not write the answer to stdout: {e}")))
    }

    fn write_stdout(&mut self, text: &str) -> std::io::Result<()> {
        if let Some(c) = &mut self.captured {
            c.stdout.push_str(text);
            if !text.ends_with('\n') {
                c.stdout.push('\n');
            }
            return Ok(());
        }
        let mut so = std::io::stdout().lock();
        so.write_all(text.as_bytes())
            .and_then(|_| if text.ends_with('\n') { Ok(()) } else { so.write_all(b"\n") })
            .and_then(|_| so.flush())
    }

    /// One JSON document on stdout.
    ///
    /// The text is valid JSON carrying the exact strings; every control character in it is a
    /// JSON escape (see [`crate::text::json_pretty`]).
    pub fn json(&mut self, v: &serde_json::Value) {
        let text = crate::text::json_pretty(v);
        self.out_raw(&text);
    }

    /// The `--json` error document of a failed command: written like [`Printer::json`], but a
    /// closed stdout does not end the process (its exit code is the error's, not 0).
    pub fn json_error(&mut self, v: &serde_json::Value) {
        let _ = self.write_stdout(&crate::text::json_pretty(v));
        self.error_document_written = true;
    }

    /// Whether a `--json` error document was written already (the exit path then adds none).
    pub fn error_document_written(&self) -> bool {
        self.error_document_written
    }

    /// A message, warning or error on stderr, control characters other than newline and tab
    /// shown escaped (see [`safe`]).
    pub fn err(&mut self, text: &str) {
        let text = safe(text);
        if let Some(c) = &mut self.captured {
            c.stderr.push_str(&text);
            c.stderr.push('\n');
            return;
        }
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

pub use crate::text::{one_line as safe_line, safe};

/// A borderless table with this header: cells left-aligned, padded to the widest cell. The one
/// table path of the CLI (`auth list`, `auth status`).
///
/// Laid out without any terminal probe: `ContentArrangement::Disabled` (no width negotiation)
/// and a fixed width, so a large table costs the cell measuring and nothing else
/// (docs/benchmarks.md has the figures).
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    t.set_width(u16::MAX);
    t.set_header(header.to_vec());
    t
}

/// Render a [`table`]: columns separated by two spaces, no trailing whitespace, ANSI styling only
/// when `colour` is true.
pub fn render_table(mut t: comfy_table::Table, colour: bool) -> String {
    use comfy_table::{CellAlignment, ColumnConstraint};
    if colour {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    let last = t.column_count().saturating_sub(1);
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i == last { 0 } else { 2 }));
        col.set_cell_alignment(CellAlignment::Left);
        col.set_constraint(ColumnConstraint::ContentWidth);
    }
    let mut s = String::new();
    for line in t.to_string().lines() {
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// The width of the terminal stderr is (the wizard's screen), or None when it is not one.
pub fn stderr_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    console::Term::stderr().size_checked().map(|(_, cols)| cols as usize)
}

/// Fit a table (header row first; every row the same length) into `width` terminal columns,
/// two spaces between columns, one line per row: drop the columns of `drop` in that order
/// until it fits, then shorten the cells of each `shrink` column (column, narrowest width)
/// with `…`. Returns the original indices of the columns kept; the rows keep every column.
pub fn fit(rows: &mut [Vec<String>], width: usize, drop: &[usize], shrink: &[(usize, usize)]) -> Vec<usize> {
    // A cell may hold several lines (one per item); its width is its widest line.
    fn col_width(rows: &[Vec<String>], c: usize) -> usize {
        rows.iter().flat_map(|r| r[c].lines()).map(console::measure_text_width).max().unwrap_or(0)
    }
    fn total(rows: &[Vec<String>], kept: &[usize]) -> usize {
        kept.iter().map(|&c| col_width(rows, c)).sum::<usize>() + 2 * kept.len().saturating_sub(1)
    }
    let mut kept: Vec<usize> = (0..rows.first().map_or(0, Vec::len)).collect();
    for &d in drop {
        if total(rows, &kept) <= width {
            break;
        }
        kept.retain(|&c| c != d);
    }
    for &(c, narrowest) in shrink {
        let t = total(rows, &kept);
        if t <= width {
            break;
        }
        if !kept.contains(&c) {
            continue;
        }
        let target = col_width(rows, c).saturating_sub(t - width).max(narrowest);
        for r in rows.iter_mut() {
            if console::measure_text_width(&r[c]) > target {
                r[c] = console::truncate_str(&r[c], target, "…").into_owned();
            }
        }
    }
    kept
}

/// A [`table`] of `rows` (header row first), fitted to `width` when there is one (see [`fit`]).
pub fn fitted_table(
    mut rows: Vec<Vec<String>>,
    width: Option<usize>,
    drop: &[usize],
    shrink: &[(usize, usize)],
) -> comfy_table::Table {
    let cols = rows.first().map_or(0, Vec::len);
    let kept = match width {
        Some(w) => fit(&mut rows, w, drop, shrink),
        None => (0..cols).collect(),
    };
    let mut rows = rows.into_iter();
    let header: Vec<String> = rows.next().map(|h| kept.iter().map(|&c| h[c].clone()).collect()).unwrap_or_default();
    let mut t = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for row in rows {
        t.add_row(kept.iter().map(|&c| row[c].clone()).collect::<Vec<_>>());
    }
    t
}

/// `1 credential`, `3 credentials`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_output_path_escapes_untrusted_text() {
        let evil = "a\u{1b}]0;x\u{7}\u{1b}[2J\rb";
        let mut p = Printer::capturing();
        p.out(evil);
        p.err(evil);
        p.json(&serde_json::json!({"t": format!("{evil}\u{7f}\u{9b}")}));
        let c = p.captured();
        assert!(!c.stdout.chars().any(|c| c.is_control() && c != '\n'), "{:?}", c.stdout);
        assert!(!c.stderr.chars().any(|c| c.is_control() && c != '\n'), "{:?}", c.stderr);
    }

    fn rows(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
    }

    #[test]
    fn fit_drops_then_shortens_and_never_exceeds_the_width() {
        let mut r = rows(&[&["#", "TYPE", "STATUS"], &["1", "api_key", "cooling: a long reason that goes on and on"]]);
        // Wide enough: nothing changes.
        assert_eq!(fit(&mut r.clone(), 200, &[1], &[(2, 10)]), [0, 1, 2]);
        // Narrower: TYPE goes first, then STATUS is cut with an ellipsis.
        let kept = fit(&mut r, 24, &[1], &[(2, 10)]);
        assert_eq!(kept, [0, 2]);
        assert_eq!(r[1][2], "cooling: a long reas…");
        let line_width = console::measure_text_width(&r[1][0]) + 2 + console::measure_text_width(&r[1][2]);
        assert!(line_width <= 24, "{line_width}");
        // A column is never cut below its narrowest width.
        let mut r = rows(&[&["A", "B"], &["xxxxxxxxxx", "yyyyyyyyyyyyyyyyyyyy"]]);
        fit(&mut r, 10, &[], &[(1, 8)]);
        assert_eq!(console::measure_text_width(&r[1][1]), 8);
    }
}
