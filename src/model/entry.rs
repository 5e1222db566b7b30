//! One credential entry: a typed, validated view read from the stored JSON object, plus the
//! helpers that edit that object in place (key order kept, new keys appended, nulls deleted).
//!
//! The stored object stays the source of truth; [`Entry`] is re-read from it whenever needed.

use crate::context::Epoch;
use crate::secret::{self, Secret};
use serde_json::{Map, Value};

pub const ID: &str = "id";
pub const LABEL: &str = "label";
pub const AUTH_TYPE: &str = "auth_type";
pub const PRIORITY: &str = "priority";
pub const SOURCE: &str = "source";
pub const ACCESS_TOKEN: &str = "access_token";
pub const REFRESH_TOKEN: &str = "refresh_token";
pub const LAST_STATUS: &str = "last_status";
pub const LAST_STATUS_AT: &str = "last_status_at";
pub const LAST_ERROR_CODE: &str = "last_error_code";
pub const LAST_ERROR_REASON: &str = "last_error_reason";
pub const LAST_ERROR_MESSAGE: &str = "last_error_message";
pub const LAST_ERROR_RESET_AT: &str = "last_error_reset_at";
pub const BASE_URL: &str = "base_url";
pub const EXPIRES_AT: &str = "expires_at";
pub const EXPIRES_AT_MS: &str = "expires_at_ms";
pub const LAST_REFRESH: &str = "last_refresh";
pub const INFERENCE_BASE_URL: &str = "inference_base_url";
pub const AGENT_KEY: &str = "agent_key";
pub const AGENT_KEY_EXPIRES_AT: &str = "agent_key_expires_at";
pub const REQUEST_COUNT: &str = "request_count";
pub const SECRET_FINGERPRINT: &str = "secret_fingerprint";
pub const RATE_LIMIT_STREAK: &str = "rate_limit_streak";
pub const SCOPE: &str = "scope";

/// The six status fields: always present in a written entry, possibly null.
pub const STATUS_FIELDS: [&str; 6] =
    [LAST_STATUS, LAST_STATUS_AT, LAST_ERROR_CODE, LAST_ERROR_REASON, LAST_ERROR_MESSAGE, LAST_ERROR_RESET_AT];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    ApiKey,
    OAuth,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::ApiKey => "api_key",
            AuthType::OAuth => "oauth",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastStatus {
    Ok,
    Exhausted,
    Dead,
}

impl LastStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LastStatus::Ok => "ok",
            LastStatus::Exhausted => "exhausted",
            LastStatus::Dead => "dead",
        }
    }
}

/// A problem with one field of an entry: `priority: expected an integer, found "high"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Typed view of a stored entry, with defaults applied (docs/design.md#entries).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub label: String,
    pub auth_type: AuthType,
    pub priority: i64,
    pub source: String,
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub last_status: Option<LastStatus>,
    pub last_status_at: Option<Epoch>,
    pub last_error_code: Option<i64>,
    pub last_error_reason: Option<String>,
    pub last_error_message: Option<String>,
    pub last_error_reset_at: Option<Epoch>,
    pub base_url: Option<String>,
    pub expires_at: Option<String>,
    pub expires_at_ms: Option<i64>,
    pub last_refresh: Option<String>,
    pub request_count: i64,
    pub secret_fingerprint: Option<String>,
    pub rate_limit_streak: Option<i64>,
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(37).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn type_err(field: &str, expected: &str, found: &Value) -> FieldError {
    FieldError { field: field.to_string(), problem: format!("expected {expected}, found {}", describe(found)) }
}

/// The fields [`Entry::parse`] reads, gathered in one pass over the entry object: each is then
/// taken by its place, instead of a hashed lookup of its name per read (a pick parses every
/// entry of its pool).
struct Fields<'a>([Option<&'a Value>; NAMES.len()]);

