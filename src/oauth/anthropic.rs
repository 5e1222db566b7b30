//! Anthropic (Claude Pro/Max) OAuth (docs/design.md#oauth-flows): the PKCE login with a local callback or
//! a pasted `code#state`, the code exchange, and the refresh of `manual:hermes_pkce` and
//! `manual:claude_code_import` entries.
//!
//! The token endpoint is `<base>/v1/oauth/token`, where base is `HERMES_ANTHROPIC_OAUTH_URL`
//! (no fallback), else `https://platform.claude.com`, then `https://console.anthropic.com` only
//! when the first is unreachable or answers 404.

use super::http::{self, Answer, TransportFailure};
use super::tokens::{Failure, NewTokens};
use super::{callback, LoginOptions, LoginUi, OAuthError};
use crate::error::{Error, OAuthKind, Result};
use crate::home::Home;
use crate::model::entry;
use crate::model::jwt;
use crate::secret::Secret;
use crate::{time, vars};
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The public client id of Claude's OAuth app.
pub const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
/// The scopes a login asks for.
pub const SCOPE: &str = "org:create_api_key user:profile user:inference";
/// The redirect of the pasted-code flow: the console shows `code#state` to copy.
pub const CONSOLE_REDIRECT: &str = "https://console.anthropic.com/oauth/code/callback";
/// Shown or opened, never fetched by hermes.
pub const AUTHORIZE_URL: &str = "https://claude.ai/oauth/authorize";
/// Token-endpoint bases, in the order they are tried.
pub const DEFAULT_BASES: [&str; 2] = ["https://platform.claude.com", "https://console.anthropic.com"];
/// The source of a hermes login.
pub const SOURCE: &str = "manual:hermes_pkce";

const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);
const REFRESH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the browser login may take before hermes gives up waiting for the callback.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(600);
/// `expires_in` when the token response has none.
const DEFAULT_EXPIRES_IN: f64 = 3600.0;

/// A PKCE verifier, its S256 challenge, and the `state` (docs/design.md#oauth-flows).
#[derive(Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
    pub state: String,
}

