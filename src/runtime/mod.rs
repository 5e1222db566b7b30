//! The request runtime (§9, §11.2, rulings 2, 3, 9, 17, 20): a request goes to the primary
//! provider's pool, recovers from failures by the evidence, and falls back along the chain only
//! when the pool has no room left.
//!
//! * [`classify`]: what an answer means (pure).
//! * [`policy`]: what to do next (pure, table-tested).
//! * [`refresh`]: the [`Refresher`] seam for OAuth refresh.

pub mod classify;
pub mod policy;
pub mod refresh;

pub use classify::{Class, Classified, HttpResponse, TransportError, TransportErrorKind};
pub use refresh::{BoxFuture, NoRefresh, RefreshResult, Refresher};
