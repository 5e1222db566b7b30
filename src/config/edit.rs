//! Lossless edits of config.yaml (§11.3).
