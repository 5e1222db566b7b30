//! Usage per entry (docs/guide.md#usage): requests and tokens each answer reports, counted per
//! UTC day in the entry's `usage` field (`{"2026-07-01": {"requests": 3, "input": 120,
//! "output": 45}}`), the last [`KEEP_DAYS`] days kept. Pure functions of (text, now).

use crate::context::Epoch;
use serde_json::{json, Map, Value};

/// The entry field.
pub const FIELD: &str = "usage";
/// Days of usage kept on an entry.
pub const KEEP_DAYS: i64 = 92;

/// Tokens one answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

fn tokens(u: &Value, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|n| u.get(*n).and_then(Value::as_u64))
}

/// The `usage` object of an answer in any wire: OpenAI `prompt_tokens`/`completion_tokens`,
/// Anthropic and Responses `input_tokens`/`output_tokens` (a Responses body nests it in
/// `response`).
pub fn of_value(v: &Value) -> Option<Usage> {
    let u = v.get("usage").or_else(|| v.get("response").and_then(|r| r.get("usage")))?;
    let input = tokens(u, &["prompt_tokens", "input_tokens"]);
    let output = tokens(u, &["completion_tokens", "output_tokens"]);
    (input.is_some() || output.is_some()).then(|| Usage { input: input.unwrap_or(0), output: output.unwrap_or(0) })
}

/// The usage a whole (non-streamed) answer body reports. Only the `usage` (and `response`) keys
/// are built; the rest of the body (the answer itself, often most of it) is skipped unparsed.
pub fn of_body(body: &str) -> Option<Usage> {
    #[derive(serde::Deserialize)]
    struct Skim {
        usage: Option<Value>,
        response: Option<Value>,
    }
    match serde_json::from_str::<Skim>(body) {
        Ok(Skim { usage, response }) => {
            let mut m = Map::new();
            if let Some(u) = usage {
                m.insert("usage".into(), u);
            }
            if let Some(r) = response {
                m.insert("response".into(), r);
            }
            of_value(&Value::Object(m))
        }
        // Not an object, or a key given twice (the whole parse keeps the last): as a whole.
        Err(_) => serde_json::from_str::<Value>(body).ok().as_ref().and_then(of_value),
    }
}

/// What a streamed answer reports, gathered from its events as they pass: OpenAI's last chunk
/// (`stream_options.include_usage`), Anthropic's `message_start` (input) and `message_delta`
/// (output, cumulative), Responses' `response.completed`.
#[derive(Debug, Default)]
pub struct StreamUsage {
    pending: Vec<u8>,
    seen: Option<Usage>,
}

impl StreamUsage {
    /// Feed the next bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let Ok(line) = std::str::from_utf8(&line) else { continue };
            let Some(data) = line.trim_end().strip_prefix("data:") else { continue };
            let Ok(v) = serde_json::from_str::<Value>(data.trim()) else { continue };
            let found = of_value(&v).or_else(|| v.get("message").and_then(of_value));
            if let Some(u) = found {
                let s = self.seen.get_or_insert_with(Usage::default);
                // Anthropic sends input at the start and a cumulative output at the end; the
                // larger of what was seen for each is the answer's total.
                s.input = s.input.max(u.input);
                s.output = s.output.max(u.output);
            }
        }
        // A line longer than this is no usage event; do not hold on to it.
        if self.pending.len() > 1 << 20 {
            self.pending.clear();
        }
    }

    pub fn total(&self) -> Option<Usage> {
        self.seen
    }
}

/// The UTC day of `t`: `2026-07-01`.
pub fn day(t: Epoch) -> String {
    crate::time::iso_z(t).chars().take(10).collect()
}