/// The names [`Fields`] gathers; `F_*` are their places.
const NAMES: [&str; 22] = [
    ID,
    SOURCE,
    LABEL,
    AUTH_TYPE,
    PRIORITY,
    LAST_STATUS,
    REFRESH_TOKEN,
    ACCESS_TOKEN,
    AGENT_KEY,
    "api_key",
    LAST_STATUS_AT,
    LAST_ERROR_CODE,
    LAST_ERROR_REASON,
    LAST_ERROR_MESSAGE,
    LAST_ERROR_RESET_AT,
    BASE_URL,
    EXPIRES_AT,
    EXPIRES_AT_MS,
    LAST_REFRESH,
    REQUEST_COUNT,
    SECRET_FINGERPRINT,
    RATE_LIMIT_STREAK,
];
const F_ID: usize = 0;
const F_SOURCE: usize = 1;
const F_LABEL: usize = 2;
const F_AUTH_TYPE: usize = 3;
const F_PRIORITY: usize = 4;
const F_LAST_STATUS: usize = 5;
const F_REFRESH_TOKEN: usize = 6;
const F_ACCESS_TOKEN: usize = 7;
const F_AGENT_KEY: usize = 8;
const F_API_KEY: usize = 9;
const F_LAST_STATUS_AT: usize = 10;
const F_LAST_ERROR_CODE: usize = 11;
const F_LAST_ERROR_REASON: usize = 12;
const F_LAST_ERROR_MESSAGE: usize = 13;
const F_LAST_ERROR_RESET_AT: usize = 14;
const F_BASE_URL: usize = 15;
const F_EXPIRES_AT: usize = 16;
const F_EXPIRES_AT_MS: usize = 17;
const F_LAST_REFRESH: usize = 18;
const F_REQUEST_COUNT: usize = 19;
const F_SECRET_FINGERPRINT: usize = 20;
const F_RATE_LIMIT_STREAK: usize = 21;

impl<'a> Fields<'a> {
    fn gather(m: &'a Map<String, Value>) -> Fields<'a> {
        let mut f = Fields([None; NAMES.len()]);
        for (k, v) in m {
            if let Some(i) = NAMES.iter().position(|n| *n == k) {
                f.0[i] = Some(v);
            }
        }
        f
    }

    fn get(&self, i: usize) -> Option<&'a Value> {
        self.0[i]
    }
}

fn opt_str(f: &Fields<'_>, i: usize) -> Result<Option<String>, FieldError> {
    match f.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(type_err(NAMES[i], "a string", v)),
    }
}

fn opt_int(f: &Fields<'_>, i: usize) -> Result<Option<i64>, FieldError> {
    match f.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_err(NAMES[i], "an integer", v)),
        Some(v) => Err(type_err(NAMES[i], "an integer", v)),
    }
}

/// An epoch field: a number, or a string holding a number or an ISO timestamp. Numbers above
/// 1e12 are milliseconds. An unparseable string is treated as absent (hermes-agent writes a few
/// shapes; none of them should make the file invalid).
fn opt_epoch(f: &Fields<'_>, i: usize) -> Result<Option<Epoch>, FieldError> {
    match f.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(normalise_epoch)),
        Some(Value::String(s)) => Ok(parse_epoch_str(s)),
        Some(v) => Err(type_err(NAMES[i], "a number or a timestamp string", v)),
    }
}

/// Numbers above 1e12 are milliseconds.
pub fn normalise_epoch(x: f64) -> Epoch {
    if x > 1e12 {
        x / 1000.0
    } else {
        x
    }
}

/// A string epoch: numeric (seconds or ms) or ISO.
pub fn parse_epoch_str(s: &str) -> Option<Epoch> {
    let t = s.trim();
    if let Ok(x) = t.parse::<f64>() {
        return x.is_finite().then(|| normalise_epoch(x));
    }
    crate::time::parse_iso(t)
}

fn opt_secret(f: &Fields<'_>, i: usize) -> Result<Option<Secret>, FieldError> {
    opt_str(f, i).map(|o| o.map(Secret::new))
}

