//! Sending one attempt: the [`Transport`] seam, the reqwest implementation, and the two wire
//! formats of `chat` (docs/design.md#recovery).
//!
//! * OpenAI-compatible: POST `<base>/chat/completions`, `Authorization: Bearer <secret>`.
//! * Anthropic Messages: POST `<base>/v1/messages`, `anthropic-version: 2023-06-01`; an API key
//!   in `x-api-key`, an OAuth token in `Authorization: Bearer` plus
//!   `anthropic-beta: oauth-2025-04-20`.
//!
//! Auth headers are marked sensitive so they never show in reqwest's debug output. The transport
//! only moves bytes: what an answer means is [`super::classify`]'s business.

use super::classify::{HttpResponse, TransportError, TransportErrorKind};
use super::refresh::BoxFuture;
use crate::model::entry::AuthType;
use crate::providers::Wire;
use crate::secret::Secret;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use serde_json::{json, Value};
use std::time::Duration;

/// `anthropic-version` sent with every Messages request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `anthropic-beta` that lets an OAuth token call the Messages API.
pub const ANTHROPIC_OAUTH_BETA: &str = "oauth-2025-04-20";
/// `max_tokens` when the caller gives none (the Messages API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// Default whole-request timeout: model answers can take a while.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Connect timeout: a host that does not answer the handshake is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// What to ask: the same request goes to every step of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    /// A body to pass through as it is (the gateway's clients): when set, it replaces the
    /// messages, and only its `model` is set per step.
    pub raw: Option<RawRequest>,
    /// An entry id to prefer in the primary's pool while it is usable (session affinity).
    pub prefer: Option<String>,
}

/// A request body a client sent, forwarded unchanged except for `model`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRequest {
    /// The path under the step's base URL: `/chat/completions`, `/v1/messages`,
    /// `/v1/messages/count_tokens`, `/responses`.
    pub path: String,
    pub body: RawBody,
    /// For a streamed request: where the successful attempt leaves its live stream.
    pub stream: Option<StreamSlot>,
}

/// A client's body (a JSON object) kept as the bytes it sent: each attempt sends them again with
/// only the top-level `model` value replaced. Agents send contexts of hundreds of KiB; parsing
/// them into a tree and writing them out again cost milliseconds a request and could change
/// their spelling (escapes, number forms), where the bytes go through as they are.
#[derive(Clone, PartialEq)]
pub struct RawBody {
    bytes: bytes::Bytes,
    /// Each top-level field: its name and where its value is in `bytes`, in order.
    fields: Vec<(String, std::ops::Range<usize>)>,
    /// Where the closing `}` is.
    end: usize,
}

impl std::fmt::Debug for RawBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawBody").field("len", &self.bytes.len()).finish_non_exhaustive()
    }
}

/// The top-level fields of an object, with their values as slices of the text (the values are
/// checked to be well-formed JSON, not built).
struct TopLevel<'a>(Vec<(String, &'a serde_json::value::RawValue)>);

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<TopLevel<'de>, M::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(TopLevel(out))
            }
        }
        d.deserialize_map(Fields)
    }
}

impl RawBody {
    /// The body a client sent, if it is one JSON object (`None` otherwise).
    pub fn parse(bytes: impl Into<bytes::Bytes>) -> Option<RawBody> {
        let bytes: bytes::Bytes = bytes.into();
        let top: TopLevel<'_> = serde_json::from_slice(&bytes).ok()?;
        // Each value is a slice of `bytes` (borrowed, never copied, from a byte slice): where it
        // starts is its distance from the beginning.
        let base = bytes.as_ptr() as usize;
        let fields = top
            .0
            .into_iter()
            .map(|(k, v)| {
                let start = (v.get().as_ptr() as usize).checked_sub(base)?;
                let at = start..start + v.get().len();
                (bytes.get(at.clone()) == Some(v.get().as_bytes())).then_some((k, at))
            })
            .collect::<Option<Vec<_>>>()?;
        let end = bytes.iter().rposition(|b| *b == b'}')?;
        Some(RawBody { bytes, fields, end })
    }

