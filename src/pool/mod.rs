//! Credential pools: entries, their status, cooldown marks, strategies, seeding and the view.
//!
//! Decisions (`status`, `cooldown`, `strategy`, `hints`) are pure functions of (state, now,
//! input). `seed` and `view` assemble what the commands see; they never touch the file.

pub mod cooldown;
pub mod entry;
pub mod hints;
pub mod seed;
pub mod status;
pub mod strategy;
pub mod view;