impl Entry {
    /// Read and validate an entry object. Errors name the field relative to the entry.
    pub fn parse(m: &Map<String, Value>) -> Result<Entry, FieldError> {
        let f = Fields::gather(m);
        let id = match f.get(F_ID) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(FieldError {
                    field: ID.into(),
                    problem: "missing or empty; every entry needs a non-empty string id".into(),
                })
            }
            Some(v) => return Err(type_err(ID, "a string", v)),
        };
        let source = opt_str(&f, F_SOURCE)?.unwrap_or_else(|| "manual".to_string());
        let label = opt_str(&f, F_LABEL)?.unwrap_or_else(|| source.clone());
        let auth_type = match f.get(F_AUTH_TYPE) {
            None | Some(Value::Null) => AuthType::ApiKey,
            Some(Value::String(s)) => match s.as_str() {
                "oauth" => AuthType::OAuth,
                // "api_key", "api-key", "", or another tool's type word: treat as an API key
                // rather than reject the store.
                _ => AuthType::ApiKey,
            },
            Some(v) => return Err(type_err(AUTH_TYPE, "a string", v)),
        };
        // A negative priority or count (a hand edit, another tool) counts as 0: it must not sort
        // before every real entry or win least_used forever (docs/design.md).
        let priority = opt_int(&f, F_PRIORITY)?.unwrap_or(0).max(0);
        let last_status = match f.get(F_LAST_STATUS) {
            None | Some(Value::Null) => None,
            Some(v @ Value::String(s)) => match s.as_str() {
                "ok" => Some(LastStatus::Ok),
                "exhausted" => Some(LastStatus::Exhausted),
                "dead" => Some(LastStatus::Dead),
                _ => {
                    return Err(FieldError {
                        field: LAST_STATUS.into(),
                        problem: format!("expected null, \"ok\", \"exhausted\" or \"dead\", found {}", describe(v)),
                    })
                }
            },
            Some(v) => return Err(type_err(LAST_STATUS, "null, \"ok\", \"exhausted\" or \"dead\"", v)),
        };
        // The tokens are checked before the other fields are read (an error names the first
        // bad one in this order).
        let refresh_token = opt_secret(&f, F_REFRESH_TOKEN)?;
        let access_token = opt_secret(&f, F_ACCESS_TOKEN)?;
        for i in [F_AGENT_KEY, F_API_KEY] {
            if let Some(v) = f.get(i) {
                if !v.is_null() && !v.is_string() {
                    return Err(type_err(NAMES[i], "a string", v));
                }
            }
        }
        Ok(Entry {
            id,
            label,
            auth_type,
            priority,
            source,
            access_token,
            refresh_token,
            last_status,
            last_status_at: opt_epoch(&f, F_LAST_STATUS_AT)?,
            last_error_code: opt_int(&f, F_LAST_ERROR_CODE)?,
            last_error_reason: opt_str(&f, F_LAST_ERROR_REASON)?,
            last_error_message: opt_str(&f, F_LAST_ERROR_MESSAGE)?,
            last_error_reset_at: opt_epoch(&f, F_LAST_ERROR_RESET_AT)?,
            base_url: opt_str(&f, F_BASE_URL)?,
            expires_at: opt_str(&f, F_EXPIRES_AT)?,
            expires_at_ms: opt_int(&f, F_EXPIRES_AT_MS)?,
            last_refresh: opt_str(&f, F_LAST_REFRESH)?,
            request_count: opt_int(&f, F_REQUEST_COUNT)?.unwrap_or(0).max(0),
            secret_fingerprint: opt_str(&f, F_SECRET_FINGERPRINT)?,
            rate_limit_streak: opt_int(&f, F_RATE_LIMIT_STREAK)?,
        })
    }

    /// Whether this entry keeps its secret in auth.json (docs/design.md#owned-and-borrowed).
    pub fn is_owned(&self, pool_key: &str) -> bool {
        is_owned(pool_key, &self.source)
    }
}

/// Owned vs borrowed (docs/design.md#owned-and-borrowed): empty, `manual`, `manual:*`, and a few (pool, source) pairs.
pub fn is_owned(pool_key: &str, source: &str) -> bool {
    if source.is_empty() || source == "manual" || source.starts_with("manual:") {
        return true;
    }
    matches!(
        (pool_key, source),
        ("anthropic", "hermes_pkce")
            | ("minimax-oauth", "oauth")
            | ("nous", "device_code")
            | ("openai-codex", "device_code")
            | ("xai-oauth", "device_code")
    )
}