    /// A JSON object body built from a value (for programs that hold one).
    pub fn from_value(body: &Value) -> Option<RawBody> {
        RawBody::parse(serde_json::to_vec(body).ok()?)
    }

    /// The value of top-level field `key` (the last, if the client repeated it), parsed.
    pub fn field(&self, key: &str) -> Option<Value> {
        let (_, at) = self.fields.iter().rev().find(|(k, _)| k == key)?;
        serde_json::from_slice(&self.bytes[at.clone()]).ok()
    }

    /// The body as the client sent it.
    pub fn bytes(&self) -> &bytes::Bytes {
        &self.bytes
    }

    /// The body with `model` as its top-level `model` (every one, if the client repeated it; added
    /// at the end if there is none). The bytes as sent when they already say that model.
    pub fn with_model(&self, model: &str) -> bytes::Bytes {
        let value = Value::String(model.to_string()).to_string();
        let spans: Vec<&std::ops::Range<usize>> =
            self.fields.iter().filter(|(k, _)| k == "model").map(|(_, at)| at).collect();
        if !spans.is_empty() && spans.iter().all(|at| &self.bytes[(*at).clone()] == value.as_bytes()) {
            return self.bytes.clone();
        }
        let mut out = Vec::with_capacity(self.bytes.len() + value.len() + 10);
        let mut from = 0;
        for at in &spans {
            out.extend_from_slice(&self.bytes[from..at.start]);
            out.extend_from_slice(value.as_bytes());
            from = at.end;
        }
        if spans.is_empty() {
            out.extend_from_slice(&self.bytes[..self.end]);
            if !self.fields.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(b"\"model\":");
            out.extend_from_slice(value.as_bytes());
            from = self.end;
        }
        out.extend_from_slice(&self.bytes[from..]);
        out.into()
    }
}

/// How long a streamed answer is held, waiting for its first content event, before it is passed
/// through whatever its opening says.
pub const OPENING_WAIT: Duration = Duration::from_secs(30);

/// The rest of a streamed answer after its opening: the bytes read while deciding, and the live
/// response to read the remaining chunks from.
#[derive(Debug)]
pub struct Streamed {
    pub prefix: Vec<u8>,
    pub rest: reqwest::Response,
}

/// Where the transport leaves the live stream of a streamed request's successful attempt (the
/// runtime itself only sees the opening, so its recovery rules apply unchanged).
#[derive(Clone, Default)]
pub struct StreamSlot(std::sync::Arc<std::sync::Mutex<Option<Streamed>>>);

impl StreamSlot {
    pub fn new() -> StreamSlot {
        StreamSlot::default()
    }

    /// The stream the last successful attempt left, if any.
    pub fn take(&self) -> Option<Streamed> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put(&self, s: Streamed) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }
}

impl PartialEq for StreamSlot {
    fn eq(&self, other: &StreamSlot) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for StreamSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSlot")
    }
}

impl ChatRequest {
    /// A single user message.
    pub fn user(text: impl Into<String>) -> ChatRequest {
        ChatRequest {
            messages: vec![Message { role: "user".into(), content: text.into() }],
            max_tokens: DEFAULT_MAX_TOKENS,
            raw: None,
            prefer: None,
        }
    }

    /// A client's body for `path`, passed through.
    pub fn raw(path: impl Into<String>, body: RawBody) -> ChatRequest {
        ChatRequest {
            messages: Vec::new(),
            max_tokens: 0,
            raw: Some(RawRequest { path: path.into(), body, stream: None }),
            prefer: None,
        }
    }

