//! The terminal side of an OAuth login ([`LoginUi`]): messages on stderr, the pasted code from a
//! prompt or one stdin line (`--code-stdin`), a spinner while waiting (only when stderr is a
//! terminal), and a quiet attempt to open the browser.

use crate::cli::printer::Printer;
use crate::cli::prompt::Prompter;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::oauth::LoginUi;
use crate::vars;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal};
use std::process::{Command, Stdio};
use std::time::Duration;

/// [`LoginUi`] over the CLI's printer and prompter.
pub struct CliLoginUi<'a> {
    prompter: &'a mut dyn Prompter,
    out: &'a mut Printer,
    code_stdin: bool,
    /// `BROWSER`, when set: the program that opens URLs instead of `xdg-open` / `open`.
    browser: Option<String>,
    spinner: Option<ProgressBar>,
}

impl<'a> CliLoginUi<'a> {
    pub fn new(home: &Home, prompter: &'a mut dyn Prompter, out: &'a mut Printer, code_stdin: bool) -> Self {
        let browser = home.ctx().var(vars::BROWSER).map(str::to_string);
        CliLoginUi { prompter, out, code_stdin, browser, spinner: None }
    }
}

impl LoginUi for CliLoginUi<'_> {
    fn say(&mut self, text: &str) {
        match &self.spinner {
            Some(sp) => sp.suspend(|| self.out.err(text)),
            None => self.out.err(text),
        }
    }

    fn debug(&mut self, text: &str) {
        match &self.spinner {
            Some(sp) => sp.suspend(|| self.out.debug(text)),
            None => self.out.debug(text),
        }
    }

    fn open_browser(&mut self, url: &str) {
        let default = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        let spec = self.browser.clone().unwrap_or_else(|| default.to_string());
        let mut words = spec.split_whitespace();
        let Some(program) = words.next() else { return };
        // Quietly: the URL is already on stderr, and a missing opener is not an error.
        let spawned = Command::new(program)
            .args(words)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if spawned.is_err() {
            self.out.debug(&format!("could not start {program} to open the browser"));
        }
    }

    fn can_read_code(&self) -> bool {
        self.code_stdin || self.prompter.interactive()
    }

    fn read_code(&mut self) -> Result<String> {
        if self.code_stdin {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Error::Failed(format!("could not read the code from stdin: {e}")))?;
            return Ok(line.trim().to_string());
        }
        if !self.prompter.interactive() {
            return Err(Error::Usage("no terminal to paste the authorization code on; use --code-stdin".into()));
        }
        self.prompter.input("Authorization code", None)
    }

    fn wait_start(&mut self, message: &str) {
        if !std::io::stderr().is_terminal() {
            self.out.err(&format!("{message}…"));
            return;
        }
        let sp = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            sp.set_style(style);
        }
        sp.set_message(message.to_string());
        sp.enable_steady_tick(Duration::from_millis(120));
        self.spinner = Some(sp);
    }

    fn wait_end(&mut self) {
        if let Some(sp) = self.spinner.take() {
            sp.finish_and_clear();
        }
    }
}

impl Drop for CliLoginUi<'_> {
    fn drop(&mut self) {
        self.wait_end();
    }
}
