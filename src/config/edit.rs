//! Lossless edits of config.yaml (docs/design.md#config).
//!
//! config.yaml belongs to the user and to hermes-agent, so hermes changes it as text: only the
//! lines of the keys it sets change, and comments, order, quoting and blank lines stay as they
//! were. The text edit handles the common layouts (block and one-line flow mappings, a missing
//! section); anything else is caught by the check that follows every edit: old and new files are
//! parsed and must be equal except for exactly the values set. If they are not, the edit is
//! refused with [`ConfigError::UnsafeEdit`] and the file is not touched.
//!
//! The write is atomic (temp file in the same directory, fsync, rename) and keeps the file's
//! mode; a new file, or one holding an `api_key`, is written 0600 (docs/design.md#the-home-belongs-to-its-user).

use super::{kind, parse_yaml, read_text, ConfigError};
use serde_yaml_ng::{Mapping, Value};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

const STRATEGIES: &str = "credential_pool_strategies";
const MODEL: &str = "model";
const FALLBACKS: &str = "fallback_providers";

/// Set `credential_pool_strategies.<pool_key>: <strategy>`. Returns Ok(true) if the file changed.
///
/// `pool_key` is matched exactly (quoted or not); to overwrite a key spelled differently in the
/// file, pass the raw key from [`super::Config::strategies`].
pub fn set_strategy(path: &Path, pool_key: &str, strategy: &str) -> Result<bool, ConfigError> {
    apply(path, &[Change::Scalar { section: STRATEGIES, key: pool_key, value: strategy }])
}

/// Set `model.provider` and/or `model.default` (None = leave alone).
///
/// A `model: <name>` string (hermes-agent's short form) stays a string when only `default` is
/// set, and becomes a mapping with `default: <name>` when `provider` is set.
pub fn set_model(path: &Path, provider: Option<&str>, default: Option<&str>) -> Result<bool, ConfigError> {
    let mut changes = Vec::new();
    if let Some(p) = provider {
        changes.push(Change::Scalar { section: MODEL, key: "provider", value: p });
    }
    if let Some(d) = default {
        changes.push(Change::Scalar { section: MODEL, key: "default", value: d });
    }
    if changes.is_empty() {
        return Ok(false);
    }
    apply(path, &changes)
}

/// Replace `fallback_providers` with these (provider, model) pairs (block list of mappings).
pub fn set_fallbacks(path: &Path, entries: &[(String, String)]) -> Result<bool, ConfigError> {
    apply(path, &[Change::List { section: FALLBACKS, entries }])
}

/// One intended change, applied both to the parsed tree (the expectation) and to the text.
enum Change<'a> {
    /// `<section>.<key>: <value>` with `section` a top-level mapping.
    Scalar { section: &'static str, key: &'a str, value: &'a str },
    /// `<section>:` replaced by a list of `{provider, model}` mappings.
    List { section: &'static str, entries: &'a [(String, String)] },
}

fn apply(path: &Path, changes: &[Change]) -> Result<bool, ConfigError> {
    let original = read_text(path)?;
    let old = match &original {
        Some(text) => parse_yaml(path, text)?,
        None => Value::Mapping(Mapping::new()),
    };
    check_types(path, &old, changes)?;
    let mut expected = old.clone();
    for change in changes {
        set_value(&mut expected, change);
    }
    if expected == old {
        return Ok(false);
    }

    let mut doc = Doc::parse(original.as_deref().unwrap_or(""));
    for change in changes {
        let done = match change {
            Change::Scalar { section, key, value } => doc.set_scalar(section, key, value),
            Change::List { section, entries } => doc.set_list(section, entries),
        };
        done.ok_or(ConfigError::UnsafeEdit)?;
    }
    let new_text = doc.render();
    // The text edit is only trusted if the result means exactly what was intended.
    match parse_yaml(path, &new_text) {
        Ok(new) if new == expected => {}
        _ => return Err(ConfigError::UnsafeEdit),
    }
    write_atomic(path, &new_text, holds_api_key(&expected))?;
    Ok(true)
}

/// Refuse to edit under a section whose type hermes cannot extend (a list where a mapping
/// belongs): that is the user's file being wrong, not an unsafe edit.
fn check_types(path: &Path, root: &Value, changes: &[Change]) -> Result<(), ConfigError> {
    for change in changes {
        let Change::Scalar { section, .. } = change else { continue };
        match root.get(section) {
            None | Some(Value::Null) | Some(Value::Mapping(_)) => {}
            Some(Value::String(_)) if *section == MODEL => {}
            Some(other) => {
                let want = if *section == MODEL { "a mapping or a string" } else { "a mapping" };
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    problem: format!("{section}: expected {want}, found {}", kind(other)),
                });
            }
        }
    }
    Ok(())
}

/// Apply a change to a parsed tree (already type-checked).
fn set_value(root: &mut Value, change: &Change) {
    let Value::Mapping(root) = root else { return };
    match change {
        Change::Scalar { section, key, value } => {
            let slot = match root.get_mut(*section) {
                Some(slot) => slot,
                None => {
                    root.insert(Value::from(*section), Value::Null);
                    match root.get_mut(*section) {
                        Some(slot) => slot,
                        None => return,
                    }
                }
            };
            if let Value::String(name) = slot {
                if *key == "default" {
                    *slot = Value::from(*value);
                    return;
                }
                let mut m = Mapping::new();
                m.insert(Value::from("default"), Value::from(name.clone()));
                *slot = Value::Mapping(m);
            }
            if !slot.is_mapping() {
                *slot = Value::Mapping(Mapping::new());
            }
            if let Value::Mapping(m) = slot {
                m.insert(Value::from(*key), Value::from(*value));
            }
        }
        Change::List { section, entries } => {
            let list = entries
                .iter()
                .map(|(provider, model)| {
                    let mut m = Mapping::new();
                    m.insert(Value::from("provider"), Value::from(provider.as_str()));
                    m.insert(Value::from("model"), Value::from(model.as_str()));
                    Value::Mapping(m)
                })
                .collect();
            root.insert(Value::from(*section), Value::Sequence(list));
        }
    }
}

