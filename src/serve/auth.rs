//! Client keys of the gateway: who may use the pools. A client sends its key as
//! `Authorization: Bearer …` or `x-api-key: …`; the key is checked here and never forwarded.

use crate::home::Home;
use crate::secret::Secret;
use crate::vars;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The file a key is generated into when none is configured.
pub const KEY_FILE: &str = "serve.key";

/// The keys clients may present, each with the name logs show.
#[derive(Clone)]
pub struct ClientKeys {
    keys: Vec<(String, Secret)>,
    /// The SHA-256 of each key, in the same order: what a presented key is compared with.
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ClientKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ClientKeys").field("names", &names).finish()
    }
}

/// Where the keys came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// config.yaml `serve.api_key` / `serve.clients`, or `HERMES_SERVE_KEY`.
    Configured,
    /// Read from `$HERMES_HOME/serve.key` (generated at an earlier start).
    File(PathBuf),
    /// Generated now into that file.
    Generated(PathBuf),
}

impl ClientKeys {
    /// The configured keys (`HERMES_SERVE_KEY`, `serve.api_key`, `serve.clients`), else the key in
    /// `$HERMES_HOME/serve.key`, generated (0600) when missing.
    pub fn load(home: &Home) -> std::io::Result<(ClientKeys, KeySource)> {
        let mut keys = Vec::new();
        if let Some(k) = home.sources.var(vars::SERVE_KEY).filter(|k| !k.trim().is_empty()) {
            keys.push(("default".to_string(), Secret::new(k.trim())));
        }
        let serve = &home.config().serve;
        if let Some(k) = serve.api_key.as_ref().filter(|k| !k.expose().trim().is_empty()) {
            keys.push(("default".to_string(), Secret::new(k.expose().trim())));
        }
        for (name, k) in &serve.clients {
            keys.push((name.clone(), Secret::new(k.expose().trim())));
        }
        if !keys.is_empty() {
            return Ok((ClientKeys::new(keys), KeySource::Configured));
        }
        let path = home.dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => {
                Ok((ClientKeys::new(vec![("default".into(), Secret::new(text.trim()))]), KeySource::File(path)))
            }
            Ok(_) => Err(std::io::Error::other(format!("{} is empty", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = format!("hsk-{}", hex::encode(rand::random::<[u8; 24]>()));
                std::fs::DirBuilder::new().recursive(true).create(&home.dir)?;
                crate::files::write_atomic(&path, format!("{key}\n").as_bytes(), 0o600)?;
                Ok((ClientKeys::new(vec![("default".into(), Secret::new(key))]), KeySource::Generated(path)))
            }
            Err(e) => Err(e),
        }
    }

    /// Keys given directly (tests, embedding programs).
    pub fn new(keys: Vec<(String, Secret)>) -> ClientKeys {
        let digests = keys.iter().map(|(_, k)| Sha256::digest(k.expose().as_bytes()).into()).collect();
        ClientKeys { keys, digests }
    }

    /// Every key, for masking in provider text.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.keys.iter().map(|(_, k)| k)
    }

    /// The name of the client whose key the request carries, if any. Keys are compared by
    /// their SHA-256 (the configured keys' worked out once), so the comparison takes the same
    /// time whatever the key.
    pub fn check(&self, headers: &HeaderMap) -> Option<&str> {
        let want: [u8; 32] = Sha256::digest(presented_key(headers)?.as_bytes()).into();
        let at = self.digests.iter().position(|d| *d == want)?;
        Some(self.keys[at].0.as_str())
    }
}

/// The key a request presents: `Authorization: Bearer <key>`, else `x-api-key`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = header("authorization") {
        let (scheme, key) = v.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty() {
            return Some(key.trim());
        }
    }
    header("x-api-key").filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_either_header() {
        let keys = ClientKeys::new(vec![("ci".into(), Secret::new("hsk-one")), ("me".into(), Secret::new("hsk-two"))]);
        let mut h = HeaderMap::new();
        assert_eq!(keys.check(&h), None);
        h.insert("authorization", "Bearer hsk-two".parse().unwrap());
        assert_eq!(keys.check(&h), Some("me"));
        h.insert("authorization", "Bearer hsk-wrong".parse().unwrap());
        assert_eq!(keys.check(&h), None);
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "hsk-one".parse().unwrap());
        assert_eq!(keys.check(&h), Some("ci"));
        assert!(!format!("{keys:?}").contains("hsk-"));
    }
}
