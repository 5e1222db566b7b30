//! OpenAI Codex (ChatGPT) OAuth (docs/design.md#oauth-flows): the device-code login and the refresh of
//! `manual:device_code` entries in the `openai-codex` pool.
//!
//! Every endpoint hangs off the issuer `I`: `HERMES_CODEX_AUTH_URL`, else
//! `https://auth.openai.com`. The poll sleeps go through the context's sleeper and its clock
//! measures the 15-minute limit, so tests run the whole flow without waiting.

use super::http;
use super::tokens::{Failure, NewTokens};
use super::{LoginOptions, LoginUi, OAuthError};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::model::entry;
use crate::model::jwt;
use crate::pool::candidate::CODEX_BASE_URL;
use crate::secret::Secret;
use crate::{time, vars};
use serde_json::{json, Value};
use std::time::Duration;

/// The public client id of the Codex CLI's OAuth app.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The default issuer.
pub const ISSUER: &str = "https://auth.openai.com";
/// The source of a hermes login.
pub const SOURCE: &str = "manual:device_code";

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The whole device login gives up after this long.
const POLL_LIMIT_SECS: f64 = 15.0 * 60.0;
/// Attempts at the user-code request when it answers 429.
const USERCODE_ATTEMPTS: u32 = 4;
/// Refresh timeout: `HERMES_CODEX_REFRESH_TIMEOUT_SECONDS`, default 20, at least 5.
const REFRESH_TIMEOUT_DEFAULT: f64 = 20.0;
const REFRESH_TIMEOUT_MIN: f64 = 5.0;

/// The issuer: `HERMES_CODEX_AUTH_URL` without trailing `/`, else [`ISSUER`].
pub fn issuer(home: &Home) -> String {
    home.sources.var(vars::CODEX_AUTH_URL).map(|u| http::trim_base(&u)).unwrap_or_else(|| ISSUER.to_string())
}

/// The poll interval from the user-code answer: max(3, interval), 5 when absent.
pub fn poll_interval(raw: Option<f64>) -> f64 {
    raw.filter(|x| x.is_finite()).unwrap_or(5.0).max(3.0)
}

/// The wait before user-code attempt `attempt + 1` after a 429: min(60, max(1, Retry-After or
/// 2^attempt)) seconds.
pub fn usercode_backoff(attempt: u32, retry_after: Option<f64>) -> f64 {
    retry_after.unwrap_or_else(|| 2f64.powi(attempt as i32)).clamp(1.0, 60.0)
}

/// The device login (docs/design.md#oauth-flows).
pub async fn login(home: &Home, opts: &LoginOptions, ui: &mut dyn LoginUi) -> Result<super::Login> {
    let i = issuer(home);
    let client = http::client(REQUEST_TIMEOUT).map_err(|t| http::unreachable("openai-codex login", t))?;
    let sleeper = home.ctx().sleeper.clone();

    // 1. The user code; a 429 is retried a few times.
    const WHAT_CODE: &str = "openai-codex login (device code)";
    let url = format!("{i}/api/accounts/deviceauth/usercode");
    let mut attempt = 1;
    let answer = loop {
        let req = client.post(&url).json(&json!({"client_id": CLIENT_ID}));
        let a = http::send(req, &url, REQUEST_TIMEOUT).await.map_err(|t| http::unreachable(WHAT_CODE, t))?;
        if a.status == 429 && attempt < USERCODE_ATTEMPTS {
            let wait = usercode_backoff(attempt, a.retry_after_secs(home.now()));
            ui.debug(&format!("device code request rate-limited; trying again in {wait}s"));
            sleeper.sleep(Duration::from_secs_f64(wait)).await;
            attempt += 1;
            continue;
        }
        break a;
    };
    if !answer.ok() {
        return Err(http::rejected(WHAT_CODE, &answer, home, &[]));
    }
    let (Some(user_code), Some(device_auth_id)) = (answer.str("user_code"), answer.str("device_auth_id")) else {
        return Err(
            OAuthError::BadAnswer { what: WHAT_CODE.into(), detail: "no user_code or device_auth_id".into() }.into()
        );
    };
    let interval = poll_interval(answer.num("interval"));

    // 2. Show the code.
    let verify = format!("{i}/codex/device");
    let user_code = crate::text::one_line(&user_code).into_owned();
    ui.say(&format!("To log in to OpenAI Codex (ChatGPT): open {verify} and enter code {user_code}"));
    if !opts.no_browser {
        ui.open_browser(&verify);
    }

    // 3. Poll until approved, refused, or out of time; Ctrl-C cancels.
    ui.wait_start("Waiting for you to approve the login (Ctrl-C to cancel)");
    let polled = tokio::select! {
        r = poll(home, &client, &i, &device_auth_id, &user_code, interval, ui) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    ui.wait_end();
    let (code, verifier) = polled.ok_or(Error::Interrupted)??;

    // 4. Exchange the authorization code.
    const WHAT_TOKEN: &str = "openai-codex login (token exchange)";
    let url = format!("{i}/oauth/token");
    let redirect = format!("{i}/deviceauth/callback");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect.as_str()),
        ("client_id", CLIENT_ID),
        ("code_verifier", verifier.expose()),
    ];
    let req = client.post(&url).header("Accept", "application/json").form(&form);
    let a = http::send(req, &url, REQUEST_TIMEOUT).await.map_err(|t| http::unreachable(WHAT_TOKEN, t))?;
    if !a.ok() {
        return Err(http::rejected(WHAT_TOKEN, &a, home, &[&code, &verifier]));
    }
    let (Some(access), Some(refresh)) = (a.str("access_token"), a.str("refresh_token")) else {
        return Err(OAuthError::BadAnswer {
            what: WHAT_TOKEN.into(),
            detail: "no access_token or refresh_token".into(),
        }
        .into());
    };
    let id_token = a.str("id_token");
    let access_claims = jwt::claims(&access);
    let id_claims = id_token.as_deref().map(jwt::claims).unwrap_or_default();
    let mut fields = vec![(entry::LAST_REFRESH, Value::String(time::iso_z(home.now())))];
    if let Some(t) = id_token {
        // Kept on the owned entry, as `providers.openai-codex.tokens` keeps it: it names the account.
        fields.push(("id_token", Value::String(t)));
    }
    let base = crate::providers::get("openai-codex")
        .and_then(|p| home.sources.base_url(p, None))
        .unwrap_or_else(|| CODEX_BASE_URL.to_string());
    Ok(super::Login {
        source: SOURCE,
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        base_url: Some(base),
        fields,
        label_hint: jwt::label(&id_claims)
            .or_else(|| jwt::label(&access_claims))
            .or_else(|| jwt::account_email(&access_claims)),
        identity: jwt::account_email(&id_claims).or_else(|| jwt::account_email(&access_claims)),
    })
}