const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "agent_key",
    "api_key",
    "apikey",
    "api_token",
    "auth_token",
    "authorization",
    "bearer_token",
    "client_secret",
    "credential",
    "credentials",
    "id_token",
    "oauth_token",
    "private_key",
    "secret_key",
    "session_token",
    "password",
    "secret",
    "token",
    "tokens",
];
const SECRET_SUFFIXES: &[&str] = &[
    "_api_key",
    "_api_token",
    "_access_token",
    "_auth_token",
    "_refresh_token",
    "_bearer_token",
    "_client_secret",
    "_id_token",
    "_oauth_token",
    "_private_key",
    "_session_token",
    "_secret_key",
    "_password",
    "_secret",
    "_token",
    "_key",
];
const EXEMPT_KEYS: &[&str] = &[
    "secret_fingerprint",
    "secret_source",
    "token_type",
    "scope",
    "client_id",
    "agent_key_id",
    "agent_key_expires_at",
    "agent_key_expires_in",
    "agent_key_reused",
    "agent_key_obtained_at",
    "expires_at",
    "expires_at_ms",
    "expires_in",
    "last_refresh",
];

/// camelCase → snake, lowercase, `-` and `.` → `_`.
fn normalise_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower_or_digit = false;
    for c in key.chars() {
        if c.is_uppercase() {
            if prev_lower_or_digit {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower_or_digit = false;
        } else {
            let c = if c == '-' || c == '.' { '_' } else { c };
            prev_lower_or_digit = c.is_lowercase() || c.is_ascii_digit();
            out.push(c);
        }
    }
    out
}

/// Whether a key of a borrowed entry holds a secret and must not be written (docs/design.md#owned-and-borrowed).
pub fn is_secret_looking(key: &str) -> bool {
    let k = normalise_key(key);
    if EXEMPT_KEYS.contains(&k.as_str()) || STATUS_FIELDS.contains(&k.as_str()) {
        return false;
    }
    SECRET_KEYS.contains(&k.as_str()) || SECRET_SUFFIXES.iter().any(|s| k.ends_with(s))
}

/// The disk filter for a borrowed entry: fingerprint the secret, delete every secret-looking key.
pub fn filter_borrowed(m: &mut Map<String, Value>) {
    let value = stored_secret(m);
    let keys: Vec<String> = m.keys().filter(|k| is_secret_looking(k)).cloned().collect();
    for k in keys {
        m.shift_remove(&k);
    }
    if let Some(v) = value {
        set(m, SECRET_FINGERPRINT, Value::String(secret::fingerprint(&v)));
    }
}

/// The secret an entry object holds, by the docs/design.md#owned-and-borrowed order: the first non-empty `agent_key`,
/// `access_token`, `refresh_token`, `api_key`, `token` or `secret`, else any secret-looking key.
pub fn stored_secret(m: &Map<String, Value>) -> Option<String> {
    let first = [AGENT_KEY, ACCESS_TOKEN, REFRESH_TOKEN, "api_key", "token", "secret"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string));
    first.or_else(|| {
        m.iter().find_map(|(k, v)| {
            is_secret_looking(k).then(|| v.as_str().filter(|s| !s.is_empty()).map(str::to_string)).flatten()
        })
    })
}

/// Set a field keeping key order (new keys go at the end). Null deletes the key, except for the
/// six status fields, which are always present.
pub fn set(m: &mut Map<String, Value>, key: &str, value: Value) {
    if value.is_null() && !STATUS_FIELDS.contains(&key) {
        m.shift_remove(key);
        return;
    }
    if let Some(slot) = m.get_mut(key) {
        *slot = value;
    } else {
        m.insert(key.to_string(), value);
    }
}

