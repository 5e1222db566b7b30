//! The seam between the runtime and OAuth refresh (docs/design.md#oauth-refresh).
//!
//! The runtime asks a [`Refresher`] to refresh an entry when a pick returns one that needs it, and
//! once after a 401 on a refreshable OAuth entry. The single-flight refresh itself (grant lock,
//! adoption, token endpoint, write-back) lives in [`crate::oauth`]; it plugs in here. Until then,
//! [`NoRefresh`] answers [`RefreshOutcome::NotRefreshable`] and the runtime handles the entry as a
//! static token.

use crate::home::{Home, PoolRef};
use crate::secret::Secret;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future (the crate has no `futures` dependency).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a refresh ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The entry now holds this access token (already written to the store by the refresher).
    Refreshed(Secret),
    /// A terminal reason (`invalid_grant`, `refresh_token_reused`, …): the entry is dead. The
    /// runtime marks it dead with this reason; a refresher that already did is not harmed
    /// (a dead entry is never re-marked).
    Terminal(String),
    /// Network, 5xx, token endpoint 429 or grant-lock timeout (docs/design.md#oauth-refresh): nothing is marked.
    Transient(String),
    /// hermes may not refresh this entry (another tool's token, or no refresher configured).
    NotRefreshable,
}

/// Why the runtime asks for a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshWhy {
    /// The pick returned an entry whose token is at or near expiry (docs/design.md#strategies): a refresher may adopt
    /// a token another process already refreshed, or one still valid beyond the skew.
    Expiring,
    /// The provider answered 401 to the current token (docs/design.md#recovery): refresh even though the token looks
    /// valid (a forced refresh); adopting the same token again would only repeat the 401.
    Rejected,
}

/// Refreshes one pool entry. Implementations must never hold the store lock during HTTP.
pub trait Refresher: Send + Sync {
    /// Refresh entry `id` of `pool`.
    fn refresh<'a>(
        &'a self,
        home: &'a Home,
        pool: &'a PoolRef,
        id: &'a str,
        why: RefreshWhy,
    ) -> BoxFuture<'a, RefreshOutcome>;
}

/// The default refresher: refreshes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRefresh;

impl Refresher for NoRefresh {
    fn refresh<'a>(
        &'a self,
        _home: &'a Home,
        _pool: &'a PoolRef,
        _id: &'a str,
        _why: RefreshWhy,
    ) -> BoxFuture<'a, RefreshOutcome> {
        Box::pin(std::future::ready(RefreshOutcome::NotRefreshable))
    }
}

/// The real refresher: hermes's single-flight OAuth refresh ([`crate::oauth::refresh_entry`]).
/// After a 401 the refresh is forced, so the token the provider just rejected is not adopted
/// again.
#[derive(Debug, Clone, Copy, Default)]
pub struct OAuthRefresher;

impl Refresher for OAuthRefresher {
    fn refresh<'a>(
        &'a self,
        home: &'a Home,
        pool: &'a PoolRef,
        id: &'a str,
        why: RefreshWhy,
    ) -> BoxFuture<'a, RefreshOutcome> {
        use crate::oauth::refresh::RefreshResult as R;
        Box::pin(async move {
            match crate::oauth::refresh::refresh_entry(home, pool, id, why == RefreshWhy::Rejected).await {
                Ok(R::Refreshed(f)) | Ok(R::Adopted(f)) => RefreshOutcome::Refreshed(f.secret),
                Ok(R::Terminal { reason, .. }) => RefreshOutcome::Terminal(reason),
                Ok(R::Transient { reason }) => RefreshOutcome::Transient(reason),
                Ok(R::NotRefreshable { .. }) => RefreshOutcome::NotRefreshable,
                Err(e) => RefreshOutcome::Transient(e.to_string()),
            }
        })
    }
}