/// docs/design.md#oauth-flows: poll once per interval. 403/404 mean pending; 200 brings the authorization
/// code and verifier; any other status is fatal; up to 6 consecutive transport errors are
/// tolerated; after 15 minutes (on the context's clock) the login expires.
async fn poll(
    home: &Home,
    client: &reqwest::Client,
    issuer: &str,
    device_auth_id: &str,
    user_code: &str,
    interval: f64,
    ui: &mut dyn LoginUi,
) -> Result<(Secret, Secret)> {
    const WHAT: &str = "openai-codex login (device poll)";
    let url = format!("{issuer}/api/accounts/deviceauth/token");
    let start = home.now();
    let sleeper = home.ctx().sleeper.clone();
    let mut poll_errors = http::PollErrors::default();
    loop {
        sleeper.sleep(Duration::from_secs_f64(interval)).await;
        if home.now() - start >= POLL_LIMIT_SECS {
            return Err(OAuthError::Expired {
                provider: "openai-codex".into(),
                detail: "the code was not approved within 15 minutes".into(),
            }
            .into());
        }
        let req = client.post(&url).json(&json!({"device_auth_id": device_auth_id, "user_code": user_code}));
        let Some(a) = poll_errors.record(WHAT, http::send(req, &url, REQUEST_TIMEOUT).await, ui)? else { continue };
        match a.status {
            403 | 404 => ui.debug("authorization pending"),
            200 => {
                let (Some(code), Some(verifier)) = (a.str("authorization_code"), a.str("code_verifier")) else {
                    return Err(OAuthError::BadAnswer {
                        what: WHAT.into(),
                        detail: "no authorization_code or code_verifier".into(),
                    }
                    .into());
                };
                return Ok((Secret::new(code), Secret::new(verifier)));
            }
            _ => {
                let reason = a.reason();
                if reason.as_deref().is_some_and(|r| r.contains("denied")) {
                    let detail = a.message().or(reason).map(|m| super::clean_message(&m, Some(home), &[]));
                    return Err(OAuthError::Denied { provider: "openai-codex".into(), detail }.into());
                }
                return Err(http::rejected(WHAT, &a, home, &[]));
            }
        }
    }
}

/// The refresh timeout (docs/design.md#oauth-flows).
fn refresh_timeout(home: &Home) -> Duration {
    let secs = home
        .sources
        .var(vars::CODEX_REFRESH_TIMEOUT)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .unwrap_or(REFRESH_TIMEOUT_DEFAULT)
        .max(REFRESH_TIMEOUT_MIN);
    Duration::from_secs_f64(secs)
}

/// The refresh of docs/design.md#oauth-flows: form `grant_type=refresh_token, refresh_token, client_id`. A 429 is
/// transient (`codex_rate_limited`), never terminal.
pub(crate) async fn refresh(home: &Home, refresh_token: &Secret) -> std::result::Result<NewTokens, Failure> {
    let timeout = refresh_timeout(home);
    let client = http::client(timeout).map_err(Failure::from_transport)?;
    let url = format!("{}/oauth/token", issuer(home));
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose()), ("client_id", CLIENT_ID)];
    let req = client.post(&url).header("Accept", "application/json").form(&form);
    let a = http::send(req, &url, timeout).await.map_err(Failure::from_transport)?;
    if a.status == 429 {
        return Err(Failure::Transient("openai-codex refresh: codex_rate_limited (HTTP 429)".into()));
    }
    if !a.ok() {
        return Err(Failure::from_answer(&a, "openai-codex refresh", home, &[refresh_token]));
    }
    let Some(access) = a.str("access_token") else {
        return Err(Failure::Transient("openai-codex refresh: the answer had no access_token".into()));
    };
    let mut fields = vec![(entry::LAST_REFRESH, Value::String(time::iso_z(home.now())))];
    if let Some(t) = a.str("id_token") {
        fields.push(("id_token", Value::String(t)));
    }
    Ok(NewTokens {
        access: Secret::new(access),
        refresh: a.str("refresh_token").map(Secret::new),
        fields,
        base_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_backoff() {
        assert_eq!(poll_interval(None), 5.0);
        assert_eq!(poll_interval(Some(1.0)), 3.0);
        assert_eq!(poll_interval(Some(7.0)), 7.0);
        assert_eq!(usercode_backoff(1, None), 2.0);
        assert_eq!(usercode_backoff(3, None), 8.0);
        assert_eq!(usercode_backoff(1, Some(0.0)), 1.0);
        assert_eq!(usercode_backoff(1, Some(600.0)), 60.0);
    }
}
