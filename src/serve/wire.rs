//! The gateway's endpoints and the error shape of each wire.

use crate::providers::Wire;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One endpoint of the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `POST /v1/chat/completions`: OpenAI chat wire.
    ChatCompletions,
    /// `POST /v1/messages`: Anthropic Messages.
    Messages,
    /// `POST /v1/messages/count_tokens`: Anthropic token counting.
    CountTokens,
    /// `POST /v1/responses`: the Responses wire (OpenAI, ChatGPT/Codex).
    Responses,
}

impl Api {
    /// The gateway's path.
    pub fn path(self) -> &'static str {
        match self {
            Api::ChatCompletions => "/v1/chat/completions",
            Api::Messages => "/v1/messages",
            Api::CountTokens => "/v1/messages/count_tokens",
            Api::Responses => "/v1/responses",
        }
    }

    /// The path under a provider's base URL (OpenAI-style bases end in `/v1`, Anthropic's does
    /// not, Codex's is the backend root).
    pub fn upstream_path(self) -> &'static str {
        match self {
            Api::ChatCompletions => "/chat/completions",
            Api::Messages => "/v1/messages",
            Api::CountTokens => "/v1/messages/count_tokens",
            Api::Responses => "/responses",
        }
    }

    /// The provider wires that serve this endpoint.
    pub fn wires(self) -> &'static [Wire] {
        match self {
            Api::ChatCompletions => &[Wire::OpenAi],
            Api::Messages | Api::CountTokens => &[Wire::Anthropic],
            Api::Responses => &[Wire::CodexResponses, Wire::OpenAi],
        }
    }

    /// Whether errors take Anthropic's shape.
    fn anthropic(self) -> bool {
        matches!(self, Api::Messages | Api::CountTokens)
    }
}

/// An error in the endpoint's own shape: Anthropic `{"type": "error", "error": {…}}`, OpenAI and
/// Responses `{"error": {"message", "type", "code"}}`.
pub fn error(api: Api, status: StatusCode, kind: &str, message: &str) -> Response {
    let body = if api.anthropic() {
        json!({"type": "error", "error": {"type": kind, "message": message}})
    } else {
        json!({"error": {"message": message, "type": kind, "code": status.as_u16()}})
    };
    (status, axum::Json(body)).into_response()
}

/// The event that ends a client's stream once its headers went out: the provider's stream broke
/// off after content was sent, or a held opening ended with nothing that could serve.
pub fn stream_error_event(api: Api, message: &str) -> String {
    match api {
        Api::Messages | Api::CountTokens => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "error": {"type": "api_error", "message": message}})
        ),
        Api::Responses => format!("event: error\ndata: {}\n\n", json!({"type": "error", "message": message})),
        Api::ChatCompletions => format!("data: {}\n\n", json!({"error": {"message": message, "type": "api_error"}})),
    }
}