    /// A client's streamed body for `path`: the successful attempt's live stream is left in `slot`
    /// (after an opening that is not an error, see [`super::sse`]).
    pub fn raw_streaming(path: impl Into<String>, body: RawBody, slot: StreamSlot) -> ChatRequest {
        ChatRequest {
            messages: Vec::new(),
            max_tokens: 0,
            raw: Some(RawRequest { path: path.into(), body, stream: Some(slot) }),
            prefer: None,
        }
    }

    /// The URL one attempt of this request goes to.
    /// A rough count of the tokens the request may use (its text at 4 bytes a token, plus the
    /// answer's limit): what an entry's announced tokens left are compared with.
    pub fn token_estimate(&self) -> u64 {
        match &self.raw {
            Some(raw) => {
                let text = raw.body.bytes().len() as u64 / 4;
                let answer = ["max_tokens", "max_output_tokens", "max_completion_tokens"]
                    .iter()
                    .find_map(|k| raw.body.field(k).and_then(|v| v.as_u64()))
                    .unwrap_or(0);
                text + answer
            }
            None => {
                self.messages.iter().map(|m| m.content.len() as u64 / 4 + 4).sum::<u64>() + u64::from(self.max_tokens)
            }
        }
    }

    pub fn url(&self, target: &Target) -> String {
        match &self.raw {
            Some(r) => format!("{}{}", target.base_url.trim().trim_end_matches('/'), r.path),
            None => target.url(),
        }
    }

    /// The body one attempt of this request sends: a client's bytes with the step's model, or
    /// the messages in the step's wire format.
    pub fn body(&self, target: &Target) -> Result<bytes::Bytes, serde_json::Error> {
        match &self.raw {
            Some(r) => Ok(r.body.with_model(&target.model)),
            None => serde_json::to_vec(&request_body(target.wire, &target.model, self)).map(Into::into),
        }
    }
}

/// Where and with what one attempt is sent.
#[derive(Debug, Clone)]
pub struct Target {
    /// The pool key (`openrouter`, `custom:my-llm`).
    pub provider: String,
    pub wire: Wire,
    /// Inference base URL without a trailing `/`.
    pub base_url: String,
    pub model: String,
    pub secret: Secret,
    /// Decides the Anthropic auth header.
    pub auth_type: AuthType,
}

impl Target {
    /// The endpoint this attempt POSTs to.
    pub fn url(&self) -> String {
        endpoint(self.wire, &self.base_url)
    }
}

/// Sends one attempt and returns the provider's answer. The runtime calls it once per attempt;
/// tests and embedding programs can supply their own (a scripted transport, a proxy, …).
pub trait Transport: Send + Sync {
    fn send<'a>(
        &'a self,
        target: &'a Target,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>>;
}

/// `<base>/chat/completions` or `<base>/v1/messages`.
pub fn endpoint(wire: Wire, base_url: &str) -> String {
    let base = base_url.trim().trim_end_matches('/');
    match wire {
        Wire::Anthropic => format!("{base}/v1/messages"),
        Wire::OpenAi | Wire::CodexResponses => format!("{base}/chat/completions"),
    }
}

/// The JSON body for `request` in `wire`'s format.
pub fn request_body(wire: Wire, model: &str, request: &ChatRequest) -> Value {
    match wire {
        Wire::Anthropic => {
            // The Messages API takes system text as a top-level field, not as a message.
            let system: Vec<&str> =
                request.messages.iter().filter(|m| m.role == "system").map(|m| m.content.as_str()).collect();
            let messages: Vec<Value> = request
                .messages
                .iter()
                .filter(|m| m.role != "system")
                .map(|m| json!({"role": m.role, "content": m.content}))
                .collect();
            let mut body = json!({"model": model, "max_tokens": request.max_tokens, "messages": messages});
            if !system.is_empty() {
                body["system"] = Value::String(system.join("\n\n"));
            }
            body
        }
        Wire::OpenAi | Wire::CodexResponses => {
            let messages: Vec<Value> =
                request.messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect();
            json!({"model": model, "messages": messages, "max_tokens": request.max_tokens})
        }
    }
}

