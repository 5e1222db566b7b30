//! config.yaml: typed reads of the keys hermes uses (§11.1), and `.env` (§1).
//! `edit` changes one key while keeping every other byte.

pub mod dotenv;
pub mod edit;

use crate::secret::Secret;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `<file>: <problem>`
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("could not edit config.yaml safely")]
    UnsafeEdit,
}

#[derive(Debug, Clone, Default)]
pub struct ModelConfig {
    pub provider: Option<String>,
    pub default: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
}

#[derive(Debug, Clone, Default)]
pub struct FallbackEntry {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub key_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CustomProvider {
    pub name: String,
    pub base_url: String,
    pub api_key: Option<Secret>,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: PathBuf,
    /// `credential_pool_strategies`, raw keys and values in file order.
    pub strategies: Vec<(String, String)>,
    pub model: ModelConfig,
    pub fallback_providers: Option<Vec<FallbackEntry>>,
    pub fallback_model: Option<FallbackEntry>,
    pub custom_providers: Vec<CustomProvider>,
}

impl Config {
    /// `<home>/config.yaml`; missing = empty config.
    pub fn load(home: &Path) -> Result<Config, ConfigError> {
        let _ = home;
        todo!()
    }
}