/// Count `requests` and `usage` on the entry for `now`'s day, dropping days past [`KEEP_DAYS`].
pub fn add(m: &mut Map<String, Value>, requests: u64, usage: Option<Usage>, now: Epoch) {
    let today = day(now);
    let oldest = day(now - KEEP_DAYS as f64 * 86400.0);
    let slot = m.entry(FIELD.to_string()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    let Some(days) = slot.as_object_mut() else { return };
    days.retain(|d, _| d.as_str() >= oldest.as_str());
    let d = days.entry(today).or_insert_with(|| json!({"requests": 0, "input": 0, "output": 0}));
    let bump = |d: &mut Value, k: &str, by: u64| {
        let now = d.get(k).and_then(Value::as_u64).unwrap_or(0);
        d[k] = Value::from(now.saturating_add(by));
    };
    bump(d, "requests", requests);
    if let Some(u) = usage {
        bump(d, "input", u.input);
        bump(d, "output", u.output);
    }
}

/// Totals of an entry's `usage` for the days from `since` on: (requests, input, output).
pub fn totals(m: &Map<String, Value>, since: Option<Epoch>) -> (u64, u64, u64) {
    let from = since.map(day);
    let Some(days) = m.get(FIELD).and_then(Value::as_object) else { return (0, 0, 0) };
    days.iter().filter(|(d, _)| from.as_deref().is_none_or(|f| d.as_str() >= f)).fold((0, 0, 0), |(r, i, o), (_, v)| {
        let g = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        (r.saturating_add(g("requests")), i.saturating_add(g("input")), o.saturating_add(g("output")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Epoch = 1_782_896_400.0;

    #[test]
    fn every_wire_and_stream_shape_is_read() {
        assert_eq!(
            of_body(r#"{"usage": {"prompt_tokens": 11, "completion_tokens": 7}}"#),
            Some(Usage { input: 11, output: 7 })
        );
        assert_eq!(
            of_body(r#"{"usage": {"input_tokens": 3, "output_tokens": 4}}"#),
            Some(Usage { input: 3, output: 4 })
        );
        assert_eq!(of_body("not json"), None);
        // The answer around it is skipped, whatever it holds; a nested Responses body is read.
        let big = format!(
            r#"{{"id":"x","choices":[{{"message":{{"content":"{}","tool_calls":[{{"a":[1,2,{{"b":null}}]}}]}}}}],"usage":{{"prompt_tokens":2,"completion_tokens":1}},"extra":"\"usage\""}}"#,
            "y".repeat(10_000)
        );
        assert_eq!(of_body(&big), Some(Usage { input: 2, output: 1 }));
        assert_eq!(
            of_body(r#"{"response": {"usage": {"input_tokens": 8, "output_tokens": 9}}}"#),
            Some(Usage { input: 8, output: 9 })
        );
        assert_eq!(
            of_body(r#"{"response": "text", "usage": {"input_tokens": 1}}"#),
            Some(Usage { input: 1, output: 0 })
        );
        // A key given twice counts as the whole parse reads it (the last one).
        assert_eq!(
            of_body(r#"{"usage": {"input_tokens": 1}, "usage": {"input_tokens": 6}}"#),
            Some(Usage { input: 6, output: 0 })
        );
        assert_eq!(of_body("[1, 2]"), None);
        assert_eq!(of_body(r#"{"choices": []}"#), None);
        let mut s = StreamUsage::default();
        s.feed(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n");
        s.feed(b"data: {\"type\":\"content_block_delta\"}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_");
        s.feed(b"tokens\":15}}\n\n");
        assert_eq!(s.total(), Some(Usage { input: 25, output: 15 }));
        let mut o = StreamUsage::default();
        o.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n");
        assert_eq!(o.total(), Some(Usage { input: 5, output: 3 }));
    }

    #[test]
    fn days_add_up_and_old_days_go() {
        let mut m = Map::new();
        add(&mut m, 1, Some(Usage { input: 10, output: 2 }), NOW);
        add(&mut m, 1, None, NOW);
        add(&mut m, 0, Some(Usage { input: 5, output: 5 }), NOW);
        assert_eq!(totals(&m, None), (2, 15, 7));
        add(&mut m, 1, None, NOW + 100.0 * 86400.0);
        assert_eq!(totals(&m, None), (1, 0, 0), "days past the window are dropped");
        assert_eq!(totals(&m, Some(NOW + 101.0 * 86400.0)), (0, 0, 0));
    }
}
