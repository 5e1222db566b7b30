//! Benches scoped to one model (docs/recovery.md#model-benches): evidence that names a model (a
//! per-model rate limit, "model … is overloaded", a 404 for an unknown model) benches the entry
//! for that model only, in its `model_benches` field (`{"<model>": {"until": …, "code": 429,
//! "reason": …, "at": …}}`); picks for other models still use it. hermes-agent does not read the
//! field and keeps it. Pure functions of (answer, entry, now).

use crate::context::Epoch;
use serde_json::{json, Map, Value};

/// The entry field.
pub const FIELD: &str = "model_benches";
/// A model-scoped 429 without a reset hint benches the model for this long.
pub const RATE_LIMIT_SECS: f64 = 60.0;
/// A 404 for an unknown model benches it for this long.
pub const NOT_FOUND_SECS: f64 = 3600.0;

/// Whether an error answer is about one model rather than the key.
pub fn is_model_scoped(code: u16, reason: Option<&str>, message: Option<&str>) -> bool {
    let text = format!("{} {}", reason.unwrap_or(""), message.unwrap_or("")).to_lowercase();
    match code {
        429 | 503 | 529 => {
            ["per model", "per-model", "for model", "model_rate_limit", "model rate limit", "model_overloaded"]
                .iter()
                .any(|p| text.contains(p))
                || (text.contains("model") && text.contains("overloaded"))
        }
        404 => {
            text.contains("model_not_found")
                || (text.contains("model")
                    && ["not found", "does not exist", "not exist", "unknown model", "no such model"]
                        .iter()
                        .any(|p| text.contains(p)))
        }
        _ => false,
    }
}

/// Until when `model` is benched on this entry (`None`: usable for it).
pub fn benched_until(m: &Map<String, Value>, model: &str, now: Epoch) -> Option<Epoch> {
    m.get(FIELD)?.get(model)?.get("until")?.as_f64().filter(|t| *t > now)
}

/// The code of a running bench of `model` on this entry (0 when it has none).
pub fn benched(m: &Map<String, Value>, model: &str, now: Epoch) -> Option<i64> {
    benched_until(m, model, now)?;
    Some(m.get(FIELD)?.get(model)?.get("code").and_then(Value::as_i64).unwrap_or(0))
}

/// Lift the bench of `model` (a good answer for it). Whether the entry changed.
pub fn lift(m: &mut Map<String, Value>, model: &str) -> bool {
    let Some(all) = m.get_mut(FIELD).and_then(Value::as_object_mut) else { return false };
    let changed = all.shift_remove(model).is_some();
    if all.is_empty() {
        m.shift_remove(FIELD);
    }
    changed
}

/// Bench `model` on the entry until `until` (a later deadline already there stays); benches
/// that have ended are dropped. Returns whether the entry changed.
pub fn bench(
    m: &mut Map<String, Value>,
    model: &str,
    until: Epoch,
    code: u16,
    reason: Option<&str>,
    now: Epoch,
) -> bool {
    let slot = m.entry(FIELD.to_string()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    let Some(all) = slot.as_object_mut() else { return false };
    all.retain(|_, b| b.get("until").and_then(Value::as_f64).is_some_and(|t| t > now));
    let until = match all.get(model).and_then(|b| b.get("until")).and_then(Value::as_f64) {
        Some(t) if t > until => t,
        _ => until,
    };
    all.insert(model.to_string(), json!({"until": until, "code": code, "reason": reason, "at": now}));
    true
}

/// The benches still running: (model, until, code).
pub fn current(m: &Map<String, Value>, now: Epoch) -> Vec<(String, Epoch, Option<i64>)> {
    let Some(all) = m.get(FIELD).and_then(Value::as_object) else { return Vec::new() };
    all.iter()
        .filter_map(|(model, b)| {
            let until = b.get("until").and_then(Value::as_f64).filter(|t| *t > now)?;
            Some((model.clone(), until, b.get("code").and_then(Value::as_i64)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_evidence_is_told_from_key_evidence() {
        assert!(is_model_scoped(
            429,
            Some("rate_limit_exceeded"),
            Some("Rate limit reached for model gpt-x per minute")
        ));
        assert!(is_model_scoped(429, None, Some("The model claude-x is overloaded")));
        assert!(is_model_scoped(404, Some("model_not_found"), None));
        assert!(is_model_scoped(404, None, Some("The model `foo` does not exist")));
        assert!(!is_model_scoped(429, Some("rate_limit_exceeded"), Some("Rate limit reached for requests")));
        assert!(!is_model_scoped(402, None, Some("model credits exhausted")));
        assert!(!is_model_scoped(404, None, Some("Not found")));
    }

    #[test]
    fn benches_keep_the_later_deadline_and_drop_ended_ones() {
        let now = 1000.0;
        let mut m = Map::new();
        assert!(bench(&mut m, "x", now + 60.0, 429, None, now));
        assert!(bench(&mut m, "x", now + 30.0, 429, None, now));
        assert_eq!(benched_until(&m, "x", now), Some(now + 60.0));
        assert_eq!(benched_until(&m, "y", now), None);
        bench(&mut m, "y", now + 500.0, 404, Some("model_not_found"), now + 100.0);
        assert_eq!(current(&m, now + 100.0), vec![("y".to_string(), now + 500.0, Some(404))]);
    }
}
