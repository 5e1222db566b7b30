//! Time formatting and parsing shared by the store, `list` and the error messages.

use crate::context::Epoch;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// `2026-07-01T09:00:00Z` (whole seconds, `Z`).
pub fn iso_z(t: Epoch) -> String {
    to_datetime(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2026-07-01T09:00:00.123456+00:00`, the `updated_at` format.
pub fn iso_micros(t: Epoch) -> String {
    to_datetime(t).to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// `20260701T090000Z`, the suffix of a moved-aside store.
pub fn compact_stamp(t: Epoch) -> String {
    to_datetime(t).format("%Y%m%dT%H%M%SZ").to_string()
}

pub fn to_datetime(t: Epoch) -> DateTime<Utc> {
    let secs = t.floor();
    let nanos = ((t - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    Utc.timestamp_opt(secs as i64, nanos).single().unwrap_or_else(|| Utc.timestamp_opt(0, 0).unwrap())
}

/// Parse an RFC 3339 / ISO 8601 timestamp (a missing offset is read as UTC).
pub fn parse_iso(s: &str) -> Option<Epoch> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9);
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            let dt = n.and_utc();
            return Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9);
        }
    }
    // `2026-07-01 09:00:00+00:00` (space separator with offset)
    if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9);
    }
    None
}

/// Parse an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`).
pub fn parse_http_date(s: &str) -> Option<Epoch> {
    DateTime::parse_from_rfc2822(s.trim()).ok().map(|dt| dt.timestamp() as f64)
}

/// A wait as `list` shows it: the ceiling in seconds; the largest non-zero unit of d/h/m/s and
/// the next smaller one even if zero (`59m 30s`, `7d 0h`); below a minute, seconds only.
pub fn format_wait(secs: f64) -> String {
    let total = if secs <= 0.0 { 0 } else { secs.ceil() as u64 };
    let (d, h, m, s) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits() {
        for (secs, want) in [
            (12.0, "12s"),
            (11.2, "12s"),
            (0.0, "0s"),
            (60.0, "1m 0s"),
            (3570.0, "59m 30s"),
            (3600.0, "1h 0m"),
            (4.0 * 3600.0 + 300.0, "4h 5m"),
            (7.0 * 86400.0, "7d 0h"),
            (1800.0, "30m 0s"),
        ] {
            assert_eq!(format_wait(secs), want, "{secs}");
        }
    }

    #[test]
    fn iso_round_trip() {
        assert_eq!(iso_z(1751360000.0), "2025-07-01T08:53:20Z");
        assert_eq!(parse_iso("2025-07-01T08:53:20Z"), Some(1751360000.0));
        assert_eq!(parse_iso("2025-07-01T08:53:20+00:00"), Some(1751360000.0));
        assert_eq!(iso_micros(1751360000.5), "2025-07-01T08:53:20.500000+00:00");
        assert_eq!(compact_stamp(1751360000.0), "20250701T085320Z");
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(1445412480.0));
    }
}
