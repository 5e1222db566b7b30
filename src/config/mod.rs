//! config.yaml: typed reads of the keys hermes uses (docs/design.md#config), and `.env` (docs/design.md#files).
//! `edit` changes one key while keeping every other byte.
//!
//! config.yaml is shared with hermes-agent (Python), so it is read as a loose YAML tree and only
//! the keys hermes uses are checked; every other key is ignored here and kept by [`edit`]. Errors
//! name the file and the key path, and never quote a value (an `api_key` may be anywhere).

pub mod dotenv;
pub mod edit;
mod yaml_text;

use crate::secret::Secret;
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

/// The file name of the configuration inside the hermes home.
pub const CONFIG_FILE: &str = "config.yaml";

/// Why config.yaml (or `.env`) could not be read or edited.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `<file>: <problem>`
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    /// The file exists but could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The text edit did not produce exactly the intended change; nothing was written.
    #[error("could not edit config.yaml safely")]
    UnsafeEdit,
}

/// `model.*`: the primary provider and model.
#[derive(Debug, Clone, Default)]
pub struct ModelConfig {
    pub provider: Option<String>,
    pub default: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
}

/// One step of the fallback chain (`fallback_providers[i]` or `fallback_model`). A missing
/// `provider` or `model` is kept as `None`: the runtime skips the entry with a warning (docs/design.md#fallback).
#[derive(Debug, Clone, Default)]
pub struct FallbackEntry {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub key_env: Option<String>,
}

/// `serve:` in config.yaml: the local gateway (`hermes serve`).
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    /// `serve.api_key`: the key clients send.
    pub api_key: Option<Secret>,
    /// `serve.clients`: named client keys (the name shows in logs).
    pub clients: Vec<(String, Secret)>,
    /// `serve.models`: alias → `PROVIDER:MODEL`, in file order.
    pub models: Vec<(String, String)>,
    /// `serve.affinity`: keep a session on one entry while it is usable.
    pub affinity: bool,
    /// `serve.wait_for_reset`: seconds a request may wait for a reset that close (0: never).
    pub wait_for_reset: f64,
}

/// `state.backend`: where the pools' shared state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// auth.json alone (the default).
    #[default]
    File,
    /// auth.json for the credentials, a Redis/Valkey server for the state a fleet shares.
    Redis,
}

/// `state.on_unavailable`: what a command does while the Redis server cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnUnavailable {
    /// Carry on with the local state in auth.json and merge it back later (the default).
    #[default]
    Local,
    /// Refuse: the command fails (exit 1), the gateway answers 503.
    Fail,
}

/// `state:` in config.yaml: where the pools' cooldowns, counts and order live (docs/fleet.md).
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub backend: Backend,
    /// `state.url` (`redis://`, `rediss://`, `unix://`, `valkey://`); `HERMES_STATE_URL` wins.
    pub url: Option<Secret>,
    /// `state.prefix`: the prefix of every key hermes writes (default `hermes:`).
    pub prefix: String,
    pub on_unavailable: OnUnavailable,
    /// `state.share_oauth`: OAuth tokens go to the server too, so one refresh serves the fleet.
    pub share_oauth: bool,
    /// `state.connect_timeout_ms` (default 200).
    pub connect_timeout_ms: u64,
    /// `state.command_timeout_ms` (default 50).
    pub command_timeout_ms: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            backend: Backend::File,
            url: None,
            prefix: "hermes:".into(),
            on_unavailable: OnUnavailable::Local,
            share_oauth: false,
            connect_timeout_ms: 200,
            command_timeout_ms: 50,
        }
    }
}

/// One `custom_providers` entry (docs/design.md#custom-endpoints).
#[derive(Debug, Clone)]
pub struct CustomProvider {
    pub name: String,
    pub base_url: String,
    pub api_key: Option<Secret>,
}

/// The parts of config.yaml hermes reads.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file this was read from (set even when it does not exist).
    pub path: PathBuf,
    /// `credential_pool_strategies`, raw keys and values in file order.
    pub strategies: Vec<(String, String)>,
    pub model: ModelConfig,
    /// `None` when the key is absent or null; `Some(vec![])` for an explicit empty list.
    pub fallback_providers: Option<Vec<FallbackEntry>>,
    pub fallback_model: Option<FallbackEntry>,
    pub custom_providers: Vec<CustomProvider>,
    /// `serve:`, the gateway's settings.
    pub serve: ServeConfig,
    /// `state:`, where the shared pool state lives.
    pub state: StateConfig,
    /// `headroom_bench` (default true): bench an entry whose provider announced nothing left,
    /// before it is refused (docs/recovery.md#headroom).
    pub headroom_bench: Option<bool>,
    /// Problems with parts hermes can do without (an unreadable fallback chain), one line each,
    /// without the file name.
    pub warnings: Vec<String>,
}

