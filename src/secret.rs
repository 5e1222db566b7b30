//! Secrets as a type: API keys and OAuth tokens travel as [`Secret`], which never prints itself.
//!
//! The only ways to see the bytes are [`Secret::expose`] (for the wire, the store, or the one
//! stdout answer a user asked for), [`Secret::mask`] and [`Secret::fingerprint`].

use sha2::{Digest, Sha256};
use std::fmt;

/// A secret string. `Debug` prints `[redacted]`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
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
        fingerprint(&self.0)
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
}
