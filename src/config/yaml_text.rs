//! A lossless line editor for YAML text: the file as lines, each untouched line written back
//! byte for byte, with the few edits config.yaml needs (set a key in a top-level section, replace
//! a section with a list of mappings) in block and one-line flow layouts. It knows YAML's quoting
//! rules well enough to read keys and to write values both serde_yaml_ng and PyYAML read the
//! same; it does not decide what is safe: [`super::edit`] re-parses every result.

/// One line of the file: its text without the line break, and the break (`\n`, `\r\n` or none).
struct Line {
    text: String,
    end: String,
}

/// The file as lines, so that untouched lines are written back byte for byte.
pub(super) struct Doc {
    bom: bool,
    lines: Vec<Line>,
    /// The break used for new lines: the file's own.
    eol: &'static str,
}

impl Doc {
    pub(super) fn parse(text: &str) -> Doc {
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

    pub(super) fn render(&self) -> String {
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
    pub(super) fn set_scalar(&mut self, section: &str, key: &str, value: &str) -> Option<()> {
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
        } else if section == "model" && !current.starts_with(['[', '&', '*', '!', '|', '>']) {
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
    pub(super) fn set_list(&mut self, section: &str, entries: &[(String, String)]) -> Option<()> {
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
pub(super) fn format_key(key: &str) -> String {
    let simple = key.bytes().all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
    if simple && !needs_quotes(key) {
        key.to_string()
    } else {
        double_quote(key)
    }
}

/// A scalar value as hermes writes it: plain when both serde_yaml and PyYAML (YAML 1.1) would
/// read it back as this exact string, otherwise double-quoted.
pub(super) fn format_scalar(value: &str) -> String {
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
