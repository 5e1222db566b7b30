//! Credential pools: status, cooldown marks, strategies, reset hints and the view.
//!
//! Everything here is a pure function of (state, now, input): no file, no environment, no
//! clock. `candidate` is the data seeding produces ([`crate::home::sources`] does the reading);
//! `view` assembles what the commands see from the document and the candidates.

pub mod candidate;
pub mod cooldown;
pub mod expiry;
pub mod headroom;
pub mod hints;
pub mod scoped;
pub mod status;
pub mod strategy;
pub mod usage;
pub mod view;
