//! Showing text that came from outside (labels and ids another tool wrote, provider text, names
//! from files, arguments): every control character becomes its visible escape (`\u{1b}`), so
//! such text can neither drive a terminal nor forge a line of output. See
//! docs/design.md#untrusted-text.

use std::borrow::Cow;

/// `text` with every control character escaped except newline and tab (for whole messages,
/// whose line breaks are ours).
pub fn safe(text: &str) -> Cow<'_, str> {
    escape_controls(text, |c| c == '\n' || c == '\t')
}

/// `text` on one line: every control character escaped, newline and tab included (for a label,
/// an id, a reason or a table cell inside a line).
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape_controls(text, |_| false)
}

fn escape_controls(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && !keep(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A JSON document as text that is valid JSON and safe on a terminal: serde_json escapes
/// U+0000–U+001F itself; DEL and the C1 controls (U+007F–U+009F) are written as `\u00XX`
/// escapes too, which JSON readers decode back to the exact text.
pub fn json_pretty(v: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    if !text.chars().any(|c| c.is_control_c1_or_del()) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_control_c1_or_del() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

trait C1 {
    fn is_control_c1_or_del(&self) -> bool;
}

impl C1 for char {
    fn is_control_c1_or_del(&self) -> bool {
        matches!(*self as u32, 0x7f..=0x9f)
    }
}

/// `text` as one shell word: as it is when it needs no quoting (`env:OPENROUTER_API_KEY`),
/// else in single quotes, so a printed command can be pasted as it is.
pub fn shell_word(text: &str) -> Cow<'_, str> {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@' | '+' | '='));
    if plain {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("'{}'", one_line(text).replace('\'', "'\\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let evil = "a\u{1b}]0;x\u{7}\u{1b}[2J\rb\n\tc\u{7f}\u{85}";
        assert_eq!(safe(evil), "a\\u{1b}]0;x\\u{7}\\u{1b}[2J\\rb\n\tc\\u{7f}\\u{85}");
        assert_eq!(one_line(evil), "a\\u{1b}]0;x\\u{7}\\u{1b}[2J\\rb\\n\\tc\\u{7f}\\u{85}");
        assert!(matches!(safe("plain ←"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_valid_and_exact() {
        let v = serde_json::json!({"label": "x\u{1b}[2J\u{7f}\u{9b}y"});
        let text = json_pretty(&v);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn shell_words_paste_as_printed() {
        assert_eq!(shell_word("env:OPENROUTER_API_KEY"), "env:OPENROUTER_API_KEY");
        assert_eq!(shell_word("config:my llm"), "'config:my llm'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