impl Config {
    /// `<home>/config.yaml`; missing = empty config.
    pub fn load(home: &Path) -> Result<Config, ConfigError> {
        let path = home.join(CONFIG_FILE);
        let text = match read_text(&path)? {
            Some(text) => text,
            None => return Ok(Config { path, ..Config::default() }),
        };
        let value = parse_yaml(&path, &text)?;
        Config::from_value(path, value)
    }

    /// Build the typed view from an already parsed document (`path` is only used in errors).
    pub fn from_value(path: PathBuf, mut value: Value) -> Result<Config, ConfigError> {
        // hermes-agent reads with PyYAML, which applies `<<` merge keys; do the same so both
        // tools see the same values.
        if let Err(e) = value.apply_merge() {
            return Err(ConfigError::Invalid { path, problem: format!("invalid YAML: {}", sanitize_yaml_message(&e)) });
        }
        match read_config(&value) {
            Ok(parts) => Ok(Config { path, ..parts }),
            Err(problem) => Err(ConfigError::Invalid { path, problem }),
        }
    }

    /// Name and base URL of each configured custom provider, in file order.
    pub fn custom_refs(&self) -> Vec<crate::providers::CustomRef> {
        self.custom_providers
            .iter()
            .map(|c| crate::providers::CustomRef { name: c.name.clone(), base_url: c.base_url.clone() })
            .collect()
    }
}

/// The largest config.yaml or `.env` hermes reads (4 MiB; real ones are a few kilobytes).
pub const MAX_TEXT_BYTES: u64 = 4 * 1024 * 1024;

/// Read a UTF-8 text file: `Ok(None)` if it does not exist; any other failure (permission, a
/// directory, invalid UTF-8) is an error naming the file, never an empty file.
///
/// Only a regular file (or a symlink to one) is read, and at most [`MAX_TEXT_BYTES`]: a FIFO
/// would block every command and `/dev/zero` would be read until memory runs out.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    use crate::files::{read_regular, ReadError};
    let invalid = |problem: String| ConfigError::Invalid { path: path.to_path_buf(), problem };
    let bytes = match read_regular(path, MAX_TEXT_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(None),
        Err(ReadError::Directory) => {
            let source = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory, not a file");
            return Err(ConfigError::Io { path: path.to_path_buf(), source });
        }
        Err(ReadError::NotRegular) => {
            return Err(invalid("is not a regular file (a FIFO, socket or device?)".into()));
        }
        Err(ReadError::TooLarge(n)) => {
            return Err(invalid(format!("is {n} bytes or more; the limit is {MAX_TEXT_BYTES}")))
        }
        Err(ReadError::Io(source)) => return Err(ConfigError::Io { path: path.to_path_buf(), source }),
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problem: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        }),
    }
}

/// Parse YAML text into a tree; an empty document or a top-level null is an empty mapping, and
/// any other non-mapping top level is an error.
pub(crate) fn parse_yaml(path: &Path, text: &str) -> Result<Value, ConfigError> {
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        problem: match e.location() {
            Some(loc) => format!(
                "invalid YAML at line {} column {}: {}",
                loc.line(),
                loc.column(),
                sanitize_yaml_message(&e).replacen(&format!(" at line {} column {}", loc.line(), loc.column()), "", 1)
            ),
            None => format!("invalid YAML: {}", sanitize_yaml_message(&e)),
        },
    })?;
    match value {
        Value::Null => Ok(Value::Mapping(Mapping::new())),
        Value::Mapping(_) => Ok(value),
        other => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problem: format!("expected a mapping at the top level, found {}", kind(&other)),
        }),
    }
}

