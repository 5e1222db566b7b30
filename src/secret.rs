//! Secrets as a type: API keys and OAuth tokens travel as [`Secret`], which never prints itself.
//!
//! The only ways to see the bytes are [`Secret::expose`] (for the wire, the store, or the one
//! stdout answer a user asked for), [`Secret::mask`] and [`Secret::fingerprint`].

use sha2::{Digest, Sha256};
use std::fmt;

/// A secret string. `Debug` prints `[redacted]`; there is no `Display`. Its fingerprint is
/// worked out once, when first asked for (a pick and each mark compare fingerprints).
#[derive(Clone)]
pub struct Secret(String, std::sync::OnceLock<String>);

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.0 == other.0
    }
}

impl Eq for Secret {}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into(), std::sync::OnceLock::new())
    }

    /// The raw secret. Call only where the bytes go on the wire, into auth.json, or to stdout
    /// because the user asked for exactly this secret.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `sha256:` + the first 16 hex digits of SHA-256 over the UTF-8 secret.
    pub fn fingerprint(&self) -> String {
        self.1.get_or_init(|| fingerprint(&self.0)).clone()
    }

    /// The display form: first 4 + `…` + last 4 for 12+ chars, `…` + last 4 for 8–11, else `****`.
    pub fn mask(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Fingerprint of a secret value (see [`Secret::fingerprint`]).
pub fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..16])
}

/// Mask a secret value (see [`Secret::mask`]). Counts characters, not bytes.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n >= 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}…{tail}")
    } else if n >= 8 {
        let tail: String = chars[n - 4..].iter().collect();
        format!("…{tail}")
    } else {
        "****".to_string()
    }
}

/// Replace every occurrence of `secret` in `text` by its mask (used for provider error messages
/// that echo the key back).
pub fn redact_in(text: &str, secret: &Secret) -> String {
    if secret.0.len() < 4 {
        return text.to_string();
    }
    text.replace(secret.expose(), &secret.mask())
}

/// The longest provider error code or type kept (`rate_limit_exceeded` and its kin are short).
pub const REASON_MAX_CHARS: usize = 100;
/// The longest provider message kept.
pub const MESSAGE_MAX_CHARS: usize = 300;

/// Prefixes of key-shaped words that are masked even when the key is not one hermes knows (a
/// provider may echo a key from another tool, or a truncated one).
const KEY_PREFIXES: &[&str] = &["sk-", "sk_", "xai-", "gsk_", "AIza", "ghp_", "gho_", "pk-", "rk-", "eyJ"];
/// A key-shaped word is at least this long.
const KEY_SHAPED_MIN: usize = 20;

/// Every secret one process knows (pool tokens, borrowed keys from the environment, `.env` and
/// config.yaml, a fallback's own key), to mask in text that came from outside.
///
/// Provider text (error codes, types, messages, quoted headers) is untrusted: a provider may echo
/// the key it was sent, and may send terminal escapes. [`Redactor::clean`] is the one sanitiser
/// every such piece goes through before it is stored or shown.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a key that contains another key is masked whole.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Know one more secret (values shorter than 4 characters are not secrets worth masking).
    pub fn add(&mut self, value: &str) {
        let v = value.trim();
        if v.chars().count() < 4 || self.secrets.iter().any(|s| s == v) {
            return;
        }
        let at = self.secrets.iter().position(|s| s.len() < v.len()).unwrap_or(self.secrets.len());
        self.secrets.insert(at, v.to_string());
    }

    pub fn add_secret(&mut self, secret: &Secret) {
        self.add(secret.expose());
    }

    /// This redactor plus `secret`.
    pub fn with(&self, secret: Option<&Secret>) -> Redactor {
        let mut r = self.clone();
        if let Some(s) = secret {
            r.add_secret(s);
        }
        r
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret and every key-shaped word masked.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), &mask(s));
            }
        }
        mask_key_shaped(&out)
    }

    /// The sanitiser for untrusted text: secrets masked, control characters (escape sequences,
    /// newlines) turned into spaces, runs of whitespace collapsed, at most `max_chars`
    /// characters (a cut ends in `…`). Empty text gives `None`.
    pub fn clean(&self, text: &str, max_chars: usize) -> Option<String> {
        let masked = self.mask(text);
        let spaced: String = masked.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let one_line = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.is_empty() {
            return None;
        }
        Some(cap_chars(&one_line, max_chars))
    }

    /// [`Redactor::clean`] for an optional provider code or type.
    pub fn reason(&self, text: Option<&str>) -> Option<String> {
        text.and_then(|t| self.clean(t, REASON_MAX_CHARS))
    }

    /// [`Redactor::clean`] for an optional provider message.
    pub fn message(&self, text: Option<&str>) -> Option<String> {
        text.and_then(|t| self.clean(t, MESSAGE_MAX_CHARS))
    }
}