/// Epoch as written by hermes: a JSON number with a fraction (`1751360000.0`).
pub fn epoch_value(t: Epoch) -> Value {
    // Keep millisecond precision and always print a fraction, as hermes-agent does.
    let rounded = (t * 1000.0).round() / 1000.0;
    let text = if rounded.fract() == 0.0 { format!("{rounded:.1}") } else { format!("{rounded}") };
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Null all six status fields and delete the streak (a reset, docs/design.md#reset).
pub fn clear_status(m: &mut Map<String, Value>) {
    for k in STATUS_FIELDS {
        set(m, k, Value::Null);
    }
    m.shift_remove(RATE_LIMIT_STREAK);
}

/// Whether any status field is set or a streak is recorded.
pub fn has_status(m: &Map<String, Value>) -> bool {
    STATUS_FIELDS.iter().any(|k| m.get(*k).is_some_and(|v| !v.is_null())) || m.contains_key(RATE_LIMIT_STREAK)
}

/// The fields of a new entry, in docs/design.md#entries order, status fields null.
pub struct NewEntry<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub auth_type: AuthType,
    pub priority: i64,
    pub source: &'a str,
    pub access_token: Option<&'a Secret>,
    pub refresh_token: Option<&'a Secret>,
    pub base_url: Option<&'a str>,
}

impl NewEntry<'_> {
    pub fn into_map(self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(ID.into(), self.id.into());
        m.insert(LABEL.into(), self.label.into());
        m.insert(AUTH_TYPE.into(), self.auth_type.as_str().into());
        m.insert(PRIORITY.into(), self.priority.into());
        m.insert(SOURCE.into(), self.source.into());
        if let Some(t) = self.access_token {
            m.insert(ACCESS_TOKEN.into(), t.expose().into());
        }
        if let Some(t) = self.refresh_token {
            m.insert(REFRESH_TOKEN.into(), t.expose().into());
        }
        for k in STATUS_FIELDS {
            m.insert(k.into(), Value::Null);
        }
        if let Some(u) = self.base_url {
            m.insert(BASE_URL.into(), u.into());
        }
        m.insert(REQUEST_COUNT.into(), 0.into());
        m
    }
}

/// Deterministic id of a seeded entry: 6 hex digits of SHA-256("<pool>\n<source>"), taking the
/// next 6 digits on a collision with `taken`.
pub fn seeded_id(pool_key: &str, source: &str, taken: &dyn Fn(&str) -> bool) -> String {
    use sha2::{Digest, Sha256};
    let hexd = hex::encode(Sha256::digest(format!("{pool_key}\n{source}").as_bytes()));
    for i in (0..hexd.len() - 5).step_by(6) {
        let cand = &hexd[i..i + 6];
        if !taken(cand) {
            return cand.to_string();
        }
    }
    hexd[..6].to_string()
}