/// serde_yaml's message, with any quoted scalar removed: "invalid value: string \"sk-…\"" can
/// echo a secret that a bad tag (`api_key: !!int sk-…`) made unparseable.
fn sanitize_yaml_message(e: &serde_yaml_ng::Error) -> String {
    let msg = e.to_string();
    if !(msg.contains("invalid value") || msg.contains("invalid type")) {
        return msg;
    }
    let mut out = String::with_capacity(msg.len());
    let mut in_quote = false;
    let mut escaped = false;
    for c in msg.chars() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quote = false;
                out.push_str("…\"");
            }
        } else {
            out.push(c);
            if c == '"' {
                in_quote = true;
            }
        }
    }
    out
}

/// How a YAML node is described in errors ("found a list").
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A mapping entry by string key; an explicit null counts as absent, as in hermes-agent's
/// `dict.get`.
fn get<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn opt_string(map: &Mapping, key: &str, path: &str) -> Result<Option<String>, String> {
    match get(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{path}.{key}: expected a string, found {}", kind(other))),
    }
}

fn opt_secret(map: &Mapping, key: &str, path: &str) -> Result<Option<Secret>, String> {
    Ok(opt_string(map, key, path)?.map(Secret::new))
}

fn as_mapping<'a>(v: &'a Value, path: &str) -> Result<&'a Mapping, String> {
    match v {
        Value::Mapping(m) => Ok(m),
        other => Err(format!("{path}: expected a mapping, found {}", kind(other))),
    }
}

fn as_list<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], String> {
    match v {
        Value::Sequence(s) => Ok(s),
        other => Err(format!("{path}: expected a list, found {}", kind(other))),
    }
}

/// The typed parts (everything but `path`), or a `<key path>: <problem>` message.
fn read_config(root: &Value) -> Result<Config, String> {
    let root = match root {
        Value::Null => return Ok(Config::default()),
        Value::Mapping(m) => m,
        other => return Err(format!("expected a mapping at the top level, found {}", kind(other))),
    };
    let mut config = Config::default();

    if let Some(v) = get(root, "credential_pool_strategies") {
        let path = "credential_pool_strategies";
        for (k, v) in as_mapping(v, path)? {
            let key = match k {
                Value::String(s) => s.clone(),
                other => return Err(format!("{path}: expected string keys, found {}", kind(other))),
            };
            match v {
                Value::String(s) => config.strategies.push((key, s.clone())),
                // `openrouter:` with nothing after it: no strategy set for that pool.
                Value::Null => {}
                other => return Err(format!("{path}.{key}: expected a string, found {}", kind(other))),
            }
        }
    }

    match get(root, "model") {
        None => {}
        // hermes-agent also accepts `model: <name>`, meaning `model.default`.
        Some(Value::String(s)) => config.model.default = Some(s.clone()),
        Some(Value::Mapping(m)) => {
            config.model = ModelConfig {
                provider: opt_string(m, "provider", "model")?,
                default: opt_string(m, "default", "model")?,
                base_url: opt_string(m, "base_url", "model")?,
                api_key: opt_secret(m, "api_key", "model")?,
            }
        }
        Some(other) => return Err(format!("model: expected a mapping or a string, found {}", kind(other))),
    }

    // The fallback chain is read leniently: a shape hermes cannot use is warned about and
    // ignored, so commands that never use the chain (list, add, token) keep working.
    let mut chain_unreadable = false;
    if let Some(v) = get(root, "fallback_providers") {
        match read_fallbacks(v, "fallback_providers", 0) {
            Ok((entries, skipped)) => {
                config.warnings.extend(skipped);
                config.fallback_providers = Some(entries);
            }
            Err(problem) => {
                chain_unreadable = true;
                config.warnings.push(format!("{problem}; no fallback is used"));
            }
        }
    }

    // The legacy single fallback stands in only for an absent or empty chain, never for one
    // that is there but unreadable.
    if let Some(v) = get(root, "fallback_model").filter(|_| !chain_unreadable) {
        match read_fallback(v, "fallback_model") {
            Ok(entry) => config.fallback_model = Some(entry),
            Err(problem) => config.warnings.push(format!("{problem}; fallback_model is ignored")),
        }
    }

    if let Some(v) = get(root, "serve") {
        config.serve = read_serve(v)?;
    }

    if let Some(v) = get(root, "state") {
        config.state = read_state(v)?;
    }

    match get(root, "headroom_bench") {
        None => {}
        Some(Value::Bool(b)) => config.headroom_bench = Some(*b),
        Some(other) => return Err(format!("headroom_bench: expected true or false, found {}", kind(other))),
    }

    if let Some(v) = get(root, "custom_providers") {
        for (i, item) in as_list(v, "custom_providers")?.iter().enumerate() {
            let path = format!("custom_providers[{i}]");
            let m = as_mapping(item, &path)?;
            let name = opt_string(m, "name", &path)?
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| format!("{path}: missing name"))?;
            let base_url = opt_string(m, "base_url", &path)?.ok_or_else(|| format!("{path}: missing base_url"))?;
            let api_key = opt_secret(m, "api_key", &path)?;
            config.custom_providers.push(CustomProvider { name, base_url, api_key });
        }
    }

    Ok(config)
}