fn holds_api_key(v: &Value) -> bool {
    match v {
        Value::Mapping(m) => m.iter().any(|(k, v)| k.as_str() == Some("api_key") || holds_api_key(v)),
        Value::Sequence(s) => s.iter().any(holds_api_key),
        Value::Tagged(t) => holds_api_key(&t.value),
        _ => false,
    }
}

/// One line of the file: its text without the line break, and the break (`\n`, `\r\n` or none).
struct Line {
    text: String,
    end: String,
}

/// The file as lines, so that untouched lines are written back byte for byte.
struct Doc {
    bom: bool,
    lines: Vec<Line>,
    /// The break used for new lines: the file's own.
    eol: &'static str,
}

impl Doc {
    fn parse(text: &str) -> Doc {
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let lines: Vec<Line> = text
            .split_inclusive('\n')
            .map(|l| {
                let body = l.strip_suffix('\n').map(|b| b.strip_suffix('\r').unwrap_or(b));
                match body {
                    Some(b) => Line { text: b.to_string(), end: l[b.len()..].to_string() },
                    None => Line { text: l.to_string(), end: String::new() },
                }
            })
            .collect();
        let eol = match lines.first() {
            Some(l) if l.end == "\r\n" => "\r\n",
            _ => "\n",
        };
        Doc { bom, lines, eol }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for l in &self.lines {
            out.push_str(&l.text);
            out.push_str(&l.end);
        }
        out
    }

    fn new_line(&self, text: String) -> Line {
        Line { text, end: self.eol.to_string() }
    }

    /// Replace lines `from..to` by `texts`, giving the line before a break if it lacked one.
    fn splice(&mut self, from: usize, to: usize, texts: Vec<String>) {
        if from > 0 && !texts.is_empty() {
            if let Some(prev) = self.lines.get_mut(from - 1) {
                if prev.end.is_empty() {
                    prev.end = self.eol.to_string();
                }
            }
        }
        let new: Vec<Line> = texts.into_iter().map(|t| self.new_line(t)).collect();
        self.lines.splice(from..to, new);
    }

    fn append(&mut self, texts: Vec<String>) {
        let n = self.lines.len();
        self.splice(n, n, texts);
    }