/// The reply text of a successful answer: `choices[0].message.content` (a string or text parts)
/// for OpenAI-compatible providers, the `text` blocks of `content` for Anthropic Messages.
pub fn reply_text(wire: Wire, body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let text_parts = |parts: &Value| -> Option<String> {
        let parts = parts.as_array()?;
        let texts: Vec<&str> = parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str).is_none_or(|t| t == "text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        (!texts.is_empty()).then(|| texts.concat())
    };
    match wire {
        Wire::Anthropic => text_parts(v.get("content")?),
        Wire::OpenAi | Wire::CodexResponses => {
            let content = v.get("choices")?.get(0)?.get("message")?.get("content")?;
            match content {
                Value::String(s) => Some(s.clone()),
                other => text_parts(other),
            }
        }
    }
}

/// The auth and version headers for one attempt; the secret-bearing ones are sensitive.
pub fn auth_headers(wire: Wire, auth_type: AuthType, secret: &Secret) -> Result<HeaderMap, TransportError> {
    let invalid = |what: &str| TransportError {
        kind: TransportErrorKind::Invalid,
        message: format!("the {what} contains characters that cannot go in an HTTP header"),
    };
    let sensitive = |value: String, what: &str| -> Result<HeaderValue, TransportError> {
        let mut v = HeaderValue::from_str(&value).map_err(|_| invalid(what))?;
        v.set_sensitive(true);
        Ok(v)
    };
    let mut h = HeaderMap::new();
    match (wire, auth_type) {
        (Wire::Anthropic, AuthType::ApiKey) => {
            h.insert(HeaderName::from_static("x-api-key"), sensitive(secret.expose().to_string(), "API key")?);
        }
        (Wire::Anthropic, AuthType::OAuth) => {
            h.insert(AUTHORIZATION, sensitive(format!("Bearer {}", secret.expose()), "token")?);
            h.insert(HeaderName::from_static("anthropic-beta"), HeaderValue::from_static(ANTHROPIC_OAUTH_BETA));
        }
        (_, _) => {
            h.insert(AUTHORIZATION, sensitive(format!("Bearer {}", secret.expose()), "credential")?);
        }
    }
    if wire == Wire::Anthropic {
        h.insert(HeaderName::from_static("anthropic-version"), HeaderValue::from_static(ANTHROPIC_VERSION));
    }
    if wire == Wire::CodexResponses {
        // The ChatGPT backend serves the Responses wire to Codex clients: it wants the Responses
        // beta flag, an originator, and the ChatGPT account the login belongs to (a claim of the
        // access token).
        h.insert(HeaderName::from_static("openai-beta"), HeaderValue::from_static("responses=experimental"));
        h.insert(HeaderName::from_static("originator"), HeaderValue::from_static(CODEX_ORIGINATOR));
        if let Some(account) = codex_account_id(secret.expose()) {
            h.insert(HeaderName::from_static("chatgpt-account-id"), sensitive(account, "account id")?);
        }
    }
    Ok(h)
}

/// The `originator` the ChatGPT Codex backend expects from a Codex client.
pub const CODEX_ORIGINATOR: &str = "codex_cli_rs";

/// The ChatGPT account id in a Codex access token (`https://api.openai.com/auth` →
/// `chatgpt_account_id`), if it carries one.
pub fn codex_account_id(access_token: &str) -> Option<String> {
    let claims = crate::model::jwt::claims(access_token);
    let auth = claims.get("https://api.openai.com/auth")?;
    auth.get("chatgpt_account_id").and_then(serde_json::Value::as_str).map(str::to_string).filter(|s| !s.is_empty())
}

