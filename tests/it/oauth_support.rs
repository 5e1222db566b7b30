//! Helpers of the OAuth integration tests: entries and tokens to seed a store with, and
//! children of the real binary that a test talks to while they run (pasted codes, callbacks,
//! concurrent refreshes). Mock token endpoints are wiremock servers on 127.0.0.1.
#![allow(dead_code)]

use crate::common::{Out, Sealed};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The hermes binary as a `std::process::Command` in the sealed environment (for children a
/// test talks to while they run).
pub fn command(s: &Sealed, args: &[&str]) -> Command {
    let mut c = s.process();
    c.args(args);
    c
}

/// Start `hermes <args>` with piped stdio.
pub fn spawn(s: &Sealed, args: &[&str]) -> Child {
    command(s, args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn hermes")
}

/// A running child whose stderr is read line by line on a thread.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub fn start(s: &Sealed, args: &[&str]) -> Running {
        let mut child = spawn(s, args);
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines: rx, seen: Vec::new() }
    }

    /// Wait (at most 20 s) for a stderr line containing `needle`, and return it.
    pub fn wait_line(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("no stderr line containing {needle:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Write to the child's stdin and close it.
    pub fn send_stdin(&mut self, text: &str) {
        use std::io::Write;
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).unwrap();
    }

    /// Wait for the exit; the rest of stderr follows what was already seen.
    pub fn finish(mut self) -> Out {
        drop(self.child.stdin.take());
        let mut stdout = String::new();
        if let Some(mut so) = self.child.stdout.take() {
            so.read_to_string(&mut stdout).unwrap();
        }
        let status = self.child.wait().unwrap();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        Out { code: status.code().unwrap_or(-1), stdout, stderr: self.seen.join("\n") }
    }
}

/// The value of query parameter `name` in `url`.
pub fn query(url: &str, name: &str) -> String {
    let u = url::Url::parse(url.trim()).expect("a URL");
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// The first whitespace-separated word of `line` that starts with `prefix`.
pub fn word_starting(line: &str, prefix: &str) -> String {
    line.split_whitespace().find(|w| w.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in {line}")).into()
}

/// The requests a mock server received on `path` (method POST).
pub async fn posts(server: &wiremock::MockServer, path: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == path)
        .collect()
}

/// A form body as key/value pairs.
pub fn form(r: &wiremock::Request) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}
