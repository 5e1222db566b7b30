//! Crossing between the blocking CLI and the async OAuth code, both ways.

use crate::error::{Error, Result};
use std::future::Future;

/// Run `f` to completion on a fresh single-threaded tokio runtime: the blocking CLI's way into
/// the async OAuth code.
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::System { what: "cannot start the async runtime", detail: e.to_string() })?;
    Ok(rt.block_on(f))
}

/// Run blocking store I/O from async code. On a multi-threaded runtime (the request runtime) the
/// worker hands its other tasks off first; elsewhere the call simply runs inline. Never used
/// around HTTP: the store lock is only held inside `f`.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
