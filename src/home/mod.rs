//! A hermes home opened for one command or one runtime: the store, config.yaml, `.env` and
//! the seeding sources, plus the warnings found while reading them. Every front end (CLI,
//! wizard, runtime) goes through this type, so they all see the same pools.

pub mod sources;

use crate::config::dotenv::DotEnv;
use crate::config::Config;
use crate::context::{Context, Epoch};
use crate::error::{Error, Result};
use crate::pool::candidate::Candidate;
use crate::pool::strategy::Strategy;
use crate::pool::view::PoolView;
use crate::providers::{self, Provider, Resolved};
use crate::secret::{Redactor, Secret};
use crate::store::state::PoolState;
use crate::store::{AuthDoc, Store};
use crate::vars;
use serde_json::Value;
use sources::Sources;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A pool key with what the registry or config.yaml says about it.
#[derive(Debug, Clone)]
pub struct PoolRef {
    pub key: String,
    pub provider: Option<&'static Provider>,
    /// For `custom:*`: the configured name and base URL, when configured.
    pub custom: Option<(String, String)>,
}

impl PoolRef {
    pub fn display(&self) -> &str {
        &self.key
    }
}

#[derive(Debug)]
pub struct Home {
    pub dir: PathBuf,
    /// Where the pools live: the file store of `dir` unless the home was opened over another
    /// [`PoolState`] ([`Home::with_state`]).
    state: Arc<dyn PoolState>,
    pub sources: Sources,
    warnings: Mutex<Vec<String>>,
    /// The home's event log (docs/guide.md#history).
    events: crate::store::events::EventLog,
    /// The pool key each `credential_pool_strategies` entry resolves to, in file order: worked
    /// out once (config.yaml is read once per home), not on every pick.
    strategy_keys: std::sync::OnceLock<Vec<String>>,
}

fn ctx_cap(ctx: &Context) -> Option<u64> {
    ctx.var(vars::TEST_EVENTS_CAP).and_then(|v| v.parse().ok())
}

/// The pools' state as config.yaml's `state:` says: auth.json alone, or auth.json with the
/// fleet's shared state on a Redis server (docs/fleet.md).
fn open_state(ctx: &Context, config: &Config, store: Store) -> Result<Arc<dyn PoolState>> {
    use crate::config::{Backend, ConfigError};
    let cfg = &config.state;
    if cfg.backend == Backend::File {
        return Ok(Arc::new(store));
    }
    let invalid = |problem: String| Error::Config(ConfigError::Invalid { path: config.path.clone(), problem });
    let url = match ctx.var(vars::STATE_URL) {
        Some(u) => u.to_string(),
        None => match &cfg.url {
            Some(u) => u.expose().to_string(),
            None => {
                return Err(invalid(format!(
                    "state.url: required with state.backend: redis (or set {})",
                    vars::STATE_URL
                )))
            }
        },
    };
    let fleet =
        crate::store::fleet::FleetState::new(store, cfg, &url, ctx.var(vars::STATE_PASSWORD), ctx.clock.clone())
            .map_err(|problem| match ctx.var(vars::STATE_URL) {
                Some(_) => Error::Usage(problem.replacen("state.url", vars::STATE_URL, 1)),
                None => invalid(problem),
            })?;
    Ok(Arc::new(fleet))
}

impl Home {
    /// Open the home of `ctx`: read config.yaml and `.env` (errors name the file).
    pub fn open(ctx: Context) -> Result<Home> {
        let dir = ctx.hermes_home().ok_or(Error::NoHome)?;
        let config = Config::load(&dir)?;
        let dotenv = DotEnv::load(&dir.join(".env"))?;
        let mut warnings = dotenv.warnings.clone();
        warnings.extend(config.warnings.iter().map(|w| format!("warning: {}: {w}", config.path.display())));
        warnings.extend(providers::duplicate_slug_warnings(&config.custom_refs()));
        let mut store = Store::new(dir.clone()).with_user_home(ctx.user_home());
        if let Some(secs) = ctx.var(vars::TEST_LOCK_TIMEOUT).and_then(|v| v.parse::<f64>().ok()) {
            store = store.with_lock_timeout(Duration::from_secs_f64(secs));
        }
        warnings.extend(store.mode_warnings());
        let state = open_state(&ctx, &config, store)?;
        let sources = Sources::new(ctx, dotenv, config);
        warnings.extend(sources.key_var_warnings(&dir.join(".env")));
        let mut events = crate::store::events::EventLog::new(dir.clone());
        if let Some(cap) = ctx_cap(&sources.ctx) {
            events = events.with_cap(cap);
        }
        Ok(Home { dir, state, sources, warnings: Mutex::new(warnings), events, strategy_keys: Default::default() })
    }

    /// Open the home of `ctx` (config.yaml, `.env`, the seeding sources) with its pools in
    /// `state` instead of auth.json: an in-memory state for tests and embedding programs, a
    /// shared backend, or a layer over the file store.
    pub fn with_state(ctx: Context, state: Arc<dyn PoolState>) -> Result<Home> {
        let mut home = Home::open(ctx)?;
        home.state = state;
        Ok(home)
    }