/// The reqwest transport `hermes chat` uses: one client (and connection pool) per runtime.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A transport for long streamed answers (the gateway): no limit on the whole request, but
    /// each read gives up after `read_timeout` of silence.
    pub fn streaming(read_timeout: Duration) -> Result<HttpTransport, TransportError> {
        HttpTransport::build(reqwest::Client::builder().read_timeout(read_timeout), read_timeout)
    }

    /// A transport whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Result<HttpTransport, TransportError> {
        HttpTransport::build(reqwest::Client::builder().timeout(timeout), timeout)
    }

    fn build(builder: reqwest::ClientBuilder, limit: Duration) -> Result<HttpTransport, TransportError> {
        let client = builder
            .connect_timeout(CONNECT_TIMEOUT.min(limit))
            .user_agent(concat!("hermes/", env!("CARGO_PKG_VERSION")))
            // Never follow a redirect: reqwest drops `Authorization` on a cross-origin hop but
            // not `x-api-key`, so following one could hand the key to another host. A 3xx comes
            // back to the policy as a client error instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError { kind: TransportErrorKind::Invalid, message: e.to_string() })?;
        Ok(HttpTransport { client })
    }

    async fn send_inner(&self, target: &Target, request: &ChatRequest) -> Result<HttpResponse, TransportError> {
        let url = request.url(target);
        let parsed = reqwest::Url::parse(&url).map_err(|e| TransportError {
            kind: TransportErrorKind::Invalid,
            message: format!("invalid base URL {:?} for {}: {e}", target.base_url, target.provider),
        })?;
        let body = request
            .body(target)
            .map_err(|e| TransportError { kind: TransportErrorKind::Invalid, message: e.to_string() })?;
        let mut headers = auth_headers(target.wire, target.auth_type, &target.secret)?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("hermes/", env!("CARGO_PKG_VERSION"))));
        let mut resp = self.client.post(parsed).headers(headers).body(body).send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let slot = request.raw.as_ref().and_then(|r| r.stream.clone());
        if let (Some(slot), true) = (slot, (200..300).contains(&status)) {
            // Hold the opening until content (or an error that should rotate) arrives.
            let started = std::time::Instant::now();
            let mut prefix = Vec::new();
            loop {
                let left = OPENING_WAIT.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(left, resp.chunk()).await {
                    Ok(Ok(Some(bytes))) => {
                        prefix.extend_from_slice(&bytes);
                        match super::sse::opening(&prefix) {
                            super::sse::Opening::Undecided => continue,
                            super::sse::Opening::Content => break,
                            super::sse::Opening::Error { status, body } => {
                                return Ok(HttpResponse { status, headers: Vec::new(), body })
                            }
                        }
                    }
                    Ok(Ok(None)) | Err(_) => break,
                    Ok(Err(e)) => return Err(transport_error(e)),
                }
            }
            let body = String::from_utf8_lossy(&prefix).into_owned();
            slot.put(Streamed { prefix, rest: resp });
            return Ok(HttpResponse { status, headers, body });
        }
        let body = resp.text().await.map_err(transport_error)?;
        Ok(HttpResponse { status, headers, body })
    }
}

impl Transport for HttpTransport {
    fn send<'a>(
        &'a self,
        target: &'a Target,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        Box::pin(self.send_inner(target, request))
    }
}

/// The answer a [`ScriptedTransport`] gives an attempt.
pub type Script = dyn Fn(&Target) -> Result<HttpResponse, TransportError> + Send + Sync;

/// A transport that answers from a closure and records every attempt: for tests of the runtime
/// (here and in programs that embed it) without a server.
pub struct ScriptedTransport {
    script: Box<Script>,
    calls: std::sync::Mutex<Vec<Target>>,
}

impl ScriptedTransport {
    /// Answer each attempt with `script(target)`.
    pub fn new(script: impl Fn(&Target) -> Result<HttpResponse, TransportError> + Send + Sync + 'static) -> Self {
        ScriptedTransport { script: Box::new(script), calls: std::sync::Mutex::new(Vec::new()) }
    }

