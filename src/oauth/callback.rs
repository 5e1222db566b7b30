//! The local redirect target of the Anthropic browser login (docs/design.md#oauth-flows): a one-shot HTTP
//! listener on 127.0.0.1 (an ephemeral port) that takes `code` and `state` from
//! `GET /callback?code=…&state=…`, answers the browser with a short page and stops.
//!
//! It speaks just enough HTTP/1.1 for a browser redirect: one request per connection, the
//! request head only, `Connection: close`. Other paths (a browser's `/favicon.ico`) get 404 and
//! the wait goes on.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the browser brought back.
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// `error` (e.g. `access_denied`) when the user refused.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The largest request head read; a redirect with a code is far smaller.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accept connections until one brings `GET /callback` with a code or an error. `expected_state`
/// only chooses the page the browser sees; the caller still checks the state.
pub async fn wait(listener: TcpListener, expected_state: &str) -> std::io::Result<Callback> {
    loop {
        let (mut sock, _) = listener.accept().await?;
        let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut sock)).await {
            Ok(Ok(h)) => h,
            _ => continue,
        };
        let target = head.lines().next().and_then(request_target);
        let Some(cb) = target.as_deref().and_then(parse_callback) else {
            let _ = respond(&mut sock, "404 Not Found", "Not found.").await;
            continue;
        };
        if cb.code.is_none() && cb.error.is_none() {
            let _ = respond(&mut sock, "400 Bad Request", "The login callback carried no code.").await;
            continue;
        }
        let page = if cb.error.is_some() {
            "The login was not completed. You can close this tab and return to the terminal."
        } else if cb.state.as_deref() != Some(expected_state) {
            "This login link does not match the login hermes started. Nothing was saved; run the command again."
        } else {
            "Logged in. You can close this tab and return to the terminal."
        };
        let _ = respond(&mut sock, "200 OK", page).await;
        return Ok(cb);
    }
}

async fn read_head(sock: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_HEAD {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The target of `GET <target> HTTP/1.x`.
fn request_target(line: &str) -> Option<String> {
    let mut parts = line.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

/// `code`, `state` and `error` of a `/callback` target; `None` for any other path.
fn parse_callback(target: &str) -> Option<Callback> {
    let url = url::Url::parse(&format!("http://localhost{target}")).ok()?;
    if url.path() != "/callback" {
        return None;
    }
    let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned()).filter(|v| !v.is_empty());
    Some(Callback {
        code: get("code"),
        state: get("state"),
        error: get("error"),
        error_description: get("error_description"),
    })
}

async fn respond(sock: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>hermes</title></head>\
         <body><p>{text}</p></body></html>"
    );
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(msg.as_bytes()).await?;
    sock.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(request_target("GET /callback?code=a HTTP/1.1").as_deref(), Some("/callback?code=a"));
        assert!(request_target("POST /callback HTTP/1.1").is_none());
        let cb = parse_callback("/callback?code=abc%23x&state=s1").unwrap();
        assert_eq!(cb.code.as_deref(), Some("abc#x"));
        assert_eq!(cb.state.as_deref(), Some("s1"));
        assert!(parse_callback("/favicon.ico").is_none());
        let cb = parse_callback("/callback?error=access_denied").unwrap();
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
    }

    #[test]
    fn serves_one_callback() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = tokio::spawn(async move { wait(listener, "st").await.unwrap() });
            for path in ["/favicon.ico", "/callback?code=c0de&state=st"] {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).await.unwrap();
                let mut resp = String::new();
                s.read_to_string(&mut resp).await.unwrap();
                let want = if path.starts_with("/callback") { "200 OK" } else { "404" };
                assert!(resp.contains(want), "{resp}");
            }
            let cb = server.await.unwrap();
            assert_eq!(cb.code.as_deref(), Some("c0de"));
            assert_eq!(cb.state.as_deref(), Some("st"));
        });
    }
}
