//! Nous Portal OAuth (docs/design.md#oauth-flows): the device-code login and the refresh of `manual:device_code`
//! entries in the `nous` pool.
//!
//! docs/design.md#owned-and-borrowed: a hermes login is an owned `manual:device_code` entry carrying the docs/design.md#singleton-provider-state fields
//! itself (portal and inference URLs, expiry, `agent_key` = the access token, which is the
//! inference bearer: no agent keys are minted). `providers.nous` belongs to hermes-agent and is
//! never written.

use super::http::{self, Answer};
use super::tokens::{Failure, NewTokens};
use super::{LoginOptions, LoginUi, OAuthError};
use crate::context::Epoch;
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::model::entry;
use crate::model::jwt;
use crate::secret::Secret;
use crate::{time, vars};
use serde_json::{json, Value};
use std::time::Duration;

/// The default portal.
pub const PORTAL: &str = "https://portal.nousresearch.com";
/// The client id hermes registers as.
pub const CLIENT_ID: &str = "hermes-cli";
/// The scope a login asks for.
pub const SCOPE: &str = "inference:invoke";
/// The device-code grant type.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The source of a hermes login.
pub const SOURCE: &str = "manual:device_code";

/// `HERMES_NOUS_TIMEOUT_SECONDS` default.
const TIMEOUT_DEFAULT: f64 = 15.0;
/// `slow_down` adds 1 s to the interval, up to this.
const MAX_INTERVAL: f64 = 30.0;
/// Back-off ceiling for non-JSON 408/429/5xx answers while polling.
const MAX_BACKOFF: f64 = 60.0;
/// `expires_in` of a device code that names none.
const DEFAULT_DEVICE_EXPIRES: f64 = 900.0;

/// The portal: `HERMES_NOUS_PORTAL_URL`, its aliases, the stored `portal_base_url`, the default;
/// trailing `/` stripped (docs/design.md#endpoint-overrides).
pub fn portal(home: &Home, stored: Option<&str>) -> String {
    std::iter::once(vars::NOUS_PORTAL_URL)
        .chain(vars::NOUS_PORTAL_URL_ALIASES.iter().copied())
        .find_map(|v| home.sources.var(v))
        .or_else(|| stored.map(str::to_string))
        .filter(|u| !u.trim().is_empty())
        .map(|u| http::trim_base(&u))
        .unwrap_or_else(|| PORTAL.to_string())
}

fn timeout(home: &Home) -> Duration {
    let secs = home
        .sources
        .var(vars::NOUS_TIMEOUT)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x > 0.0)
        .unwrap_or(TIMEOUT_DEFAULT);
    Duration::from_secs_f64(secs)
}

/// What one device-token poll answer means (docs/design.md#oauth-flows).
#[derive(Debug, Clone, PartialEq)]
pub enum PollStep {
    /// Tokens arrived.
    Done,
    /// `authorization_pending`: wait one more interval.
    Pending,
    /// `slow_down`: wait longer from now on.
    SlowDown,
    /// A non-JSON 408, 429 or 5xx: back off.
    BackOff,
    /// The user refused (`access_denied`).
    Denied(Option<String>),
    /// The device code expired (`expired_token`).
    Expired,
    /// Any other error: fatal.
    Fatal,
}

/// Classify one poll answer.
pub fn classify_poll(status: u16, is_json: bool, reason: Option<&str>, has_token: bool) -> PollStep {
    if (200..300).contains(&status) && has_token {
        return PollStep::Done;
    }
    if !is_json {
        return if status == 408 || status == 429 || status >= 500 { PollStep::BackOff } else { PollStep::Fatal };
    }
    match reason {
        Some("authorization_pending") => PollStep::Pending,
        Some("slow_down") => PollStep::SlowDown,
        Some("access_denied") => PollStep::Denied(None),
        Some("expired_token") => PollStep::Expired,
        _ => PollStep::Fatal,
    }
}

