//! The status model (§7.1): computed on every view from an entry and now.
use crate::context::Epoch;
use crate::pool::entry::Entry;

/// What the view knows besides the stored entry.
#[derive(Debug, Clone, Default)]
pub struct StatusInput {
    /// Borrowed entry with no usable live value: the `source missing: …` detail.
    pub source_missing: Option<String>,
    /// OAuth access-token expiry, when known.
    pub expires_at: Option<Epoch>,
    /// Seconds before expiry at which the entry needs refresh (120 s skew; 60 s for read-only).
    pub margin: f64,
    /// Whether hermes may refresh this entry.
    pub refreshable: bool,
    /// The hint shown for a non-refreshable entry that needs refresh.
    pub refresh_hint: Option<String>,
    /// Forces needs-refresh regardless of expiry (e.g. a Nous token that is not a runtime key).
    pub force_needs_refresh: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Ok,
    Cooling { class: &'static str, reason: Option<String>, code: Option<i64>, until: Epoch },
    Dead { reason: Option<String>, code: Option<i64> },
    SourceMissing { detail: String },
    NeedsRefresh { refreshable: bool, hint: Option<String> },
}

pub fn compute(entry: &Entry, input: &StatusInput, now: Epoch) -> Status {
    let _ = (entry, input, now);
    todo!()
}
