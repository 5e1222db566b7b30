//! Session affinity (`serve.affinity: true`): requests of one session stay on one entry while it
//! is usable, so the provider's prompt cache stays warm. A session is the `x-hermes-session`
//! header, else Anthropic's `metadata.user_id`, else OpenAI's `user` field.
//!
//! When a session's entry can no longer serve, the request is picked by the pool's strategy as
//! usual, and the entry it landed on becomes the successor of the old one: the other sessions of
//! the old entry follow it there, so they move together to one entry instead of spreading over
//! the pool.

use crate::runtime::RawBody;
use axum::http::HeaderMap;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// Sessions remembered at most (the oldest half is dropped past this).
const MAX_SESSIONS: usize = 10_000;
/// How many successors are followed at most (a chain of benched entries).
const MAX_HOPS: usize = 8;

/// Which entry each session (and each replaced entry) goes to, per pool.
#[derive(Debug, Default)]
pub struct Affinity {
    inner: Mutex<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    /// (pool, session) → entry id, with the order sessions were last seen.
    sessions: HashMap<(String, String), (String, u64)>,
    /// (pool, entry id) → the entry that took over its sessions.
    successors: HashMap<(String, String), String>,
    clock: u64,
}

/// The session a request belongs to, if it names one.
pub fn session_of(headers: &HeaderMap, body: &RawBody) -> Option<String> {
    let header = headers.get("x-hermes-session").and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    header
        .map(str::to_string)
        .or_else(|| text(body.field("metadata").as_ref().and_then(|m| m.get("user_id"))))
        .or_else(|| text(body.field("user").as_ref()))
        .filter(|s| !s.is_empty())
}

impl Affinity {
    /// The entry a session of `pool` should go to, if it has one.
    pub fn preferred(&self, pool: &str, session: &str) -> Option<String> {
        let maps = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (mut entry, _) = maps.sessions.get(&(pool.to_string(), session.to_string()))?.clone();
        for _ in 0..MAX_HOPS {
            match maps.successors.get(&(pool.to_string(), entry.clone())) {
                Some(next) if *next != entry => entry = next.clone(),
                _ => break,
            }
        }
        Some(entry)
    }

    /// A request of `session` was served by `entry` of `pool`; it had asked for `preferred`.
    pub fn served(&self, pool: &str, session: &str, preferred: Option<&str>, entry: &str) {
        let mut maps = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        maps.clock += 1;
        let now = maps.clock;
        if let Some(old) = preferred.filter(|p| *p != entry) {
            maps.successors.insert((pool.to_string(), old.to_string()), entry.to_string());
        }
        // An entry that serves again is nobody's stand-in any more.
        maps.successors.remove(&(pool.to_string(), entry.to_string()));
        maps.sessions.insert((pool.to_string(), session.to_string()), (entry.to_string(), now));
        if maps.sessions.len() > MAX_SESSIONS {
            let mut ages: Vec<u64> = maps.sessions.values().map(|(_, t)| *t).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            maps.sessions.retain(|_, (_, t)| *t > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_follow_a_replaced_entry_together() {
        let a = Affinity::default();
        a.served("p", "s1", None, "A");
        a.served("p", "s2", None, "A");
        a.served("p", "s3", None, "C");
        assert_eq!(a.preferred("p", "s1").as_deref(), Some("A"));
        // A is benched: s1 lands on B; s2 now prefers B too, s3 stays on C.
        a.served("p", "s1", Some("A"), "B");
        assert_eq!(a.preferred("p", "s2").as_deref(), Some("B"));
        assert_eq!(a.preferred("p", "s3").as_deref(), Some("C"));
        assert_eq!(a.preferred("other", "s1"), None);
    }

    #[test]
    fn the_session_comes_from_header_metadata_or_user() {
        let mut h = HeaderMap::new();
        let raw = |v: Value| RawBody::from_value(&v).unwrap();
        let body = raw(serde_json::json!({"metadata": {"user_id": "u-meta"}, "user": "u-openai"}));
        assert_eq!(session_of(&h, &body).as_deref(), Some("u-meta"));
        assert_eq!(session_of(&h, &raw(serde_json::json!({"user": "u-openai"}))).as_deref(), Some("u-openai"));
        h.insert("x-hermes-session", "s-header".parse().unwrap());
        assert_eq!(session_of(&h, &body).as_deref(), Some("s-header"));
        assert_eq!(session_of(&HeaderMap::new(), &raw(serde_json::json!({}))), None);
    }
}