fn read_serve(v: &Value) -> Result<ServeConfig, String> {
    let m = as_mapping(v, "serve")?;
    let mut serve = ServeConfig { api_key: opt_secret(m, "api_key", "serve")?, ..ServeConfig::default() };
    if let Some(list) = get(m, "clients") {
        for (i, item) in as_list(list, "serve.clients")?.iter().enumerate() {
            let path = format!("serve.clients[{i}]");
            let c = as_mapping(item, &path)?;
            let name = opt_string(c, "name", &path)?.ok_or_else(|| format!("{path}: missing name"))?;
            let key = opt_secret(c, "key", &path)?.ok_or_else(|| format!("{path}: missing key"))?;
            serve.clients.push((name, key));
        }
    }
    if let Some(models) = get(m, "models") {
        for (k, v) in as_mapping(models, "serve.models")? {
            let alias = match k {
                Value::String(s) => s.clone(),
                other => return Err(format!("serve.models: expected string keys, found {}", kind(other))),
            };
            match v {
                Value::String(target) => serve.models.push((alias, target.clone())),
                other => return Err(format!("serve.models.{alias}: expected PROVIDER:MODEL, found {}", kind(other))),
            }
        }
    }
    match get(m, "affinity") {
        None => {}
        Some(Value::Bool(b)) => serve.affinity = *b,
        Some(other) => return Err(format!("serve.affinity: expected true or false, found {}", kind(other))),
    }
    match get(m, "wait_for_reset") {
        None => {}
        Some(Value::Number(n)) if n.as_f64().is_some_and(|x| x.is_finite() && x >= 0.0) => {
            serve.wait_for_reset = n.as_f64().unwrap_or(0.0)
        }
        Some(other) => {
            return Err(format!("serve.wait_for_reset: expected a number of seconds, found {}", kind(other)))
        }
    }
    Ok(serve)
}

fn read_state(v: &Value) -> Result<StateConfig, String> {
    let m = as_mapping(v, "state")?;
    let mut state = StateConfig::default();
    match opt_string(m, "backend", "state")?.as_deref() {
        None | Some("file") => {}
        Some("redis") | Some("valkey") => state.backend = Backend::Redis,
        Some(other) => {
            return Err(format!(
                "state.backend: expected \"file\" or \"redis\", found \"{}\"",
                crate::text::one_line(other)
            ))
        }
    }
    state.url = opt_secret(m, "url", "state")?;
    if let Some(p) = opt_string(m, "prefix", "state")? {
        state.prefix = p;
    }
    match opt_string(m, "on_unavailable", "state")?.as_deref() {
        None | Some("local") => {}
        Some("fail") => state.on_unavailable = OnUnavailable::Fail,
        Some(other) => {
            return Err(format!(
                "state.on_unavailable: expected \"local\" or \"fail\", found \"{}\"",
                crate::text::one_line(other)
            ))
        }
    }
    match get(m, "share_oauth") {
        None => {}
        Some(Value::Bool(b)) => state.share_oauth = *b,
        Some(other) => return Err(format!("state.share_oauth: expected true or false, found {}", kind(other))),
    }
    for (key, slot) in
        [("connect_timeout_ms", &mut state.connect_timeout_ms), ("command_timeout_ms", &mut state.command_timeout_ms)]
    {
        match get(m, key) {
            None => {}
            Some(Value::Number(n)) if n.as_u64().is_some_and(|x| (1..=60_000).contains(&x)) => {
                *slot = n.as_u64().unwrap_or(*slot)
            }
            Some(other) => {
                return Err(format!("state.{key}: expected milliseconds from 1 to 60000, found {}", kind(other)))
            }
        }
    }
    Ok(state)
}

