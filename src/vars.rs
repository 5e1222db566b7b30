//! Every environment variable name hermes reads, in one place.

pub const HERMES_HOME: &str = "HERMES_HOME";
pub const HOME: &str = "HOME";
pub const NO_COLOR: &str = "NO_COLOR";
pub const TERM: &str = "TERM";

/// Hidden test hook: pins "now" to this epoch (seconds, may have a fraction).
pub const TEST_NOW: &str = "HERMES_TEST_NOW";
/// Hidden test hook: sleeps are recorded on stderr (with `-v`) instead of waited out.
pub const TEST_NO_SLEEP: &str = "HERMES_TEST_NO_SLEEP";
/// Hidden test hook: overrides the store lock timeout in seconds (default 15).
pub const TEST_LOCK_TIMEOUT: &str = "HERMES_TEST_LOCK_TIMEOUT";

pub const ANTHROPIC_OAUTH_URL: &str = "HERMES_ANTHROPIC_OAUTH_URL";
pub const CODEX_AUTH_URL: &str = "HERMES_CODEX_AUTH_URL";
pub const CODEX_REFRESH_TIMEOUT: &str = "HERMES_CODEX_REFRESH_TIMEOUT_SECONDS";
pub const NOUS_PORTAL_URL: &str = "HERMES_NOUS_PORTAL_URL";
pub const NOUS_PORTAL_URL_ALIASES: &[&str] = &["HERMES_PORTAL_BASE_URL", "NOUS_PORTAL_BASE_URL"];
pub const NOUS_TIMEOUT: &str = "HERMES_NOUS_TIMEOUT_SECONDS";
pub const NOUS_INFERENCE_BASE_URL: &str = "NOUS_INFERENCE_BASE_URL";
/// Hidden test hook: panic at start-up with this text in the payload (secret-hygiene tests).
pub const TEST_PANIC: &str = "HERMES_TEST_PANIC";
/// The program that opens a URL for an OAuth login (instead of `xdg-open` / `open`), as most
/// tools honour it; tests set it to `true` so no browser starts.
pub const BROWSER: &str = "BROWSER";
/// Whole-request timeout of `hermes chat` attempts, in seconds (default 120).
pub const CHAT_TIMEOUT: &str = "HERMES_CHAT_TIMEOUT_SECONDS";
/// The key clients of `hermes serve` must send (instead of `serve.api_key` in config.yaml).
pub const SERVE_KEY: &str = "HERMES_SERVE_KEY";
/// Overrides `state.url` of config.yaml (docs/fleet.md).
pub const STATE_URL: &str = "HERMES_STATE_URL";
/// The password of the state server, instead of one in the URL.
pub const STATE_PASSWORD: &str = "HERMES_STATE_PASSWORD";
/// Hidden, for tests: rotate the event log past this many bytes.
pub const TEST_EVENTS_CAP: &str = "HERMES_TEST_EVENTS_CAP";
/// Hidden test hook: the gateway's header and idle timeout in seconds (default 30).
pub const TEST_HEADER_TIMEOUT: &str = "HERMES_TEST_HEADER_TIMEOUT";
/// Hidden test hook: how often the gateway writes back and records answers, in seconds
/// (default 0.25).
pub const TEST_FLUSH_EVERY: &str = "HERMES_TEST_FLUSH_EVERY";
