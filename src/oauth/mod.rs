//! OAuth flows (one file per provider) and the single-flight refresh.

pub mod jwt;