/// A random 6-hex id not yet used in the pool.
pub fn random_id(taken: &dyn Fn(&str) -> bool) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let id = format!("{:06x}", rng.gen_range(0..0x100_0000u32));
        if !taken(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_and_types() {
        let e = Entry::parse(&obj(json!({"id": "abc123"}))).unwrap();
        assert_eq!(e.label, "manual");
        assert_eq!(e.source, "manual");
        assert_eq!(e.auth_type, AuthType::ApiKey);
        assert_eq!(e.priority, 0);
        assert_eq!(e.request_count, 0);
        let err = Entry::parse(&obj(json!({"id": "a", "priority": "high"}))).unwrap_err();
        assert_eq!(err.to_string(), "priority: expected an integer, found \"high\"");
        let err = Entry::parse(&obj(json!({"id": "a", "last_status": "cooling"}))).unwrap_err();
        assert!(err.to_string().starts_with("last_status: expected null"));
        assert!(Entry::parse(&obj(json!({"id": ""}))).is_err());
        assert!(Entry::parse(&obj(json!({"label": "x"}))).is_err());
        assert!(Entry::parse(&obj(json!({"id": "a", "access_token": 5}))).is_err());
    }

    #[test]
    fn every_field_is_checked_and_the_first_bad_one_is_named() {
        let err = |v: Value| Entry::parse(&obj(v)).unwrap_err().to_string();
        for (field, bad, expected) in [
            ("source", json!(1), "a string"),
            ("label", json!(true), "a string"),
            ("auth_type", json!(2), "a string"),
            ("refresh_token", json!([]), "a string"),
            ("access_token", json!({}), "a string"),
            ("agent_key", json!(3), "a string"),
            ("api_key", json!(3), "a string"),
            ("last_status_at", json!(true), "a number or a timestamp string"),
            ("last_error_code", json!(1.5), "an integer"),
            ("last_error_reason", json!(1), "a string"),
            ("last_error_message", json!(1), "a string"),
            ("last_error_reset_at", json!([1]), "a number or a timestamp string"),
            ("base_url", json!(1), "a string"),
            ("expires_at", json!(1), "a string"),
            ("expires_at_ms", json!("soon"), "an integer"),
            ("last_refresh", json!(1), "a string"),
            ("request_count", json!("many"), "an integer"),
            ("secret_fingerprint", json!(1), "a string"),
            ("rate_limit_streak", json!(false), "an integer"),
        ] {
            let mut m = obj(json!({"id": "a"}));
            m.insert(field.into(), bad.clone());
            assert_eq!(err(Value::Object(m)), format!("{field}: expected {expected}, found {bad}"));
        }
        assert_eq!(err(json!({"id": 7})), "id: expected a string, found 7");
        // Several bad fields: the one named is the first in reading order, wherever it is in
        // the object.
        let e = err(json!({"request_count": "x", "access_token": 1, "refresh_token": 2, "id": "a", "priority": "p"}));
        assert_eq!(e, "priority: expected an integer, found \"p\"");
        let e = err(json!({"request_count": "x", "access_token": 1, "refresh_token": 2, "id": "a"}));
        assert_eq!(e, "refresh_token: expected a string, found 2");
        // Type words another tool writes are read as API keys; unknown fields are ignored.
        for t in ["api-key", "", "bearer"] {
            assert_eq!(
                Entry::parse(&obj(json!({"id": "a", "auth_type": t, "x": 1}))).unwrap().auth_type,
                AuthType::ApiKey
            );
        }
        assert_eq!(Entry::parse(&obj(json!({"id": "a", "auth_type": "oauth"}))).unwrap().auth_type, AuthType::OAuth);
    }

    #[test]
    fn epochs() {
        let e = Entry::parse(&obj(json!({"id": "a", "last_status_at": "2025-07-01T08:53:20Z",
            "last_error_reset_at": 1751360060000u64})))
        .unwrap();
        assert_eq!(e.last_status_at, Some(1751360000.0));
        assert_eq!(e.last_error_reset_at, Some(1751360060.0));
        assert_eq!(epoch_value(1751360000.0).to_string(), "1751360000.0");
        assert_eq!(epoch_value(1751360000.25).to_string(), "1751360000.25");
    }

    #[test]
    fn ownership() {
        assert!(is_owned("openrouter", "manual"));
        assert!(is_owned("anthropic", "manual:hermes_pkce"));
        assert!(is_owned("anthropic", "hermes_pkce"));
        assert!(is_owned("nous", "device_code"));
        assert!(!is_owned("openrouter", "env:OPENROUTER_API_KEY"));
        assert!(!is_owned("anthropic", "claude_code"));
        assert!(!is_owned("openrouter", "device_code"));
    }

    #[test]
    fn secret_keys() {
        for k in
            ["access_token", "apiKey", "authToken", "tokens", "client_secret", "x-api-key", "my.secret", "openai_key"]
        {
            assert!(is_secret_looking(k), "{k}");
        }
        for k in [
            "secret_fingerprint",
            "token_type",
            "scope",
            "expires_at_ms",
            "label",
            "source",
            "last_refresh",
            "request_count",
            "last_status",
        ] {
            assert!(!is_secret_looking(k), "{k}");
        }
    }

    #[test]
    fn filter_keeps_metadata() {
        let mut m = obj(json!({"id": "a", "label": "L", "source": "env:X", "access_token": "sk-abc123456",
            "api_key": "zzz", "client_secret": "c", "authToken": "t", "tokens": {"a": 1},
            "request_count": 3, "token_type": "Bearer", "scope": "s"}));
        filter_borrowed(&mut m);
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "label", "source", "request_count", "token_type", "scope", "secret_fingerprint"]);
        assert_eq!(m["secret_fingerprint"], json!(crate::secret::fingerprint("sk-abc123456")));
    }

    #[test]
    fn set_keeps_order_and_deletes_nulls() {
        let mut m = obj(json!({"a": 1, "base_url": "x", "last_status": "ok"}));
        set(&mut m, "a", json!(2));
        set(&mut m, "base_url", Value::Null);
        set(&mut m, "last_status", Value::Null);
        set(&mut m, "z", json!(true));
        assert_eq!(Value::Object(m).to_string(), r#"{"a":2,"last_status":null,"z":true}"#);
    }

    #[test]
    fn ids() {
        let a = seeded_id("openrouter", "env:OPENROUTER_API_KEY", &|_| false);
        assert_eq!(a.len(), 6);
        let b = seeded_id("openrouter", "env:OPENROUTER_API_KEY", &|id| id == a);
        assert_ne!(a, b);
        let r = random_id(&|_| false);
        assert!(r.len() == 6 && r.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