/// At most `max` characters; a longer text is cut to `max - 1` and ends in `…`.
pub fn cap_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Mask words that look like API keys or tokens: a known key prefix followed by key characters,
/// 20 characters or more in all.
fn mask_key_shaped(text: &str) -> String {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !KEY_PREFIXES.iter().any(|p| text.contains(p)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let shaped = word.len() >= KEY_SHAPED_MIN && KEY_PREFIXES.iter().any(|p| word.starts_with(p));
        out.push_str(&if shaped { mask(word) } else { std::mem::take(word) });
        word.clear();
    };
    for c in text.chars() {
        if is_key_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_by_length() {
        assert_eq!(mask("sk-or-v1-aaaa1111"), "sk-o…1111");
        assert_eq!(mask("abcdefghijkl"), "abcd…ijkl");
        assert_eq!(mask("abcdefgh"), "…efgh");
        assert_eq!(mask("abcdefghijk"), "…hijk");
        assert_eq!(mask("abcdefg"), "****");
        assert_eq!(mask(""), "****");
    }

    #[test]
    fn fingerprint_shape() {
        let f = fingerprint("sk-test");
        assert!(f.starts_with("sha256:"));
        assert_eq!(f.len(), 7 + 16);
        assert_eq!(f, fingerprint("sk-test"));
        assert_ne!(f, fingerprint("sk-test2"));
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("sk-very-secret-value");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(redact_in("bad key sk-very-secret-value!", &s), "bad key sk-v…alue!");
    }

    #[test]
    fn redactor_masks_every_known_secret_and_key_shapes() {
        let mut r = Redactor::new();
        r.add("abcdef-secret-1");
        r.add("zz-other-secret-2");
        r.add("abc"); // too short to mask
        assert_eq!(r.len(), 2);
        let text = "keys abcdef-secret-1 and zz-other-secret-2, abc";
        assert_eq!(r.mask(text), "keys abcd…et-1 and zz-o…et-2, abc");
        // A key nobody told us about, shaped like one.
        assert_eq!(r.mask("invalid api key: sk-or-v1-0123456789abcdef."), "invalid api key: sk-o…def.");
        // Short or ordinary words stay.
        assert_eq!(r.mask("rate_limit_exceeded sk-short"), "rate_limit_exceeded sk-short");
        // A secret that contains another is masked whole.
        let mut r = Redactor::new();
        r.add("inner-key-1234");
        r.add("outer-inner-key-1234-xyz");
        assert_eq!(r.mask("outer-inner-key-1234-xyz"), "oute…-xyz");
    }

    #[test]
    fn clean_strips_controls_and_caps() {
        let r = Redactor::new();
        assert_eq!(r.clean("\u{1b}]0;x\u{7}\u{1b}[2J boom\n\tline", 100).as_deref(), Some("]0;x [2J boom line"));
        assert_eq!(r.clean(" \u{1b} ", 100), None);
        let long = "x".repeat(400);
        let c = r.clean(&long, MESSAGE_MAX_CHARS).unwrap();
        assert_eq!(c.chars().count(), MESSAGE_MAX_CHARS);
        assert!(c.ends_with('…'));
        let mut r = Redactor::new();
        r.add("sk-hidden-value-1");
        assert_eq!(format!("{r:?}"), "Redactor(1 secrets)");
    }
}