/// `fallback_providers` in every shape hermes-agent accepts: a list of steps; a single mapping
/// (one step); or a string holding such a list or mapping, as `hermes config set
/// fallback_providers '[...]'` of hermes-agent writes it.
fn read_fallbacks(v: &Value, path: &str, depth: u8) -> Result<(Vec<FallbackEntry>, Vec<String>), String> {
    match v {
        // Each step stands alone: one hermes cannot read is skipped with a warning.
        Value::Sequence(list) => {
            let (mut steps, mut skipped) = (Vec::new(), Vec::new());
            for (i, item) in list.iter().enumerate() {
                match read_fallback(item, &format!("{path}[{i}]")) {
                    Ok(step) => steps.push(step),
                    Err(problem) => skipped.push(format!("{problem}; that step is skipped")),
                }
            }
            Ok((steps, skipped))
        }
        Value::Mapping(_) => Ok((vec![read_fallback(v, path)?], Vec::new())),
        Value::String(text) if depth == 0 => match serde_yaml_ng::from_str::<Value>(text) {
            Ok(inner @ (Value::Sequence(_) | Value::Mapping(_))) => read_fallbacks(&inner, path, 1),
            _ => Err(format!("{path}: expected a list of steps, found a string that does not hold one")),
        },
        other => Err(format!("{path}: expected a list of steps, found {}", kind(other))),
    }
}