    /// Every attempt so far, in order.
    pub fn calls(&self) -> Vec<Target> {
        self.calls.lock().expect("calls poisoned").clone()
    }
}

impl std::fmt::Debug for ScriptedTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedTransport").finish_non_exhaustive()
    }
}

impl Transport for ScriptedTransport {
    fn send<'a>(
        &'a self,
        target: &'a Target,
        _request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        self.calls.lock().expect("calls poisoned").push(target.clone());
        Box::pin(std::future::ready((self.script)(target)))
    }
}

impl HttpResponse {
    /// An answer with a JSON body and no headers.
    pub fn json(status: u16, body: &Value) -> HttpResponse {
        HttpResponse { status, headers: Vec::new(), body: body.to_string() }
    }

    /// A 200 carrying `text` in `wire`'s reply format.
    pub fn reply(wire: Wire, text: &str) -> HttpResponse {
        let body = match wire {
            Wire::Anthropic => json!({"content": [{"type": "text", "text": text}]}),
            Wire::OpenAi | Wire::CodexResponses => {
                json!({"choices": [{"message": {"role": "assistant", "content": text}}]})
            }
        };
        HttpResponse::json(200, &body)
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> HttpResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

fn transport_error(e: reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_builder() {
        TransportErrorKind::Invalid
    } else {
        // Connect failures, resets and truncated bodies: the connection is the problem.
        TransportErrorKind::Connection
    };
    // reqwest's text names the URL (which carries no secret) and the cause.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    TransportError { kind, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint(Wire::OpenAi, "https://openrouter.ai/api/v1/"),
            "https://openrouter.ai/api/v1/chat/completions"
        );
        assert_eq!(endpoint(Wire::Anthropic, "https://api.anthropic.com"), "https://api.anthropic.com/v1/messages");
        assert_eq!(
            endpoint(Wire::Anthropic, "https://api.minimax.io/anthropic"),
            "https://api.minimax.io/anthropic/v1/messages"
        );
    }

    #[test]
    fn headers_by_wire_and_type() {
        let s = Secret::new("sk-secret-123456");
        let h = auth_headers(Wire::OpenAi, AuthType::ApiKey, &s).unwrap();
        assert_eq!(h[AUTHORIZATION], "Bearer sk-secret-123456");
        assert!(h[AUTHORIZATION].is_sensitive());
        assert!(h.get("anthropic-version").is_none());

        let h = auth_headers(Wire::Anthropic, AuthType::ApiKey, &s).unwrap();
        assert_eq!(h["x-api-key"], "sk-secret-123456");
        assert!(h["x-api-key"].is_sensitive());
        assert_eq!(h["anthropic-version"], ANTHROPIC_VERSION);
        assert!(h.get(AUTHORIZATION).is_none() && h.get("anthropic-beta").is_none());

        let h = auth_headers(Wire::Anthropic, AuthType::OAuth, &s).unwrap();
        assert_eq!(h[AUTHORIZATION], "Bearer sk-secret-123456");
        assert_eq!(h["anthropic-beta"], ANTHROPIC_OAUTH_BETA);
        assert!(h.get("x-api-key").is_none());

        let bad = auth_headers(Wire::OpenAi, AuthType::ApiKey, &Secret::new("a\nb")).unwrap_err();
        assert_eq!(bad.kind, TransportErrorKind::Invalid);
        assert!(!bad.message.contains("a\nb"));
    }