    /// The line of the top-level key `section` (a key at column 0, quoted or not).
    fn find_section(&self, section: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            !l.text.starts_with([' ', '\t', '#']) && parse_key_line(&l.text).is_some_and(|k| k.key == section)
        })
    }

    /// The non-blank, non-comment lines that belong to the section starting at line `s`: indented
    /// lines (and, for a list, `-` lines at column 0) up to the next top-level line.
    fn block_content(&self, s: usize, allow_dash: bool) -> Vec<usize> {
        let mut content = Vec::new();
        for (i, l) in self.lines.iter().enumerate().skip(s + 1) {
            let trimmed = l.text.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let at_column_0 = trimmed.len() == l.text.len();
            if at_column_0 && !(allow_dash && is_dash_item(&l.text)) {
                break;
            }
            content.push(i);
        }
        content
    }

    /// Set `<section>.<key>` (docs/design.md#config); `None` when the layout is not one the text edit handles.
    fn set_scalar(&mut self, section: &str, key: &str, value: &str) -> Option<()> {
        let key_text = format_key(key);
        let value_text = format_scalar(value);
        let Some(s) = self.find_section(section) else {
            self.append(vec![format!("{}:", format_key(section)), format!("  {key_text}: {value_text}")]);
            return Some(());
        };

        let line = &self.lines[s].text;
        let head = parse_key_line(line)?;
        let rest = &line[head.after_colon..];
        let vend = value_end(rest)?;
        let current = rest[..vend].trim().to_string();
        let current = current.as_str();
        let prefix = line[..head.after_colon].to_string();
        let tail = rest[vend..].to_string();

        // A value on the section line itself: rewrite that one line as a block.
        let pairs: Vec<(String, Option<String>)> = if current.is_empty() {
            return self.set_in_block(s, key, &key_text, &value_text);
        } else if current.starts_with('{') {
            flow_pairs(current)?
        } else if matches!(current, "null" | "Null" | "NULL" | "~") {
            Vec::new()
        } else if section == MODEL && !current.starts_with(['[', '&', '*', '!', '|', '>']) {
            // hermes-agent's `model: <name>` short form.
            if key == "default" {
                let new = format!("{prefix} {value_text}{tail}");
                self.lines[s].text = new;
                return Some(());
            }
            vec![("default".to_string(), Some(current.to_string()))]
        } else {
            return None;
        };

        let mut texts = vec![format!("{prefix}{tail}")];
        let mut found = false;
        for (k, v) in pairs {
            if decode_key(&k) == key {
                found = true;
                texts.push(format!("  {k}: {value_text}"));
            } else {
                texts.push(match v {
                    Some(v) => format!("  {k}: {v}"),
                    None => format!("  {k}:"),
                });
            }
        }
        if !found {
            texts.push(format!("  {key_text}: {value_text}"));
        }
        self.splice(s, s + 1, texts);
        Some(())
    }

    /// The section at line `s` is a block mapping (possibly empty): replace the key's value on
    /// its line, or add the key after the block's last line at the block's indent.
    fn set_in_block(&mut self, s: usize, key: &str, key_text: &str, value_text: &str) -> Option<()> {
        let content = self.block_content(s, false);
        let Some(&first) = content.first() else {
            self.splice(s + 1, s + 1, vec![format!("  {key_text}: {value_text}")]);
            return Some(());
        };
        let indent = leading_spaces(&self.lines[first].text);
        if indent == 0 {
            // Tab indentation or similar: not a layout this edit understands.
            return None;
        }
        for (n, &i) in content.iter().enumerate() {
            let text = &self.lines[i].text;
            if leading_spaces(text) != indent {
                continue;
            }
            let Some(head) = parse_key_line(&text[indent..]) else { continue };
            if head.key != key {
                continue;
            }
            let after_colon = indent + head.after_colon;
            let rest = &text[after_colon..];
            let vend = value_end(rest)?;
            let new = format!("{} {value_text}{}", &text[..after_colon], &rest[vend..]);
            // Lines indented deeper that follow belong to the old value (a nested block or a
            // multi-line scalar): they go with it. Comments after the last of them stay.
            let continuation_end =
                content[n + 1..].iter().take_while(|&&j| leading_spaces(&self.lines[j].text) > indent).last().copied();
            self.lines[i].text = new;
            if let Some(last) = continuation_end {
                self.lines.drain(i + 1..=last);
            }
            return Some(());
        }
        let last = *content.last()?;
        self.splice(last + 1, last + 1, vec![format!("{}{key_text}: {value_text}", " ".repeat(indent))]);
        Some(())
    }

    /// Replace the whole top-level `section` (its line and its continuation lines) with a block
    /// list of `{provider, model}` mappings, or append one.
    fn set_list(&mut self, section: &str, entries: &[(String, String)]) -> Option<()> {
        let Some(s) = self.find_section(section) else {
            let texts = list_lines(&format!("{}:", format_key(section)), "", 2, entries);
            self.append(texts);
            return Some(());
        };
        let content = self.block_content(s, true);
        let end = content.last().copied().unwrap_or(s);
        // Keep the user's list indentation (PyYAML writes `- ` at column 0, editors often indent).
        let item_indent = content
            .iter()
            .map(|&i| &self.lines[i].text)
            .find(|t| is_dash_item(t.trim_start()))
            .map(|t| leading_spaces(t))
            .unwrap_or(2);
        let line = &self.lines[s].text;
        let head = parse_key_line(line)?;
        let rest = &line[head.after_colon..];
        let tail = value_end(rest).map(|vend| rest[vend..].to_string()).unwrap_or_default();
        let texts = list_lines(&line[..head.after_colon], &tail, item_indent, entries);
        self.splice(s, end + 1, texts);
        Some(())
    }
}

fn list_lines(head: &str, tail: &str, indent: usize, entries: &[(String, String)]) -> Vec<String> {
    if entries.is_empty() {
        return vec![format!("{head} []{tail}")];
    }
    let pad = " ".repeat(indent);
    let mut texts = vec![format!("{head}{tail}")];
    for (provider, model) in entries {
        texts.push(format!("{pad}- provider: {}", format_scalar(provider)));
        texts.push(format!("{pad}  model: {}", format_scalar(model)));
    }
    texts
}

fn leading_spaces(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

fn is_dash_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ") || text.starts_with("-\t")
}

/// A `key:` at the start of a line.
struct KeyLine {
    /// The decoded key.
    key: String,
    /// Byte offset just after the `:`.
    after_colon: usize,
}

/// Parse `key: …`, `"key": …` or `'key': …` at the start of `t` (which starts at the line's
/// indent). `None` for anything else: comments, list items, explicit `?` keys, directives.
fn parse_key_line(t: &str) -> Option<KeyLine> {
    let b = t.as_bytes();
    let first = *b.first()?;
    let (key, mut j) = match first {
        b'"' => {
            let close = close_double(b, 0)?;
            (unescape_double(&t[1..close]), close + 1)
        }
        b'\'' => {
            let close = close_single(b, 0)?;
            (t[1..close].replace("''", "'"), close + 1)
        }
        b'-' | b'?' | b':' if b.get(1).is_none_or(|c| c.is_ascii_whitespace()) => return None,
        b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'{' | b'[' | b'}' | b']' | b',' => return None,
        _ => {
            let mut colon = None;
            for (i, &c) in b.iter().enumerate() {
                if c == b'#' && i > 0 && b[i - 1].is_ascii_whitespace() {
                    return None;
                }
                if c == b':' && b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) {
                    colon = Some(i);
                    break;
                }
            }
            let colon = colon?;
            return Some(KeyLine { key: t[..colon].trim_end().to_string(), after_colon: colon + 1 });
        }
    };
    while b.get(j).is_some_and(|c| *c == b' ' || *c == b'\t') {
        j += 1;
    }
    if b.get(j) != Some(&b':') || !b.get(j + 1).is_none_or(|n| n.is_ascii_whitespace()) {
        return None;
    }
    Some(KeyLine { key, after_colon: j + 1 })
}

/// The closing `"` of a double-quoted scalar opening at `open`.
fn close_double(b: &[u8], open: usize) -> Option<usize> {
    let mut j = open + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j),
            _ => j += 1,
        }
    }
    None
}