impl Pkce {
    /// Fresh random values: base64url (no padding) of 32 random bytes each.
    pub fn new() -> Pkce {
        let mut v = [0u8; 32];
        let mut s = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut v);
        rand::thread_rng().fill_bytes(&mut s);
        Pkce::from_bytes(&v, &s)
    }

    /// From given bytes (tests).
    pub fn from_bytes(verifier: &[u8], state: &[u8]) -> Pkce {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let verifier = b64.encode(verifier);
        let challenge = b64.encode(Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge, state: b64.encode(state) }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// Percent-encode everything but the RFC 3986 unreserved characters (spaces become `%20`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The authorize URL of docs/design.md#oauth-flows, every value URL-encoded.
pub fn authorize_url(pkce: &Pkce, redirect_uri: &str) -> String {
    let pairs = [
        ("code", "true"),
        ("client_id", CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", SCOPE),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
        ("state", &pkce.state),
    ];
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    format!("{AUTHORIZE_URL}?{}", query.join("&"))
}

/// Split what the user pasted into code and state: `code#state`, or a whole callback URL with
/// `code` and `state` in its query.
pub fn parse_pasted(input: &str) -> (String, Option<String>) {
    let t = input.trim();
    if let Ok(u) = url::Url::parse(t) {
        let get = |k: &str| u.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
        if let Some(code) = get("code") {
            return (code, get("state").filter(|s| !s.is_empty()));
        }
    }
    match t.split_once('#') {
        Some((code, state)) => (code.trim().to_string(), Some(state.trim().to_string()).filter(|s| !s.is_empty())),
        None => (t.to_string(), None),
    }
}

/// The token-endpoint bases to try, in order.
fn bases(home: &Home) -> Vec<String> {
    match home.sources.var(vars::ANTHROPIC_OAUTH_URL) {
        Some(u) if !u.trim().is_empty() => vec![http::trim_base(&u)],
        _ => DEFAULT_BASES.iter().map(|b| b.to_string()).collect(),
    }
}

/// POST JSON to the token endpoint, falling back to the next base when one is unreachable or
/// answers 404.
async fn post_token(home: &Home, body: &Value, timeout: Duration) -> std::result::Result<Answer, TransportFailure> {
    let client = http::client(timeout)?;
    let bases = bases(home);
    let mut last: Option<TransportFailure> = None;
    for (i, base) in bases.iter().enumerate() {
        let more = i + 1 < bases.len();
        let url = format!("{base}/v1/oauth/token");
        let req = client.post(&url).header("Accept", "application/json").json(body);
        match http::send(req, &url, timeout).await {
            Ok(a) if a.status == 404 && more => continue,
            Ok(a) => return Ok(a),
            Err(t) if t.connect && more => last = Some(t),
            Err(t) => return Err(t),
        }
    }
    Err(last.unwrap_or(TransportFailure { url: String::new(), detail: "no token endpoint".into(), connect: true }))
}

/// The PKCE login (docs/design.md#oauth-flows). Without `--no-browser` (and without `--code-stdin`) the
/// code comes back to a listener on 127.0.0.1; otherwise the user pastes `code#state`.
pub async fn login(home: &Home, opts: &LoginOptions, ui: &mut dyn LoginUi) -> Result<super::Login> {
    let pkce = Pkce::new();
    let paste = opts.no_browser || opts.code_stdin;
    let (code, state, redirect) = if paste {
        if !ui.can_read_code() {
            return Err(Error::Usage(
                "no terminal to paste the authorization code on; pipe `code#state` on stdin with --code-stdin".into(),
            ));
        }
        let url = authorize_url(&pkce, CONSOLE_REDIRECT);
        ui.say(&format!(
            "Log in to Anthropic: open this URL, approve, then paste the code shown (code#state):\n  {url}"
        ));
        if !opts.no_browser {
            ui.open_browser(&url);
        }
        let pasted = ui.read_code()?;
        let (code, state) = parse_pasted(&pasted);
        if code.is_empty() {
            return Err(Error::OAuth {
                kind: OAuthKind::Other,
                provider: Some("anthropic".into()),
                message: "no authorization code given; nothing was saved".into(),
            });
        }
        (code, state, CONSOLE_REDIRECT.to_string())
    } else {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| Error::System {
            what: "cannot listen on 127.0.0.1 for the login callback",
            detail: e.to_string(),
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::System {
                what: "cannot listen on 127.0.0.1 for the login callback",
                detail: e.to_string(),
            })?
            .port();
        let redirect = format!("http://localhost:{port}/callback");
        let url = authorize_url(&pkce, &redirect);
        ui.say(&format!(
            "Log in to Anthropic in your browser. If it does not open, visit:\n  {url}\n\
             (On a machine without a browser, use --no-browser and paste the code instead.)"
        ));
        ui.open_browser(&url);
        ui.wait_start("Waiting for the browser login (Ctrl-C to cancel)");
        let outcome = tokio::select! {
            r = tokio::time::timeout(CALLBACK_TIMEOUT, callback::wait(listener, &pkce.state)) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        ui.wait_end();
        let cb = match outcome {
            None => return Err(Error::Interrupted),
            Some(Err(_)) => {
                return Err(OAuthError::Expired {
                    provider: "anthropic".into(),
                    detail: format!("no browser callback within {} minutes", CALLBACK_TIMEOUT.as_secs() / 60),
                }
                .into())
            }
            Some(Ok(Err(e))) => {
                return Err(Error::System { what: "the login callback listener failed", detail: e.to_string() })
            }
            Some(Ok(Ok(cb))) => cb,
        };
        // Anything on this machine can call the listener: only an answer that carries this
        // login's state is believed, and its text is provider text (sanitised, one line).
        if cb.state.as_deref() != Some(pkce.state.as_str()) {
            return Err(OAuthError::StateMismatch.into());
        }
        if let Some(err) = cb.error {
            let detail = cb.error_description.map_or(err.clone(), |d| format!("{err}: {d}"));
            let detail = super::clean_message(&detail, Some(home), &[]);
            return Err(OAuthError::Denied { provider: "anthropic".into(), detail: Some(detail) }.into());
        }
        (cb.code.unwrap_or_default(), cb.state, redirect)
    };
    if state.as_deref() != Some(pkce.state.as_str()) {
        return Err(OAuthError::StateMismatch.into());
    }
    ui.debug("exchanging the authorization code");
    exchange(home, &code, &pkce, &redirect).await
}

/// docs/design.md#oauth-flows: exchange the code and build the `manual:hermes_pkce` entry.
async fn exchange(home: &Home, code: &str, pkce: &Pkce, redirect: &str) -> Result<super::Login> {
    const WHAT: &str = "anthropic login (code exchange)";
    let body = json!({
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "code": code,
        "state": pkce.state,
        "redirect_uri": redirect,
        "code_verifier": pkce.verifier,
    });
    let answer = post_token(home, &body, EXCHANGE_TIMEOUT).await.map_err(|t| http::unreachable(WHAT, t))?;
    let code_secret = Secret::new(code);
    let verifier = Secret::new(pkce.verifier.clone());
    if !answer.ok() {
        return Err(http::rejected(WHAT, &answer, home, &[&code_secret, &verifier]));
    }
    let (Some(access), Some(refresh)) = (answer.str("access_token"), answer.str("refresh_token")) else {
        return Err(
            OAuthError::BadAnswer { what: WHAT.into(), detail: "no access_token or refresh_token".into() }.into()
        );
    };
    let now = home.now();
    let expires_in = answer.num("expires_in").filter(|s| *s > 0.0).unwrap_or(DEFAULT_EXPIRES_IN);
    let claims = jwt::claims(&access);
    // Claude's tokens are opaque; the token response names the account instead.
    let account_email = answer
        .value("account")
        .and_then(|a| a.get("email_address"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let p = crate::providers::get("anthropic");
    Ok(super::Login {
        source: SOURCE,
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        base_url: p.and_then(|p| home.sources.base_url(p, None)),
        fields: expiry_fields(now, expires_in),
        label_hint: jwt::label(&claims).or_else(|| account_email.clone()),
        identity: jwt::account_email(&claims).or_else(|| account_email.map(|e| e.to_lowercase())),
    })
}

/// `expires_at_ms` and `last_refresh` for tokens obtained at `now`.
fn expiry_fields(now: f64, expires_in: f64) -> Vec<(&'static str, Value)> {
    let ms = ((now + expires_in) * 1000.0).round() as i64;
    vec![(entry::EXPIRES_AT_MS, ms.into()), (entry::LAST_REFRESH, time::iso_z(now).into())]
}

/// The refresh of docs/design.md#oauth-flows: JSON `{grant_type, refresh_token, client_id}`, 10 s timeout. A response
/// without `access_token` is transient; one without `refresh_token` keeps the old one.
pub(crate) async fn refresh(home: &Home, refresh_token: &Secret) -> std::result::Result<NewTokens, Failure> {
    let body = json!({"grant_type": "refresh_token", "refresh_token": refresh_token.expose(), "client_id": CLIENT_ID});
    let answer = post_token(home, &body, REFRESH_TIMEOUT).await.map_err(Failure::from_transport)?;
    if !answer.ok() {
        return Err(Failure::from_answer(&answer, "anthropic refresh", home, &[refresh_token]));
    }
    let Some(access) = answer.str("access_token") else {
        return Err(Failure::Transient("anthropic refresh: the answer had no access_token".into()));
    };
    let now = home.now();
    let expires_in = answer.num("expires_in").filter(|s| *s > 0.0).unwrap_or(DEFAULT_EXPIRES_IN);
    Ok(NewTokens {
        access: Secret::new(access),
        refresh: answer.str("refresh_token").map(Secret::new),
        fields: expiry_fields(now, expires_in),
        base_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_s256() {
        let p = Pkce::from_bytes(&[1u8; 32], &[2u8; 32]);
        assert_eq!(p.verifier.len(), 43);
        assert!(!p.verifier.contains('='));
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        assert_eq!(p.challenge, b64.encode(Sha256::digest(p.verifier.as_bytes())));
        assert_ne!(Pkce::new().state, Pkce::new().state);
    }

    #[test]
    fn authorize_url_carries_every_parameter() {
        let p = Pkce::from_bytes(&[1u8; 32], &[2u8; 32]);
        let u = url::Url::parse(&authorize_url(&p, "http://localhost:4567/callback")).unwrap();
        assert_eq!(u.host_str(), Some("claude.ai"));
        let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
        assert_eq!(q["code"], "true");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://localhost:4567/callback");
        assert_eq!(q["scope"], SCOPE);
        assert_eq!(q["code_challenge"], p.challenge);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], p.state);
        assert!(authorize_url(&p, CONSOLE_REDIRECT).contains("scope=org%3Acreate_api_key%20user%3Aprofile"));
    }

    #[test]
    fn pasted_codes() {
        assert_eq!(parse_pasted(" abc#st \n"), ("abc".into(), Some("st".into())));
        assert_eq!(parse_pasted("abc"), ("abc".into(), None));
        assert_eq!(parse_pasted("abc#"), ("abc".into(), None));
        assert_eq!(
            parse_pasted("https://console.anthropic.com/oauth/code/callback?code=c1&state=s1"),
            ("c1".into(), Some("s1".into()))
        );
    }
}
