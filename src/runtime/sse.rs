//! The opening of a streamed answer (server-sent events): does it start with content, or with an
//! error that should rotate to another credential before the client sees a byte?
//!
//! Providers answer a streamed request with 200 and then, sometimes, an error as the first
//! event: Anthropic `event: error` (`overloaded_error`), an OpenAI chunk carrying `error`, a
//! Responses `response.failed` or `error` event, Codex's `server_is_overloaded`. Pure functions
//! of the bytes received so far.

use serde_json::Value;

/// Marks an overloaded error while judging (answered as a short 429).
const OVERLOADED: u16 = 529;
/// How long an entry whose stream opened with "overloaded" rests.
const OVERLOADED_REST_SECS: u64 = 5;

/// What the events received so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// Not enough yet: only preamble events (`message_start`, `response.created`, pings).
    Undecided,
    /// Content has started (or the stream is complete): pass it through.
    Content,
    /// The first meaningful event is an error: the HTTP status it stands for and its JSON body.
    Error { status: u16, body: String },
}

/// Judge the complete events in `prefix` (a partial last event is left for later).
pub fn opening(prefix: &[u8]) -> Opening {
    let text = String::from_utf8_lossy(prefix);
    let text = text.replace("\r\n", "\n");
    let complete = match text.rfind("\n\n") {
        Some(i) => &text[..i],
        None => return Opening::Undecided,
    };
    for event in complete.split("\n\n") {
        let mut name = "";
        let mut data = String::new();
        for line in event.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim();
            } else if let Some(v) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.trim_start());
            }
        }
        match judge(name, data.trim()) {
            Opening::Undecided => continue,
            decided => return decided,
        }
    }
    Opening::Undecided
}

fn judge(name: &str, data: &str) -> Opening {
    if data.is_empty() {
        // A comment, a keep-alive or an event without data.
        return Opening::Undecided;
    }
    if data == "[DONE]" {
        return Opening::Content;
    }
    let Ok(v) = serde_json::from_str::<Value>(data) else {
        return Opening::Content;
    };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
    let is_error = name == "error"
        || kind == "error"
        || kind == "response.failed"
        || v.get("error").is_some_and(|e| !e.is_null())
            && v.get("choices").is_none_or(|c| c.as_array().is_none_or(Vec::is_empty));
    if is_error {
        let err =
            v.get("error").or_else(|| v.get("response").and_then(|r| r.get("error"))).cloned().unwrap_or(v.clone());
        let status = status_of(&err);
        let mut body = serde_json::json!({"error": err});
        if status == OVERLOADED {
            // The capacity behind this credential is busy now: a brief rate limit, so the request
            // moves to another credential at once and this one rests for a few seconds.
            body["retry_after_seconds"] = OVERLOADED_REST_SECS.into();
            return Opening::Error { status: 429, body: body.to_string() };
        }
        return Opening::Error { status, body: body.to_string() };
    }
    match kind {
        // Preamble: no content yet, an error may still come.
        "message_start" | "ping" | "response.created" | "response.in_progress" => Opening::Undecided,
        _ => Opening::Content,
    }
}

/// The HTTP status an error event stands for, from its type or code words.
fn status_of(err: &Value) -> u16 {
    let words = ["type", "code"]
        .iter()
        .filter_map(|k| err.get(k))
        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let has = |w: &str| words.contains(w);
    if has("rate_limit") || has("429") {
        429
    } else if has("overloaded") || has("unavailable") || has("503") || has("529") {
        OVERLOADED
    } else if has("insufficient_quota") || has("billing") || has("credit") || has("402") {
        402
    } else if has("authentication") || has("invalid_api_key") || has("401") {
        401
    } else if has("permission") || has("403") {
        403
    } else {
        500
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_status(o: Opening) -> u16 {
        match o {
            Opening::Error { status, .. } => status,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn first_event_errors_of_every_wire() {
        let anthropic = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        // Overloaded: a short rate limit, so the request rotates.
        assert_eq!(err_status(opening(anthropic)), 429);
        let openai = b"data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_exceeded\"}}\n\n";
        assert_eq!(err_status(opening(openai)), 429);
        let responses = b"event: response.created\ndata: {\"type\":\"response.created\"}\n\nevent: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"insufficient_quota\"}}}\n\n";
        assert_eq!(err_status(opening(responses)), 402);
        let codex =
            b"event: error\ndata: {\"type\":\"error\",\"code\":\"server_is_overloaded\",\"message\":\"busy\"}\n\n";
        assert_eq!(err_status(opening(codex)), 429);
    }

    #[test]
    fn content_preamble_and_partial_events() {
        assert_eq!(opening(b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"), Opening::Undecided);
        assert_eq!(opening(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"), Opening::Content);
        assert_eq!(
            opening(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"),
            Opening::Undecided,
            "incomplete"
        );
        assert_eq!(opening(b": keep-alive\n\n"), Opening::Undecided);
        assert_eq!(opening(b"data: [DONE]\n\n"), Opening::Content);
        let anthropic_text = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n";
        assert_eq!(opening(anthropic_text), Opening::Content);
    }
}