fn read_fallback(v: &Value, path: &str) -> Result<FallbackEntry, String> {
    // Some hand-written configs list bare provider names; keep them as a step without a model,
    // which the runtime skips with a warning, rather than refusing the whole file.
    if let Value::String(p) = v {
        return Ok(FallbackEntry { provider: Some(p.clone()), ..FallbackEntry::default() });
    }
    let m = as_mapping(v, path)?;
    Ok(FallbackEntry {
        provider: opt_string(m, "provider", path)?,
        model: opt_string(m, "model", path)?,
        base_url: opt_string(m, "base_url", path)?,
        api_key: opt_secret(m, "api_key", path)?,
        key_env: opt_string(m, "key_env", path)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bare_string_fallback_is_a_step_without_model() {
        let c = load_text("fallback_providers: [openrouter, nous]\n").unwrap();
        let fb = c.fallback_providers.unwrap();
        assert_eq!(fb.len(), 2);
        assert_eq!(fb[0].provider.as_deref(), Some("openrouter"));
        assert!(fb[0].model.is_none());
    }

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
        Config::load(dir.path())
    }

    fn problem(text: &str) -> String {
        match load_text(text) {
            Err(ConfigError::Invalid { problem, .. }) => problem,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn missing_file_is_empty_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.path, dir.path().join("config.yaml"));
        assert!(c.strategies.is_empty() && c.fallback_providers.is_none() && c.custom_providers.is_empty());
    }

    #[test]
    fn empty_comment_only_and_null_files_are_empty() {
        for text in ["", "\n", "# just a comment\n", "---\n", "~\n", "null\n"] {
            let c = load_text(text).unwrap();
            assert!(c.strategies.is_empty() && c.model.provider.is_none(), "{text:?}");
        }
    }

    #[test]
    fn reads_every_key() {
        let c = load_text(
            "# comment\nunrelated: [1, 2]\ncredential_pool_strategies:\n  openrouter: round_robin\n  \"custom:my-llm\": fill_first\n  anthropic:\nmodel:\n  provider: openrouter\n  default: anthropic/claude-sonnet-4\n  base_url: http://x/v1\n  api_key: sk-model-secret\nfallback_providers:\n  - provider: anthropic\n    model: claude-3\n  - model: only-model\n    key_env: MY_KEY\nfallback_model: {provider: nous, model: hermes}\ncustom_providers:\n  - name: My LLM\n    base_url: http://localhost:8000/v1\n    api_key: sk-custom\n",
        )
        .unwrap();
        assert_eq!(
            c.strategies,
            vec![
                ("openrouter".to_string(), "round_robin".to_string()),
                ("custom:my-llm".to_string(), "fill_first".to_string())
            ]
        );
        assert_eq!(c.model.provider.as_deref(), Some("openrouter"));
        assert_eq!(c.model.default.as_deref(), Some("anthropic/claude-sonnet-4"));
        assert_eq!(c.model.base_url.as_deref(), Some("http://x/v1"));
        assert_eq!(c.model.api_key.as_ref().map(Secret::expose), Some("sk-model-secret"));
        let fb = c.fallback_providers.as_ref().unwrap();
        assert_eq!(fb.len(), 2);
        assert_eq!(fb[0].provider.as_deref(), Some("anthropic"));
        assert_eq!(fb[1].provider, None);
        assert_eq!(fb[1].key_env.as_deref(), Some("MY_KEY"));
        assert_eq!(c.fallback_model.as_ref().unwrap().model.as_deref(), Some("hermes"));
        assert_eq!(c.custom_providers.len(), 1);
        assert_eq!(c.custom_providers[0].name, "My LLM");
        assert_eq!(
            c.custom_refs(),
            vec![crate::providers::CustomRef {
                name: "My LLM".to_string(),
                base_url: "http://localhost:8000/v1".to_string()
            }]
        );
    }

    #[test]
    fn strategies_keep_file_order() {
        let c = load_text("credential_pool_strategies:\n  zeta: a\n  alpha: b\n  mid: c\n").unwrap();
        let keys: Vec<&str> = c.strategies.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn model_as_plain_string_is_default() {
        let c = load_text("model: anthropic/claude-opus-4\n").unwrap();
        assert_eq!(c.model.default.as_deref(), Some("anthropic/claude-opus-4"));
        assert_eq!(c.model.provider, None);
    }

    #[test]
    fn merge_keys_are_applied() {
        let c = load_text("base: &b\n  provider: nous\nmodel:\n  <<: *b\n  default: m\n").unwrap();
        assert_eq!(c.model.provider.as_deref(), Some("nous"));
    }

    #[test]
    fn wrong_types_name_the_key_path() {
        let cases = [
            ("credential_pool_strategies: [a]\n", "credential_pool_strategies: expected a mapping, found a list"),
            (
                "credential_pool_strategies:\n  openrouter: 3\n",
                "credential_pool_strategies.openrouter: expected a string, found a number",
            ),
            (
                "credential_pool_strategies:\n  1: x\n",
                "credential_pool_strategies: expected string keys, found a number",
            ),
            ("model: [a]\n", "model: expected a mapping or a string, found a list"),
            ("model:\n  provider: {a: b}\n", "model.provider: expected a string, found a mapping"),
            ("model:\n  api_key: 12345\n", "model.api_key: expected a string, found a number"),
            ("custom_providers: x\n", "custom_providers: expected a list, found a string"),
            ("custom_providers:\n  - base_url: http://x\n", "custom_providers[0]: missing name"),
            ("custom_providers:\n  - name: '  '\n    base_url: http://x\n", "custom_providers[0]: missing name"),
            ("custom_providers:\n  - name: a\n", "custom_providers[0]: missing base_url"),
            (
                "custom_providers:\n  - name: a\n    base_url: [x]\n",
                "custom_providers[0].base_url: expected a string, found a list",
            ),
            ("- a\n- b\n", "expected a mapping at the top level, found a list"),
            ("just text\n", "expected a mapping at the top level, found a string"),
        ];
        for (text, want) in cases {
            assert_eq!(problem(text), want, "{text:?}");
        }
    }

    #[test]
    fn fallback_chains_in_every_shape_hermes_agent_accepts() {
        // One mapping is one step.
        let c = load_text("fallback_providers: {provider: anthropic, model: claude-sonnet-4}\n").unwrap();
        let fb = c.fallback_providers.unwrap();
        assert_eq!(fb.len(), 1);
        assert_eq!((fb[0].provider.as_deref(), fb[0].model.as_deref()), (Some("anthropic"), Some("claude-sonnet-4")));
        assert!(c.warnings.is_empty());
        // A string holding a list (hermes-agent's `config set` writes JSON text).
        let c = load_text(
            "fallback_providers: '[{\"provider\": \"openrouter\", \"model\": \"m1\"}, {\"provider\": \"nous\", \"model\": \"m2\"}]'\n",
        )
        .unwrap();
        let fb = c.fallback_providers.unwrap();
        assert_eq!(fb.iter().map(|f| f.provider.clone().unwrap()).collect::<Vec<_>>(), ["openrouter", "nous"]);
        // Anything else is warned about and ignored; the file still loads.
        for (text, want) in [
            ("fallback_providers: just-a-name\n", "fallback_providers: expected a list of steps, found a string"),
            ("fallback_providers: 3\n", "fallback_providers: expected a list of steps, found a number"),
            ("fallback_providers:\n  - [a]\n", "fallback_providers[0]: expected a mapping, found a list"),
            (
                "fallback_providers:\n  - provider: a\n    model: b\n  - model: {x: y}\n",
                "fallback_providers[1].model: expected a string, found a mapping",
            ),
            ("fallback_model: [a]\n", "fallback_model: expected a mapping, found a list"),
            ("fallback_model:\n  key_env: true\n", "fallback_model.key_env: expected a string, found a boolean"),
        ] {
            let c = load_text(text).unwrap();
            assert!(c.fallback_providers.as_ref().is_none_or(|f| f.len() <= 1), "{text:?}");
            assert!(c.fallback_model.is_none(), "{text:?}");
            assert_eq!(c.warnings.len(), 1, "{text:?}");
            assert!(c.warnings[0].starts_with(want), "{text:?}: {}", c.warnings[0]);
        }
        // A bad step is skipped alone; the good one stays.
        let c = load_text("fallback_providers:\n  - provider: a\n    model: b\n  - model: {x: y}\n").unwrap();
        assert_eq!(c.fallback_providers.unwrap().len(), 1);
        // An unreadable chain does not hand over to the legacy fallback_model.
        let c = load_text("fallback_providers: 3\nfallback_model: {provider: nous, model: m}\n").unwrap();
        assert!(c.fallback_providers.is_none() && c.fallback_model.is_none());
    }

    #[test]
    fn nulls_count_as_absent() {
        let c = load_text(
            "credential_pool_strategies:\nmodel:\nfallback_providers:\nfallback_model: ~\ncustom_providers: null\n",
        )
        .unwrap();
        assert!(c.strategies.is_empty() && c.fallback_providers.is_none() && c.fallback_model.is_none());
        let c = load_text("fallback_providers: []\n").unwrap();
        assert_eq!(c.fallback_providers.map(|v| v.len()), Some(0));
    }

    #[test]
    fn unrelated_keys_of_any_type_are_ignored() {
        let c = load_text("agent: [1, {x: y}]\nterminal: 5\ndisplay: {skin: dark}\n").unwrap();
        assert!(c.strategies.is_empty());
    }

    #[test]
    fn invalid_yaml_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "model:\n  provider: a\n bad: [\n").unwrap();
        let err = Config::load(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{}: invalid YAML at line ", dir.path().join(CONFIG_FILE).display())),
            "{msg}"
        );
        assert!(msg.contains(" column "), "{msg}");
    }

    #[test]
    fn duplicate_keys_are_invalid() {
        assert!(problem("model: a\nmodel: b\n").starts_with("invalid YAML"));
    }

    #[test]
    fn errors_never_echo_a_secret() {
        for text in [
            "model:\n  api_key: !!int sk-secret-value-123\n",
            "model:\n  api_key: !!bool sk-secret-value-123\n",
            "custom_providers:\n  - api_key: sk-secret-value-123\n",
            "model: {api_key: sk-secret-value-123, provider: [x]}\n",
            "fallback_model: {api_key: sk-secret-value-123\n",
        ] {
            let msg = load_text(text).unwrap_err().to_string();
            assert!(!msg.contains("sk-secret"), "{msg}");
        }
    }

    #[test]
    fn unreadable_and_non_utf8_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::create_dir(&path).unwrap();
        let err = Config::load(dir.path()).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }));
        assert!(err.to_string().contains("config.yaml"));
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, b"model: \xff\xfe\n").unwrap();
        let err = Config::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("config.yaml: not valid UTF-8"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = load_text("model:\n  api_key: sk-debug-secret\n").unwrap();
        assert!(!format!("{c:?}").contains("sk-debug-secret"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(CONFIG_FILE), &bytes).unwrap();
            if let Err(e) = Config::load(dir.path()) {
                prop_assert!(e.to_string().contains("config.yaml"), "{}", e);
            }
        }

        #[test]
        fn yaml_like_text_never_panics(text in "([a-z_:\\-\\[\\]{}, #&*!|>'\"\n]|  |model|provider|fallback_providers|custom_providers|credential_pool_strategies|name|base_url){0,60}") {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(CONFIG_FILE), &text).unwrap();
            if let Err(e) = Config::load(dir.path()) {
                prop_assert!(e.to_string().contains("config.yaml"), "{}", e);
            }
        }
    }
}