/// The closing `'` of a single-quoted scalar opening at `open` (`''` is an escaped quote).
fn close_single(b: &[u8], open: usize) -> Option<usize> {
    let mut j = open + 1;
    while j < b.len() {
        if b[j] == b'\'' {
            if b.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return Some(j);
        }
        j += 1;
    }
    None
}

/// The common YAML double-quote escapes; anything unusual is kept as written (a key hermes
/// fails to recognise is then added again, which the parse check rejects as a duplicate).
fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let hex_len = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if hex_len > 0 {
            let hex: String = chars.clone().take(hex_len).collect();
            if let Some(ch) =
                u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == hex_len).and_then(char::from_u32)
            {
                out.push(ch);
                for _ in 0..hex_len {
                    chars.next();
                }
            } else {
                out.push('\\');
                out.push(e);
            }
            continue;
        }
        let plain = match e {
            'n' => '\n',
            't' | '\t' => '\t',
            'r' => '\r',
            '0' => '\0',
            ' ' => ' ',
            '/' => '/',
            '"' => '"',
            '\\' => '\\',
            other => {
                out.push('\\');
                other
            }
        };
        out.push(plain);
    }
    out
}

fn decode_key(text: &str) -> String {
    let b = text.as_bytes();
    match b.first() {
        Some(b'"') if close_double(b, 0) == Some(b.len() - 1) => unescape_double(&text[1..text.len() - 1]),
        Some(b'\'') if close_single(b, 0) == Some(b.len() - 1) => text[1..text.len() - 1].replace("''", "'"),
        _ => text.to_string(),
    }
}

/// Where the value in `s` (the text after `key:`) ends, before trailing blanks and a comment.
/// `None` when a quote or a bracket is still open at the end of the line (a multi-line value).
fn value_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    // Quotes only open a scalar at the start of a token; `don't` is a plain scalar.
    let mut token_start = true;
    let mut comment_at = b.len();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => {}
            b'#' if i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t' => {
                comment_at = i;
                break;
            }
            b'"' if token_start => {
                i = close_double(b, i)?;
                token_start = false;
            }
            b'\'' if token_start => {
                i = close_single(b, i)?;
                token_start = false;
            }
            b'{' | b'[' if token_start || depth > 0 => {
                depth += 1;
                token_start = true;
            }
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                token_start = false;
            }
            b',' if depth > 0 => token_start = true,
            b':' if b
                .get(i + 1)
                .is_none_or(|n| n.is_ascii_whitespace() || (depth > 0 && matches!(n, b',' | b'}' | b']'))) =>
            {
                token_start = true
            }
            b'&' | b'!' if token_start => {
                // An anchor or tag: the scalar that follows may still be quoted.
                while i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                    i += 1;
                }
            }
            _ => token_start = false,
        }
        i += 1;
    }
    if depth > 0 {
        return None;
    }
    Some(s[..comment_at].trim_end().len())
}

/// The pairs of a one-line flow mapping `{a: b, "c": d}` as (key text, value text), both as
/// written. `None` if it is not exactly one flow mapping.
fn flow_pairs(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let b = inner.as_bytes();
    let mut items = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut token_start = true;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => {}
            b'"' if token_start => {
                i = close_double(b, i)?;
                token_start = false;
            }
            b'\'' if token_start => {
                i = close_single(b, i)?;
                token_start = false;
            }
            b'{' | b'[' => {
                depth += 1;
                token_start = true;
            }
            b'}' | b']' => {
                // A closing bracket at depth 0 means the outer `{` closed early: `{a} {b}`.
                depth = depth.checked_sub(1)?;
                token_start = false;
            }
            b',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
                token_start = true;
            }
            b',' => token_start = true,
            b':' => token_start = true,
            b'&' | b'!' if token_start => {}
            _ => token_start = false,
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    items.push(&inner[start..]);

    let mut pairs = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let ib = item.as_bytes();
        let key_end = match ib[0] {
            b'"' => close_double(ib, 0)? + 1,
            b'\'' => close_single(ib, 0)? + 1,
            _ => (0..ib.len())
                .find(|&j| ib[j] == b':' && ib.get(j + 1).is_none_or(|n| n.is_ascii_whitespace()))
                .unwrap_or(ib.len()),
        };
        let key = item[..key_end].trim_end().to_string();
        let rest = item[key_end..].trim_start();
        let value = match rest.strip_prefix(':') {
            Some(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
            Some(_) => None,
            None if rest.is_empty() => None,
            None => return None,
        };
        pairs.push((key, value));
    }
    Some(pairs)
}

/// A key as hermes writes it: plain when made only of `[a-z0-9._-]` (and not a word YAML would
/// read as something else), otherwise double-quoted (`"custom:my-llm"`).
fn format_key(key: &str) -> String {
    let simple = key.bytes().all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
    if simple && !needs_quotes(key) {
        key.to_string()
    } else {
        double_quote(key)
    }
}

/// A scalar value as hermes writes it: plain when both serde_yaml and PyYAML (YAML 1.1) would
/// read it back as this exact string, otherwise double-quoted.
fn format_scalar(value: &str) -> String {
    if needs_quotes(value) {
        double_quote(value)
    } else {
        value.to_string()
    }
}

fn needs_quotes(v: &str) -> bool {
    let Some(first) = v.chars().next() else { return true };
    if !(first.is_alphabetic() || first == '_' || first == '/') || v.trim() != v {
        // Digits, signs and dots may read as numbers or dates; other ASCII starts are indicators.
        return true;
    }
    if v.chars().any(|c| matches!(c, ':' | '#' | '{' | '}' | '[' | ']' | ',' | '"' | '\\') || needs_escape(c)) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null")
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
}

fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Write `text` to `path` atomically: a temp file in the same directory, fsync, rename.
fn write_atomic(path: &Path, text: &str, holds_api_key: bool) -> Result<(), ConfigError> {
    let io_err = |source| ConfigError::Io { path: path.to_path_buf(), source };
    // A symlinked config (dotfile managers) is edited where it points, not replaced by a file.
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let existing_mode = fs::metadata(&target).ok().map(|m| m.permissions().mode() & 0o7777);
    let mode = match existing_mode {
        Some(_) if holds_api_key => 0o600,
        Some(m) => m,
        None => 0o600,
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        // The home is created 0700 when hermes first has something to write (docs/design.md#files).
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io_err)?;
    }
    crate::files::write_atomic(&target, text.as_bytes(), mode).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use proptest::prelude::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn file(text: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        fs::write(&path, text).unwrap();
        Fixture { _dir: dir, path }
    }

    fn read(f: &Fixture) -> String {
        fs::read_to_string(&f.path).unwrap()
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn strategy(f: &Fixture, key: &str, value: &str) -> String {
        assert!(set_strategy(&f.path, key, value).unwrap());
        read(f)
    }

    fn assert_unsafe(text: &str, edit: impl FnOnce(&Path) -> Result<bool, ConfigError>) {
        let f = file(text);
        let r = edit(&f.path);
        assert!(matches!(r, Err(ConfigError::UnsafeEdit)), "{text:?}: {r:?}");
        assert_eq!(read(&f), text, "file must be untouched");
        let leftovers: Vec<_> = fs::read_dir(f.path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left");
    }

    #[test]
    fn block_replace_keeps_trailing_comment() {
        let f = file("credential_pool_strategies:\n  openrouter: fill_first   # my choice\n  nous: random\n");
        assert_eq!(
            strategy(&f, "openrouter", "round_robin"),
            "credential_pool_strategies:\n  openrouter: round_robin   # my choice\n  nous: random\n"
        );
    }

    #[test]
    fn block_replace_of_quoted_and_empty_values() {
        let f = file("credential_pool_strategies:\n  openrouter: \"fill # first\"  # c\n  nous:\n");
        assert_eq!(
            strategy(&f, "openrouter", "random"),
            "credential_pool_strategies:\n  openrouter: random  # c\n  nous:\n"
        );
        assert_eq!(
            strategy(&f, "nous", "least_used"),
            "credential_pool_strategies:\n  openrouter: random  # c\n  nous: least_used\n"
        );
    }

    #[test]
    fn append_to_block_uses_its_indent() {
        let f = file(
            "credential_pool_strategies:\n    openrouter: fill_first\n    # nous: random\n\nmodel:\n  default: x\n",
        );
        assert_eq!(
            strategy(&f, "anthropic", "round_robin"),
            "credential_pool_strategies:\n    openrouter: fill_first\n    anthropic: round_robin\n    # nous: random\n\nmodel:\n  default: x\n"
        );
    }

    #[test]
    fn empty_block_gets_two_spaces() {
        let f = file("credential_pool_strategies:   # pools\n# next\nmodel: x\n");
        assert_eq!(
            strategy(&f, "openrouter", "random"),
            "credential_pool_strategies:   # pools\n  openrouter: random\n# next\nmodel: x\n"
        );
        let f = file("credential_pool_strategies:");
        assert_eq!(strategy(&f, "openrouter", "random"), "credential_pool_strategies:\n  openrouter: random\n");
    }

    #[test]
    fn flow_mappings_are_rewritten_as_blocks() {
        let f = file("a: 1\ncredential_pool_strategies: {}  # set by setup\nb: 2\n");
        assert_eq!(
            strategy(&f, "openrouter", "random"),
            "a: 1\ncredential_pool_strategies:  # set by setup\n  openrouter: random\nb: 2\n"
        );
        let f = file("credential_pool_strategies: {nous: random, 'custom:x': fill_first} # c\n");
        assert_eq!(
            strategy(&f, "openrouter", "least_used"),
            "credential_pool_strategies: # c\n  nous: random\n  'custom:x': fill_first\n  openrouter: least_used\n"
        );
        let f = file("credential_pool_strategies: {nous: random, openrouter: fill_first}\n");
        assert_eq!(
            strategy(&f, "openrouter", "least_used"),
            "credential_pool_strategies:\n  nous: random\n  openrouter: least_used\n"
        );
        let f = file("credential_pool_strategies: null\n");
        assert_eq!(strategy(&f, "nous", "random"), "credential_pool_strategies:\n  nous: random\n");
    }

    #[test]
    fn absent_section_is_appended() {
        let f = file("model:\n  default: x\n");
        assert_eq!(
            strategy(&f, "nous", "random"),
            "model:\n  default: x\ncredential_pool_strategies:\n  nous: random\n"
        );
        let f = file("model:\n  default: x  # no newline");
        assert_eq!(
            strategy(&f, "nous", "random"),
            "model:\n  default: x  # no newline\ncredential_pool_strategies:\n  nous: random\n"
        );
        let f = file("");
        assert_eq!(strategy(&f, "nous", "random"), "credential_pool_strategies:\n  nous: random\n");
    }

    #[test]
    fn custom_keys_are_quoted_and_found_quoted_or_not() {
        let f = file("credential_pool_strategies:\n  nous: random\n");
        assert_eq!(
            strategy(&f, "custom:my-llm", "round_robin"),
            "credential_pool_strategies:\n  nous: random\n  \"custom:my-llm\": round_robin\n"
        );
        assert_eq!(
            strategy(&f, "custom:my-llm", "fill_first"),
            "credential_pool_strategies:\n  nous: random\n  \"custom:my-llm\": fill_first\n"
        );
        let f = file("credential_pool_strategies:\n  custom:my-llm: random\n  'custom:other': random\n");
        assert_eq!(
            strategy(&f, "custom:my-llm", "least_used"),
            "credential_pool_strategies:\n  custom:my-llm: least_used\n  'custom:other': random\n"
        );
        assert_eq!(
            strategy(&f, "custom:other", "fill_first"),
            "credential_pool_strategies:\n  custom:my-llm: least_used\n  'custom:other': fill_first\n"
        );
        let c = Config::load(f.path.parent().unwrap()).unwrap();
        assert_eq!(c.strategies[0], ("custom:my-llm".to_string(), "least_used".to_string()));
    }

    #[test]
    fn values_that_need_quotes_are_quoted() {
        assert_eq!(format_scalar("anthropic/claude-sonnet-4"), "anthropic/claude-sonnet-4");
        assert_eq!(format_scalar("custom:mock2"), "\"custom:mock2\"");
        assert_eq!(format_scalar("a # b"), "\"a # b\"");
        assert_eq!(format_scalar("yes"), "\"yes\"");
        assert_eq!(format_scalar("4o"), "\"4o\"");
        assert_eq!(format_scalar("*x"), "\"*x\"");
        assert_eq!(format_scalar(""), "\"\"");
        assert_eq!(format_scalar("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(format_key("openrouter"), "openrouter");
        assert_eq!(format_key("Custom"), "\"Custom\"");
        for v in ["a: b", "#x", "yes", "NULL", "1.5", "-x", "&a", "a\u{2028}b", "tab\there", "é", "\\"] {
            let f = file("");
            set_model(&f.path, None, Some(v)).unwrap();
            let c = Config::load(f.path.parent().unwrap()).unwrap();
            assert_eq!(c.model.default.as_deref(), Some(v));
        }
    }

    #[test]
    fn set_model_when_missing_present_or_string() {
        let f = file("# top\nagent: {}\n");
        assert!(set_model(&f.path, Some("openrouter"), Some("anthropic/claude")).unwrap());
        assert_eq!(read(&f), "# top\nagent: {}\nmodel:\n  provider: openrouter\n  default: anthropic/claude\n");

        let f = file("model:\n  default: old  # the model\n  provider: nous\n  base_url: http://x\n");
        assert!(set_model(&f.path, Some("anthropic"), None).unwrap());
        assert_eq!(read(&f), "model:\n  default: old  # the model\n  provider: anthropic\n  base_url: http://x\n");
        assert!(set_model(&f.path, None, Some("new")).unwrap());
        assert_eq!(read(&f), "model:\n  default: new  # the model\n  provider: anthropic\n  base_url: http://x\n");
        assert!(!set_model(&f.path, Some("anthropic"), Some("new")).unwrap());
        assert!(!set_model(&f.path, None, None).unwrap());

        // hermes-agent's short form stays a string when only the model changes...
        let f = file("model: \"old/model\"  # short form\n");
        assert!(set_model(&f.path, None, Some("new/model")).unwrap());
        assert_eq!(read(&f), "model: new/model  # short form\n");
        // ...and becomes a mapping, keeping the name, when a provider is set.
        assert!(set_model(&f.path, Some("openrouter"), None).unwrap());
        assert_eq!(read(&f), "model:  # short form\n  default: new/model\n  provider: openrouter\n");
    }

    #[test]
    fn replacing_a_nested_value_drops_its_continuation_lines() {
        let f = file("model:\n  default: >\n    folded\n    text\n  # kept comment\n  provider: x\n");
        assert!(set_model(&f.path, None, Some("m")).unwrap());
        assert_eq!(read(&f), "model:\n  default: m\n  # kept comment\n  provider: x\n");
    }

    #[test]
    fn set_fallbacks_replaces_or_appends() {
        let entries =
            vec![("anthropic".to_string(), "claude-3".to_string()), ("custom:mock2".to_string(), "m".to_string())];
        let f = file("a: 1\nfallback_providers:  # chain\n- provider: old\n  model: x\n# between\n- provider: old2\n  model: y\n\n# about b\nb: 2\n");
        assert!(set_fallbacks(&f.path, &entries).unwrap());
        assert_eq!(
            read(&f),
            "a: 1\nfallback_providers:  # chain\n- provider: anthropic\n  model: claude-3\n- provider: \"custom:mock2\"\n  model: m\n\n# about b\nb: 2\n"
        );
        assert!(!set_fallbacks(&f.path, &entries).unwrap());

        let f = file("fallback_providers: [{provider: a, model: b}]\nb: 2\n");
        assert!(set_fallbacks(&f.path, &entries[..1]).unwrap());
        assert_eq!(read(&f), "fallback_providers:\n  - provider: anthropic\n    model: claude-3\nb: 2\n");
        assert!(set_fallbacks(&f.path, &[]).unwrap());
        assert_eq!(read(&f), "fallback_providers: []\nb: 2\n");

        let f = file("b: 2");
        assert!(set_fallbacks(&f.path, &entries[..1]).unwrap());
        assert_eq!(read(&f), "b: 2\nfallback_providers:\n  - provider: anthropic\n    model: claude-3\n");
        let c = Config::load(f.path.parent().unwrap()).unwrap();
        assert_eq!(c.fallback_providers.unwrap()[0].model.as_deref(), Some("claude-3"));
    }

    #[test]
    fn every_other_line_is_byte_identical() {
        let mut text = String::from("# hermes config\n# edited by hand\n\n");
        for i in 0..20 {
            text.push_str(&format!("# about key{i}\nkey{i}:   'value {i}'    # trailing {i}\n"));
            if i % 5 == 0 {
                text.push_str(&format!("nested{i}:\n    deep: [1, 2]   # list\n\n"));
            }
            if i == 7 {
                text.push_str("credential_pool_strategies:\n  nous: random  # keep\n");
            }
            if i == 12 {
                text.push_str("model:\n  default: gpt   # mine\n");
            }
            if i == 15 {
                text.push_str("fallback_providers:\n  - provider: a\n    model: b\n");
            }
        }
        let f = file(&text);
        let check = |before: &str, after: &str, changed: &[&str]| {
            let old: Vec<&str> = before.lines().filter(|l| !changed.iter().any(|c| l.contains(c))).collect();
            let new: Vec<&str> = after.lines().filter(|l| !changed.iter().any(|c| l.contains(c))).collect();
            assert_eq!(old, new);
        };
        let before = read(&f);
        set_strategy(&f.path, "openrouter", "round_robin").unwrap();
        set_strategy(&f.path, "nous", "fill_first").unwrap();
        let after = read(&f);
        check(&before, &after, &["openrouter", "nous"]);
        assert!(after.contains("  nous: fill_first  # keep\n  openrouter: round_robin\n"));

        let before = after;
        set_model(&f.path, Some("openrouter"), Some("claude")).unwrap();
        let after = read(&f);
        check(&before, &after, &["provider: openrouter", "default:"]);
        assert!(after.contains("model:\n  default: claude   # mine\n  provider: openrouter\n"));

        let before = after;
        set_fallbacks(&f.path, &[("nous".into(), "hermes-3".into()), ("anthropic".into(), "claude".into())]).unwrap();
        let after = read(&f);
        check(&before, &after, &["provider:", "model: b", "model: hermes-3", "model: claude"]);
        assert!(after.contains(
            "fallback_providers:\n  - provider: nous\n    model: hermes-3\n  - provider: anthropic\n    model: claude\n# about key16\n"
        ));
    }

    #[test]
    fn files_as_hermes_agent_writes_them() {
        // PyYAML's dump: flow `{}`/`[]` for empty containers, lists at column 0, '' strings.
        let text = "model:\n  default: anthropic/claude-opus-4\n  provider: auto\n  base_url: ''\nproviders: {}\nfallback_providers: []\ncredential_pool_strategies: {}\ntoolsets:\n- hermes-cli\nagent:\n  max_turns: 150\n  service_tier: ''\n";
        let f = file(text);
        set_strategy(&f.path, "openrouter", "round_robin").unwrap();
        set_model(&f.path, Some("custom:local-llm"), Some("qwen3:8b")).unwrap();
        set_fallbacks(&f.path, &[("nous".into(), "Hermes-4-70B".into())]).unwrap();
        assert_eq!(
            read(&f),
            "model:\n  default: \"qwen3:8b\"\n  provider: \"custom:local-llm\"\n  base_url: ''\nproviders: {}\nfallback_providers:\n  - provider: nous\n    model: Hermes-4-70B\ncredential_pool_strategies:\n  openrouter: round_robin\ntoolsets:\n- hermes-cli\nagent:\n  max_turns: 150\n  service_tier: ''\n"
        );

        // The shipped example: comments and whitespace-only lines inside the model block.
        let text = "# Hermes Agent CLI Configuration\nmodel:\n  # Default model\n  default: \"anthropic/claude-opus-4.6\"\n  \n  # Inference provider selection:\n  #   \"auto\" - detect\n  provider: \"auto\"\n  \n  # api_key: \"your-key-here\"  # Uncomment\n  base_url: \"https://openrouter.ai/api/v1\"\n\n  # streaming: true\n\n# providers:\n#   meta:\n#     base_url: https://api.meta.ai/v1\nterminal:\n  backend: \"local\"\n# --- limits ---\n  container_cpu: 1              # CPU cores\n";
        let f = file(text);
        set_model(&f.path, Some("openrouter"), None).unwrap();
        set_strategy(&f.path, "openrouter", "least_used").unwrap();
        let want = text.replace("  provider: \"auto\"\n", "  provider: openrouter\n")
            + "credential_pool_strategies:\n  openrouter: least_used\n";
        assert_eq!(read(&f), want);
        assert!(!fs::metadata(&f.path).unwrap().permissions().readonly());
    }

    #[test]
    fn unsafe_edits_leave_the_file_untouched() {
        // The anchored value is replaced, which would break the alias.
        assert_unsafe("model:\n  provider: &p nous\nother: *p\n", |p| set_model(p, Some("anthropic"), None));
        // An alias as the whole section.
        assert_unsafe("base: &b {nous: random}\ncredential_pool_strategies: *b\n", |p| set_strategy(p, "x", "random"));
        // A flow mapping over several lines.
        assert_unsafe("credential_pool_strategies: {nous: random,\n  openrouter: fill_first}\n", |p| {
            set_strategy(p, "openrouter", "random")
        });
        // A key written in a way the text edit does not recognise: appending it would duplicate it.
        assert_unsafe("credential_pool_strategies:\n  ? openrouter\n  : fill_first\n", |p| {
            set_strategy(p, "openrouter", "random")
        });
        // A top-level flow mapping.
        assert_unsafe("{model: {provider: a}}\n", |p| set_model(p, Some("b"), None));
    }

    #[test]
    fn invalid_original_or_wrong_type_is_invalid_and_untouched() {
        for (text, want) in [
            ("model: [\n", "invalid YAML at line"),
            ("credential_pool_strategies: [a]\n", "credential_pool_strategies: expected a mapping, found a list"),
            ("- a\n", "expected a mapping at the top level"),
        ] {
            let f = file(text);
            match set_strategy(&f.path, "nous", "random") {
                Err(ConfigError::Invalid { problem, .. }) => assert!(problem.starts_with(want), "{problem}"),
                other => panic!("{other:?}"),
            }
            assert_eq!(read(&f), text);
        }
        let f = file("model: [a]\n");
        assert!(matches!(set_model(&f.path, Some("x"), None), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn no_op_does_not_write() {
        let f = file("credential_pool_strategies: {nous: random}\n");
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::metadata(&f.path).unwrap().modified().unwrap();
        assert!(!set_strategy(&f.path, "nous", "random").unwrap());
        assert_eq!(read(&f), "credential_pool_strategies: {nous: random}\n");
        assert_eq!(fs::metadata(&f.path).unwrap().modified().unwrap(), before);
    }

    #[test]
    fn modes_are_kept_or_tightened() {
        let f = file("model: x\n");
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o644)).unwrap();
        set_strategy(&f.path, "nous", "random").unwrap();
        assert_eq!(mode(&f.path), 0o644);

        let f = file("custom_providers:\n  - name: a\n    base_url: http://x\n    api_key: sk-abc\n");
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o644)).unwrap();
        set_strategy(&f.path, "nous", "random").unwrap();
        assert_eq!(mode(&f.path), 0o600);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home").join("config.yaml");
        assert!(set_strategy(&path, "nous", "random").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "credential_pool_strategies:\n  nous: random\n");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn symlinked_config_is_edited_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles.yaml");
        fs::write(&real, "model: x\n").unwrap();
        let link = dir.path().join("config.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        set_strategy(&link, "nous", "random").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::read_to_string(&real).unwrap().contains("nous: random"));
    }

    #[test]
    fn crlf_and_bom_are_kept() {
        let f = file("model:\r\n  default: x\r\n");
        set_model(&f.path, Some("nous"), None).unwrap();
        assert_eq!(read(&f), "model:\r\n  default: x\r\n  provider: nous\r\n");
        let f = file("\u{feff}model:\n  default: x\n");
        set_model(&f.path, Some("nous"), None).unwrap();
        assert_eq!(read(&f), "\u{feff}model:\n  default: x\n  provider: nous\n");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        fs::create_dir(&path).unwrap();
        assert!(matches!(set_strategy(&path, "a", "b"), Err(ConfigError::Io { .. })));
    }

    /// A file made of YAML-ish fragments, so that the generator hits sections, flow and block
    /// layouts, quotes, anchors and comments far more often than random bytes would.
    fn yamlish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("credential_pool_strategies:".to_string()),
                Just("model:".to_string()),
                Just("fallback_providers:".to_string()),
                Just("\n".to_string()),
                Just("\n  ".to_string()),
                Just("\n    ".to_string()),
                Just("\n- ".to_string()),
                Just("\r\n".to_string()),
                Just(" {".to_string()),
                Just("}".to_string()),
                Just(" [".to_string()),
                Just("]".to_string()),
                Just(", ".to_string()),
                Just(": ".to_string()),
                Just(" # c".to_string()),
                Just("nous".to_string()),
                Just("provider".to_string()),
                Just("default".to_string()),
                Just("\"custom:x\"".to_string()),
                Just("'q'".to_string()),
                Just("&a ".to_string()),
                Just("*a".to_string()),
                Just("|".to_string()),
                Just("~".to_string()),
                Just("é".to_string()),
                "[a-z:#'\" \t\\-]{1,3}",
            ],
            0..30,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever the file holds, an edit either fails without touching it or makes exactly the
        /// intended change; it never panics.
        #[test]
        fn edits_are_exact_or_refused(text in yamlish(), op in 0..4u8, key in "(nous|custom:x|openrouter)") {
            let f = file(&text);
            let result = match op {
                0 => set_strategy(&f.path, &key, "random"),
                1 => set_model(&f.path, Some(&key), None),
                2 => set_model(&f.path, Some("nous"), Some(&key)),
                _ => set_fallbacks(&f.path, &[(key.clone(), "m1".to_string())]),
            };
            match result {
                Ok(_) => {
                    if let Ok(c) = Config::load(f.path.parent().unwrap()) {
                        match op {
                            0 => prop_assert!(c.strategies.iter().any(|(k, v)| k == &key && v == "random")),
                            1 => prop_assert_eq!(c.model.provider.as_deref(), Some(key.as_str())),
                            2 => prop_assert_eq!(c.model.default.as_deref(), Some(key.as_str())),
                            _ => {
                                let first = c.fallback_providers.unwrap_or_default().into_iter().next();
                                prop_assert_eq!(first.and_then(|e| e.provider), Some(key.clone()));
                            }
                        }
                    }
                }
                Err(e) => {
                    prop_assert_eq!(read(&f), text);
                    if let ConfigError::Invalid { path, .. } = &e {
                        prop_assert_eq!(path, &f.path);
                    }
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let f = file("");
            fs::write(&f.path, &bytes).unwrap();
            if set_strategy(&f.path, "nous", "random").is_err() {
                prop_assert_eq!(fs::read(&f.path).unwrap(), bytes);
            }
        }
    }
}
