//! The parsed auth.json document: an ordered JSON tree plus typed accessors.
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct AuthDoc {
    root: Map<String, Value>,
}

impl AuthDoc {
    pub fn empty() -> AuthDoc {
        AuthDoc { root: Map::new() }
    }
    pub fn root(&self) -> &Map<String, Value> {
        &self.root
    }
    pub fn root_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.root
    }
}