    #[test]
    fn bodies() {
        let mut r = ChatRequest::user("hi");
        assert_eq!(
            request_body(Wire::OpenAi, "m", &r),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1024})
        );
        r.messages.insert(0, Message { role: "system".into(), content: "be brief".into() });
        assert_eq!(
            request_body(Wire::Anthropic, "claude", &r),
            json!({"model": "claude", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}], "system": "be brief"})
        );
    }

    #[test]
    fn replies() {
        let openai = r#"{"choices":[{"message":{"role":"assistant","content":"hello"}}]}"#;
        assert_eq!(reply_text(Wire::OpenAi, openai).as_deref(), Some("hello"));
        let parts = r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#;
        assert_eq!(reply_text(Wire::OpenAi, parts).as_deref(), Some("ab"));
        let anthropic = r#"{"content":[{"type":"thinking","thinking":"x"},{"type":"text","text":"hi there"}]}"#;
        assert_eq!(reply_text(Wire::Anthropic, anthropic).as_deref(), Some("hi there"));
        assert_eq!(reply_text(Wire::OpenAi, "not json"), None);
        assert_eq!(reply_text(Wire::OpenAi, r#"{"choices":[]}"#), None);
    }

    fn model_of(bytes: &[u8]) -> Value {
        serde_json::from_slice::<Value>(bytes).unwrap()["model"].clone()
    }

    #[test]
    fn a_raw_body_keeps_every_byte_but_the_model() {
        let sent = r#" { "model" : "alias",  "n": 1.0e3, "big": 123456789012345678901234567890,
            "text": "caf\u00e9 \/ \"q\"", "messages": [{"model": "inner"}] } "#;
        let body = RawBody::parse(sent.as_bytes().to_vec()).unwrap();
        let out = body.with_model("vendor/m-1");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            sent.replace(r#""alias""#, r#""vendor/m-1""#),
            "only the top-level model changed, spelling and spacing kept"
        );
        // Already that model: the very bytes the client sent.
        let same = body.with_model("alias");
        assert_eq!(same.as_ptr(), body.bytes().as_ptr());
        // A model that needs escaping stays valid JSON.
        assert_eq!(model_of(&body.with_model("a\"b\\c")), "a\"b\\c");
        assert_eq!(body.field("n").and_then(|n| n.as_f64()), Some(1000.0));
        assert_eq!(body.field("missing"), None);
    }

    #[test]
    fn a_raw_body_without_a_model_gets_one_and_repeats_are_all_replaced() {
        let add = |sent: &str| RawBody::parse(sent.as_bytes().to_vec()).unwrap().with_model("m");
        assert_eq!(&add("{}")[..], br#"{"model":"m"}"#);
        assert_eq!(&add(" { } ")[..], br#" { "model":"m"} "#);
        assert_eq!(&add(r#"{"a":[1,{"b":"}"}]}"#)[..], br#"{"a":[1,{"b":"}"}],"model":"m"}"#);
        let twice = RawBody::parse(br#"{"model":"x","k":1,"model":"y"}"#.to_vec()).unwrap();
        assert_eq!(twice.field("model").unwrap(), "y", "the last one, as a JSON reader takes it");
        assert_eq!(&twice.with_model("m")[..], br#"{"model":"m","k":1,"model":"m"}"#);
        // An escaped key is the same key.
        assert_eq!(model_of(&add(r#"{"mod\u0065l":"x"}"#)), "m");
    }

    #[test]
    fn only_a_json_object_is_a_raw_body() {
        for bad in ["", "[]", "\"model\"", "{", "{\"a\":}", "{} {}", "{\"a\":1,}", "null"] {
            assert!(RawBody::parse(bad.as_bytes().to_vec()).is_none(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_object_goes_through_with_only_its_model_changed(
            v in proptest::collection::btree_map("[a-z]{1,3}|model", json_value(), 0..6),
            pretty in proptest::bool::ANY,
            model in "[ -~]{0,12}",
        ) {
            let object: serde_json::Map<String, Value> = v.into_iter().collect();
            let sent = if pretty { serde_json::to_vec_pretty(&object) } else { serde_json::to_vec(&object) }.unwrap();
            let out = RawBody::parse(sent).unwrap().with_model(&model);
            let mut expected = object.clone();
            expected.insert("model".into(), Value::String(model));
            let got: serde_json::Map<String, Value> = serde_json::from_slice(&out).unwrap();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[ -~é\\n]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z]{1,3}|model", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