    /// The home's event log.
    pub fn events(&self) -> &crate::store::events::EventLog {
        &self.events
    }

    /// Append events to the log. The log is a record, not the state: a failure to write it is a
    /// warning and the command goes on.
    pub fn record(&self, events: Vec<Value>) {
        if let Err(e) = self.events.append(&events) {
            self.warn(format!("warning: {}: cannot write the event log ({e})", self.events.path().display()));
        }
    }

    /// Where the pools live: every read and transaction goes through this.
    pub fn state(&self) -> &dyn PoolState {
        self.state.as_ref()
    }

    /// The state as a shareable handle.
    pub fn state_handle(&self) -> Arc<dyn PoolState> {
        self.state.clone()
    }

    /// The file store, when the pools live in auth.json (maintenance: `auth repair`).
    pub fn file_store(&self) -> Option<&Store> {
        self.state.as_file()
    }

    pub fn ctx(&self) -> &Context {
        &self.sources.ctx
    }

    pub fn config(&self) -> &Config {
        &self.sources.config
    }

    pub fn now(&self) -> Epoch {
        self.sources.ctx.now()
    }

    /// Record a warning for the front end to print on stderr (each once).
    pub fn warn(&self, w: impl Into<String>) {
        let w = w.into();
        let mut list = self.warnings.lock().expect("warnings poisoned");
        if !list.contains(&w) {
            list.push(w);
        }
    }