/// Whether `url` may be shown and opened: https, or http on a loopback host; no spaces or
/// control characters, and not something a browser launcher could read as an option.
fn browsable(url: &str) -> bool {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) || url.starts_with('-') {
        return false;
    }
    let Ok(u) = url::Url::parse(url) else { return false };
    let host = u.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    match u.scheme() {
        "https" => !host.is_empty(),
        "http" => matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost"),
        _ => false,
    }
}

/// The device login (docs/design.md#oauth-flows).
pub async fn login(home: &Home, pool: &PoolRef, opts: &LoginOptions, ui: &mut dyn LoginUi) -> Result<super::Login> {
    let p = portal(home, None);
    let to = timeout(home);
    let client = http::client(to).map_err(|t| http::unreachable("nous login", t))?;

    // 1. The device code.
    const WHAT_CODE: &str = "nous login (device code)";
    let url = format!("{p}/api/oauth/device/code");
    let req =
        client.post(&url).header("Accept", "application/json").form(&[("client_id", CLIENT_ID), ("scope", SCOPE)]);
    let a = http::send(req, &url, to).await.map_err(|t| http::unreachable(WHAT_CODE, t))?;
    if !a.ok() {
        return Err(http::rejected(WHAT_CODE, &a, home, &[]));
    }
    let (Some(device_code), Some(user_code)) = (a.str("device_code"), a.str("user_code")) else {
        return Err(
            OAuthError::BadAnswer { what: WHAT_CODE.into(), detail: "no device_code or user_code".into() }.into()
        );
    };
    let device_code = Secret::new(device_code);
    // The portal's URL and code are shown and handed to a browser: only an https URL (or a
    // loopback http one, for a local portal) is accepted, and both are shown on one line.
    let verify = a
        .str("verification_uri_complete")
        .or_else(|| a.str("verification_uri"))
        .filter(|u| browsable(u))
        .unwrap_or_else(|| p.clone());
    let user_code = crate::text::one_line(&user_code).into_owned();
    let expires_in = a.num("expires_in").filter(|x| *x > 0.0).unwrap_or(DEFAULT_DEVICE_EXPIRES);
    // docs/design.md#oauth-flows: poll every second whatever `interval` says; the portal answers `slow_down` (which
    // adds a second) when that is too fast.
    let interval = 1.0;

    // 2. Show it.
    ui.say(&format!("To log in to Nous Portal: open {verify} and confirm the code {user_code}"));
    if !opts.no_browser {
        ui.open_browser(&verify);
    }

    // 3. Poll; Ctrl-C cancels.
    ui.wait_start("Waiting for you to approve the login (Ctrl-C to cancel)");
    let polled = tokio::select! {
        r = poll(home, &client, &p, &device_code, interval, expires_in, ui) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    ui.wait_end();
    let tokens = polled.ok_or(Error::Interrupted)??;

    // 4–5. Build the entry.
    let (Some(access), Some(refresh)) = (tokens.str("access_token"), tokens.str("refresh_token")) else {
        return Err(OAuthError::BadAnswer {
            what: "nous login (token)".into(),
            detail: "no access_token or refresh_token".into(),
        }
        .into());
    };
    let claims = jwt::claims(&access);
    let fields = token_fields(home, &tokens, &access, &p, home.now());
    let base_url = inference_url(home, &tokens).or_else(|| home.default_base_url(pool, None));
    Ok(super::Login {
        source: SOURCE,
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        base_url,
        fields,
        label_hint: jwt::label(&claims),
        identity: jwt::account_email(&claims),
    })
}

/// Poll the token endpoint until tokens arrive, the user refuses, or the code expires.
async fn poll(
    home: &Home,
    client: &reqwest::Client,
    portal: &str,
    device_code: &Secret,
    mut interval: f64,
    expires_in: f64,
    ui: &mut dyn LoginUi,
) -> Result<Answer> {
    const WHAT: &str = "nous login (device poll)";
    let url = format!("{portal}/api/oauth/token");
    let to = timeout(home);
    let deadline = home.now() + expires_in;
    let sleeper = home.ctx().sleeper.clone();
    let mut wait = interval;
    let mut poll_errors = http::PollErrors::default();
    loop {
        sleeper.sleep(Duration::from_secs_f64(wait)).await;
        wait = interval;
        if home.now() >= deadline {
            return Err(OAuthError::Expired {
                provider: "nous".into(),
                detail: "the device code expired before the login was approved".into(),
            }
            .into());
        }
        let form = [("grant_type", DEVICE_GRANT), ("client_id", CLIENT_ID), ("device_code", device_code.expose())];
        let req = client.post(&url).header("Accept", "application/json").form(&form);
        let Some(a) = poll_errors.record(WHAT, http::send(req, &url, to).await, ui)? else { continue };
        let reason = a.reason();
        match classify_poll(a.status, a.is_json(), reason.as_deref(), a.str("access_token").is_some()) {
            PollStep::Done => return Ok(a),
            PollStep::Pending => ui.debug(&format!("authorization pending; polling again in {interval}s")),
            PollStep::SlowDown => {
                interval = (interval + 1.0).min(MAX_INTERVAL);
                wait = interval;
                ui.debug(&format!("slow_down: polling every {interval}s"));
            }
            PollStep::BackOff => {
                wait = (interval * 2.0).max(wait * 2.0).min(MAX_BACKOFF);
                ui.debug(&format!("HTTP {}: backing off {wait}s", a.status));
            }
            PollStep::Denied(_) => {
                let detail = a.message().map(|m| super::clean_message(&m, Some(home), &[device_code]));
                return Err(OAuthError::Denied { provider: "nous".into(), detail }.into());
            }
            PollStep::Expired => {
                return Err(OAuthError::Expired {
                    provider: "nous".into(),
                    detail: "the device code expired before the login was approved".into(),
                }
                .into())
            }
            PollStep::Fatal => return Err(http::rejected(WHAT, &a, home, &[device_code])),
        }
    }
}

/// The portal's `inference_base_url`, if it passes the check of docs/design.md#oauth-flows.
fn inference_url(home: &Home, a: &Answer) -> Option<String> {
    a.str("inference_base_url").filter(|u| home.sources.inference_url_ok(u)).map(|u| http::trim_base(&u))
}

/// The docs/design.md#singleton-provider-state fields for tokens obtained at `now`: expiry, the `agent_key` copies, Nous metadata.
fn token_fields(home: &Home, a: &Answer, access: &str, portal: &str, now: Epoch) -> Vec<(&'static str, Value)> {
    let expires_in = a.num("expires_in").filter(|x| *x > 0.0).map(|x| x.round() as i64);
    let expires_at = expires_in.map(|s| time::iso_z(now + s as f64));
    let mut f: Vec<(&'static str, Value)> = Vec::new();
    if let Some(e) = &expires_at {
        f.push((entry::EXPIRES_AT, e.clone().into()));
    }
    if let Some(u) = inference_url(home, a) {
        f.push((entry::INFERENCE_BASE_URL, u.into()));
    }
    f.push((entry::AGENT_KEY, access.into()));
    if let Some(e) = &expires_at {
        f.push((entry::AGENT_KEY_EXPIRES_AT, e.clone().into()));
    }
    f.push(("portal_base_url", portal.into()));
    f.push(("client_id", CLIENT_ID.into()));
    f.push((entry::SCOPE, a.str("scope").unwrap_or_else(|| SCOPE.to_string()).into()));
    f.push(("token_type", a.str("token_type").unwrap_or_else(|| "Bearer".to_string()).into()));
    f.push(("obtained_at", time::iso_z(now).into()));
    if let Some(s) = expires_in {
        f.push(("expires_in", s.into()));
    }
    f.push(("tls", json!({"insecure": false, "ca_bundle": null})));
    f.push((entry::LAST_REFRESH, time::iso_z(now).into()));
    f
}

/// The refresh of docs/design.md#oauth-flows: the refresh token in the `x-nous-refresh-token` header (marked
/// sensitive), form `grant_type=refresh_token, client_id=hermes-cli`.
pub(crate) async fn refresh(
    home: &Home,
    stored_portal: Option<&str>,
    refresh_token: &Secret,
) -> std::result::Result<NewTokens, Failure> {
    let p = portal(home, stored_portal);
    let to = timeout(home);
    let client = http::client(to).map_err(Failure::from_transport)?;
    let url = format!("{p}/api/oauth/token");
    let Some(header) = http::sensitive(refresh_token.expose()) else {
        return Err(Failure::Terminal {
            reason: "invalid_grant".into(),
            message: Some("the stored refresh token cannot be sent in a header".into()),
        });
    };
    let req = client
        .post(&url)
        .header("Accept", "application/json")
        .header("x-nous-refresh-token", header)
        .form(&[("grant_type", "refresh_token"), ("client_id", CLIENT_ID)]);
    let a = http::send(req, &url, to).await.map_err(Failure::from_transport)?;
    if !a.ok() {
        return Err(Failure::from_answer(&a, "nous refresh", home, &[refresh_token]));
    }
    let Some(access) = a.str("access_token") else {
        return Err(Failure::Transient("nous refresh: the answer had no access_token".into()));
    };
    let fields = token_fields(home, &a, &access, &p, home.now());
    Ok(NewTokens {
        base_url: inference_url(home, &a),
        access: Secret::new(access),
        refresh: a.str("refresh_token").map(Secret::new),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_answers() {
        assert_eq!(classify_poll(200, true, None, true), PollStep::Done);
        assert_eq!(classify_poll(400, true, Some("authorization_pending"), false), PollStep::Pending);
        assert_eq!(classify_poll(400, true, Some("slow_down"), false), PollStep::SlowDown);
        assert_eq!(classify_poll(400, true, Some("access_denied"), false), PollStep::Denied(None));
        assert_eq!(classify_poll(400, true, Some("expired_token"), false), PollStep::Expired);
        assert_eq!(classify_poll(400, true, Some("invalid_client"), false), PollStep::Fatal);
        assert_eq!(classify_poll(503, false, None, false), PollStep::BackOff);
        assert_eq!(classify_poll(429, false, None, false), PollStep::BackOff);
        assert_eq!(classify_poll(408, false, None, false), PollStep::BackOff);
        assert_eq!(classify_poll(400, false, None, false), PollStep::Fatal);
        assert_eq!(classify_poll(200, true, None, false), PollStep::Fatal);
    }

    fn home(vars: &[(&str, &str)]) -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("h").to_string_lossy().into_owned();
        let mut all = vec![("HERMES_HOME".to_string(), h)];
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let (ctx, _, _) = crate::context::Context::for_test(all, 0.0);
        (dir, Home::open(ctx).unwrap())
    }

    #[test]
    fn inference_url_check() {
        let (_d, h) = home(&[("NOUS_INFERENCE_BASE_URL", "https://my.inference.example/v1")]);
        let ok = |u: &str| h.sources.inference_url_ok(u);
        assert!(ok("https://inference-api.nousresearch.com/v1"));
        assert!(ok("https://welcome-api.nousresearch.com/v1"));
        assert!(ok("https://my.inference.example/other"));
        assert!(ok("http://127.0.0.1:9/v1") && ok("http://localhost/v1") && ok("http://[::1]:8/v1"));
        assert!(!ok("https://evil.example.com/v1"), "unknown host");
        assert!(!ok("http://inference-api.nousresearch.com/v1"), "plain http off loopback");
        assert!(!ok("ftp://127.0.0.1/"));
    }

    #[test]
    fn portal_precedence() {
        let (_d, h) = home(&[("NOUS_PORTAL_BASE_URL", "http://alias2/"), ("HERMES_PORTAL_BASE_URL", "http://alias1")]);
        assert_eq!(portal(&h, Some("https://stored")), "http://alias1");
        let (_d, h) = home(&[("HERMES_NOUS_PORTAL_URL", "http://main/"), ("HERMES_PORTAL_BASE_URL", "http://alias1")]);
        assert_eq!(portal(&h, None), "http://main");
        let (_d, h) = home(&[]);
        assert_eq!(portal(&h, Some("https://stored/")), "https://stored");
        assert_eq!(portal(&h, None), PORTAL);
    }
}
