//! The request runtime (docs/design.md#recovery, docs/design.md#fallback, docs/design.md#recovery, 3, 9, 17, 20): a request goes to the primary
//! provider's pool, recovers from failures by the evidence, and falls back along the chain only
//! when the pool has no room left.
//!
//! * [`classify`]: what an answer means (pure).
//! * [`policy`]: what to do next (pure, table-tested).
//! * [`chain`]: the primary and the fallbacks from config.yaml; the `PROVIDER:MODEL` parser.
//! * [`client`]: the [`Transport`] seam, the reqwest transport and the two wire formats.
//! * [`refresh`]: the [`Refresher`] seam for OAuth refresh.
//! * [`engine`]: the [`Runtime`] that performs the decisions (picks, marks, sleeps, sends).
//! * [`explain`] and [`simulate`]: the read-only `auth explain` and the in-memory
//!   `auth simulate`.
//!
//! Embedding: build one [`Runtime`] over an `Arc<Home>` and share it between tasks.
//!
//! ```no_run
//! # async fn demo() -> hermes::error::Result<()> {
//! use hermes::runtime::{ChatRequest, Runtime};
//! use std::sync::Arc;
//! let home = Arc::new(hermes::home::Home::open(hermes::context::Context::from_process())?);
//! let runtime = Arc::new(Runtime::new(home)?);
//! let chain = runtime.chain(Some("openrouter"), Some("anthropic/claude-sonnet-4"))?;
//! match runtime.complete(&chain, &ChatRequest::user("hello")).await {
//!     Ok(reply) => println!("{}", reply.text.unwrap_or_default()),
//!     Err(failure) => eprintln!("error: {}", failure.error),
//! }
//! # Ok(())
//! # }
//! ```

pub mod chain;
pub mod check;
pub mod classify;
pub mod client;
pub mod engine;
pub mod explain;
pub mod policy;
pub mod refresh;
pub mod simulate;
pub mod sse;

pub use chain::{parse_fallback_spec, Chain, FallbackSpec, Step};
pub use classify::{Class, Classified, HttpResponse, TransportError, TransportErrorKind};
pub use client::{
    ChatRequest, HttpTransport, Message, RawBody, RawRequest, ScriptedTransport, StreamSlot, Streamed, Target,
    Transport,
};
pub use engine::{Attempt, Failure, Reply, RequestLog, Runtime};
pub use refresh::{BoxFuture, NoRefresh, OAuthRefresher, RefreshOutcome, RefreshWhy, Refresher};