    /// Warnings recorded so far, removed from the list.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().expect("warnings poisoned"))
    }

    /// Normalise a provider argument (docs/design.md#normalising-provider-input).
    pub fn resolve(&self, input: &str) -> Result<Resolved> {
        Ok(providers::resolve(input, &self.sources.customs())?)
    }

    /// Resolve to a managed pool: unmanaged providers are refused with exit 2.
    pub fn pool(&self, input: &str) -> Result<PoolRef> {
        match self.resolve(input)? {
            Resolved::Registry(p) => Ok(PoolRef { key: p.id.to_string(), provider: Some(p), custom: None }),
            Resolved::Custom { key, name, base_url } => {
                let custom = name.zip(base_url);
                Ok(PoolRef { key, provider: None, custom })
            }
            Resolved::Unmanaged(id) => Err(Error::Usage(format!("{id} is not supported by hermes; use hermes-agent"))),
        }
    }

    /// The pool key for a stored key string, without refusing unmanaged ones (for `list`).
    pub fn pool_ref_for_key(&self, key: &str) -> PoolRef {
        match providers::resolve(key, &self.sources.customs()) {
            Ok(Resolved::Registry(p)) => PoolRef { key: key.to_string(), provider: Some(p), custom: None },
            Ok(Resolved::Custom { name, base_url, .. }) => {
                PoolRef { key: key.to_string(), provider: None, custom: name.zip(base_url) }
            }
            _ => PoolRef { key: key.to_string(), provider: None, custom: None },
        }
    }

    /// The pool's strategy from `credential_pool_strategies`; an invalid value warns and means
    /// fill_first.
    pub fn strategy(&self, key: &str) -> Strategy {
        match self.strategy_entry(key) {
            None => Strategy::default(),
            Some((k, v)) => Strategy::parse(v.trim()).unwrap_or_else(|| {
                self.warn(format!(
                    "warning: config.yaml credential_pool_strategies.{k} = \"{v}\" is not a strategy; using fill_first"
                ));
                Strategy::FillFirst
            }),
        }
    }

    /// The `credential_pool_strategies` entry (key as written, value) that applies to pool `key`:
    /// the last one whose key resolves to it.
    pub fn strategy_entry(&self, key: &str) -> Option<&(String, String)> {
        let resolved = self.resolved_strategy_keys();
        self.config().strategies.iter().zip(resolved).rev().find(|(_, k)| *k == key).map(|(pair, _)| pair)
    }

    /// The pool keys `credential_pool_strategies` names, in file order, without repeats.
    pub fn strategy_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for k in self.resolved_strategy_keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        keys
    }

    fn resolved_strategy_keys(&self) -> &[String] {
        self.strategy_keys.get_or_init(|| {
            let customs = self.sources.customs();
            self.config()
                .strategies
                .iter()
                .map(|(written, _)| {
                    providers::resolve(written, &customs).map_or_else(|_| written.trim().to_lowercase(), |r| r.key())
                })
                .collect()
        })
    }

    pub fn candidates(&self, doc: &AuthDoc, key: &str) -> Vec<Candidate> {
        self.sources.candidates(doc, key)
    }

    /// The view of one pool over `doc`.
    ///
    /// Stored provider text is shown sanitised against every secret of the home (see
    /// [`PoolView::clean_provider_text`]); the stored objects are not touched.
    pub fn view(&self, doc: &AuthDoc, key: &str, now: Epoch) -> PoolView {
        let mut view = PoolView::build(doc, key, &self.candidates(doc, key), self.strategy(key), now);
        if view.has_provider_text() {
            view.clean_provider_text(&self.redactor(doc), now);
        }
        view
    }

    /// [`Home::view`] for a transaction that puts the pool back with [`PoolView::put_back`]:
    /// the entries are moved out of `doc` rather than copied (the gateway's hot path).
    pub fn view_taking(&self, doc: &mut AuthDoc, key: &str, now: Epoch) -> PoolView {
        let candidates = self.candidates(doc, key);
        let text = |e: &Value| {
            ["last_error_reason", "last_error_message"].iter().any(|k| e.get(k).is_some_and(|t| !t.is_null()))
        };
        let known = doc.pool(key).iter().any(text).then(|| self.redactor(doc));
        let mut view = PoolView::build_taking(doc, key, &candidates, self.strategy(key), now);
        if let Some(r) = known.filter(|_| view.has_provider_text()) {
            view.clean_provider_text(&r, now);
        }
        view
    }

    /// Every pool with stored or seeded entries, sorted by key.
    pub fn pool_keys(&self, doc: &AuthDoc) -> Vec<String> {
        let mut keys = doc.pool_keys();
        for k in self.sources.seeded_pool_keys(doc) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.sort();
        keys
    }

    /// Every secret this home knows, for masking untrusted text: the tokens stored in `doc`
    /// (every pool and provider state), every provider variable of the environment and `.env`,
    /// other `.env` values named like secrets, and the keys in config.yaml (custom providers,
    /// `model`, fallbacks).
    pub fn redactor(&self, doc: &AuthDoc) -> Redactor {
        let mut r = Redactor::new();
        collect_map_secrets(doc.root(), &mut r);
        let src = &self.sources;
        for p in providers::all() {
            for var in p.env {
                if let Some(v) = src.var(var) {
                    r.add(&v);
                }
            }
        }
        for (name, value) in &src.dotenv.vars {
            if secret_like_name(name) {
                r.add(value);
            }
        }
        let config = self.config();
        let keys = config
            .custom_providers
            .iter()
            .filter_map(|c| c.api_key.as_ref())
            .chain(config.model.api_key.as_ref())
            .chain(config.fallback_providers.iter().flatten().filter_map(|f| f.api_key.as_ref()))
            .chain(config.fallback_model.as_ref().and_then(|f| f.api_key.as_ref()));
        let serve = &config.serve;
        for k in keys.chain(serve.api_key.as_ref()).chain(serve.clients.iter().map(|(_, k)| k)) {
            r.add_secret(k);
        }
        for f in config.fallback_providers.iter().flatten().chain(config.fallback_model.as_ref()) {
            if let Some(v) = f.key_env.as_deref().and_then(|name| src.var(name)) {
                r.add(&v);
            }
        }
        if let Some(c) = src.claude() {
            r.add_secret(&c.access_token);
            if let Some(t) = &c.refresh_token {
                r.add_secret(t);
            }
        }
        r
    }

    /// [`Home::redactor`] over a fresh read of the store (an unreadable store adds nothing: the
    /// other sources are still masked).
    pub fn redactor_now(&self) -> Redactor {
        let doc = self.state.read().unwrap_or_else(|_| AuthDoc::empty());
        self.redactor(&doc)
    }

    /// The base URL a new manual entry gets: URL var, else default, else the custom base URL.
    /// Where an entry's requests go: its own base URL, else the provider's for its secret.
    pub fn base_url_of(&self, pool: &PoolRef, v: &crate::pool::view::ViewEntry) -> Option<String> {
        v.entry
            .base_url
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| self.default_base_url(pool, v.secret.as_ref().map(Secret::expose)))
    }

    pub fn default_base_url(&self, pool: &PoolRef, key: Option<&str>) -> Option<String> {
        if let Some(p) = pool.provider {
            return self.sources.base_url(p, key);
        }
        pool.custom.as_ref().map(|(_, url)| url.trim().trim_end_matches('/').to_string())
    }
}

/// A variable name that holds a secret by convention (`OPENAI_API_KEY`, `HF_TOKEN`,
/// `DB_PASSWORD`; not `MAX_TOKENS`).
fn secret_like_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD"].iter().any(|w| n == *w || n.ends_with(&format!("_{w}")))
}

/// The entry and provider-state fields that hold a secret.
const SECRET_FIELDS: [&str; 5] = ["access_token", "refresh_token", "agent_key", "api_key", "id_token"];

/// Every string stored under a secret field, anywhere in the document.
fn collect_map_secrets(m: &serde_json::Map<String, Value>, r: &mut Redactor) {
    for (k, v) in m {
        match v {
            Value::String(s) if SECRET_FIELDS.contains(&k.as_str()) => r.add(s),
            _ => collect_value_secrets(v, r),
        }
    }
}

fn collect_value_secrets(v: &Value, r: &mut Redactor) {
    match v {
        Value::Object(m) => collect_map_secrets(m, r),
        Value::Array(a) => a.iter().for_each(|v| collect_value_secrets(v, r)),
        _ => {}
    }
}
