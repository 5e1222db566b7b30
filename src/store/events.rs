//! The event log of a home: `$HERMES_HOME/hermes-events.jsonl`, one JSON object per line, append
//! only (docs/guide.md#history).
//!
//! Every writer (each CLI command, the gateway, a program on the library) appends under its own
//! lock (`locks/events.lock`), one `write` per batch of lines, so concurrent writers never
//! interleave a line. The file is created 0600. Past [`EventLog::cap`] bytes it is rotated: the
//! current file becomes `hermes-events.jsonl.1` (replacing the previous one) and a new file
//! starts, so the newest events are always kept and the log never holds more than twice the cap.
//! What goes in is built by the callers from ids, labels, codes, classes and deadlines: never a
//! secret.

use super::lock;
use serde_json::Value;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The log's file name inside the home.
pub const EVENTS_FILE: &str = "hermes-events.jsonl";
/// Rotation threshold by default (1 MiB: some 5,000 events).
pub const DEFAULT_CAP: u64 = 1024 * 1024;
/// How long an append waits for the log lock before giving up (the command goes on).
const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// The event log of one home.
#[derive(Debug, Clone)]
pub struct EventLog {
    home: PathBuf,
    cap: u64,
}

impl EventLog {
    pub fn new(home: impl Into<PathBuf>) -> EventLog {
        EventLog { home: home.into(), cap: DEFAULT_CAP }
    }

    /// Rotate past `cap` bytes instead of [`DEFAULT_CAP`].
    pub fn with_cap(mut self, cap: u64) -> EventLog {
        self.cap = cap.max(1);
        self
    }

    pub fn path(&self) -> PathBuf {
        self.home.join(EVENTS_FILE)
    }

    fn rotated(&self) -> PathBuf {
        self.home.join(format!("{EVENTS_FILE}.1"))
    }

    /// Append `events` (one line each) under the log lock. Nothing is created while the home
    /// itself does not exist.
    pub fn append(&self, events: &[Value]) -> io::Result<()> {
        if events.is_empty() || !self.home.is_dir() {
            return Ok(());
        }
        let mut text = String::new();
        for e in events {
            text.push_str(&e.to_string());
            text.push('\n');
        }
        let _guard = lock::lock(self.home.join("locks").join("events.lock"), LOCK_TIMEOUT)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let path = self.path();
        if std::fs::metadata(&path).is_ok_and(|m| m.len() >= self.cap) {
            std::fs::rename(&path, self.rotated())?;
        }
        let mut file = OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
        file.write_all(text.as_bytes())
    }

    /// Every event kept, oldest first (the rotated file, then the current one). Lines that do
    /// not parse (a file edited by hand) are skipped.
    pub fn read_all(&self) -> io::Result<Vec<Value>> {
        // Under the log lock, so that a rotation cannot fall between the two reads.
        let _guard = self
            .path()
            .exists()
            .then(|| lock::lock(self.home.join("locks").join("events.lock"), LOCK_TIMEOUT).ok())
            .flatten();
        let mut out = Vec::new();
        for p in [self.rotated(), self.path()] {
            match std::fs::read_to_string(&p) {
                Ok(text) => out.extend(parse_lines(&text)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The events in the last `bytes` of the current file (for `auth list`, which only needs the
    /// latest per entry), oldest first.
    pub fn read_tail(&self, bytes: u64) -> Vec<Value> {
        let Ok(mut f) = std::fs::File::open(self.path()) else { return Vec::new() };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let start = len.saturating_sub(bytes);
        if f.seek(SeekFrom::Start(start)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        let text = String::from_utf8_lossy(&buf);
        // A tail that starts inside a line drops that partial line.
        let text = if start > 0 { text.split_once('\n').map_or("", |(_, rest)| rest) } else { &text };
        parse_lines(text).collect()
    }
}

fn parse_lines(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(Value::is_object)
}

/// Whether the log file exists (for tests and `auth history`'s empty message).
pub fn exists(home: &Path) -> bool {
    home.join(EVENTS_FILE).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn appends_rotates_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path()).with_cap(200);
        for i in 0..40 {
            log.append(&[json!({"n": i, "event": "benched"})]).unwrap();
        }
        let all = log.read_all().unwrap();
        assert_eq!(all.last().unwrap()["n"], 39, "the newest is kept");
        let ns: Vec<i64> = all.iter().map(|e| e["n"].as_i64().unwrap()).collect();
        assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "in order, no gap: {ns:?}");
        assert!(ns.len() < 40, "older events were rotated away");
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(log.read_tail(60).last().unwrap()["n"], 39);
    }

    #[test]
    fn nothing_is_created_without_a_home() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("missing"));
        log.append(&[json!({"event": "added"})]).unwrap();
        assert!(!dir.path().join("missing").exists());
    }
}
