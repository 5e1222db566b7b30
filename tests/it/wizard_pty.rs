//! The real binary on a pseudo-terminal (rexpect): the wizard driven with real keys (arrows,
//! Enter, Esc, Ctrl-C, Ctrl-D), each run checked against the files it leaves behind.
//!
//! Keys are sent only after the prompt they answer is on screen: a widget switches the terminal
//! to raw mode before drawing, so a key sent earlier could still be read in cooked mode.

use crate::common::*;
use rexpect::process::wait::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use std::process::Command;

const K1: &str = "sk-or-v1-aaaa1111";
const K2: &str = "sk-or-v1-bbbb2222";
const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

/// `hermes <args>` on a pty with the sealed environment (plus a TERM, which the widgets need).
fn spawn(s: &Sealed, args: &[&str]) -> PtySession {
    let mut c = s.process();
    c.args(args);
    spawn_cmd(c)
}

/// `c` (built from the sealed environment) on a pty, plus a TERM, which the widgets need; a
/// terminal has no COLUMNS variable, it has a size.
fn spawn_cmd(mut c: Command) -> PtySession {
    c.env("TERM", "xterm").env_remove("COLUMNS");
    spawn_with_options(c, Options { timeout_ms: Some(10_000), strip_ansi_escape_codes: false }).expect("spawn on a pty")
}

/// rexpect hands over each byte as one `char`; compare and report in those terms.
fn as_bytes_text(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

fn from_bytes_text(s: &str) -> String {
    String::from_utf8_lossy(&s.chars().map(|c| c as u8).collect::<Vec<u8>>()).into_owned()
}

/// Wait for `text` on screen; returns everything printed before it.
fn expect(p: &mut PtySession, text: &str) -> String {
    match p.exp_string(&as_bytes_text(text)) {
        Ok(before) => from_bytes_text(&before),
        Err(e) => panic!("waiting for {text:?}: {}", from_bytes_text(&e.to_string())),
    }
}

fn send(p: &mut PtySession, keys: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
}

/// Wait for the process to end; its exit code and the rest of its output.
fn finish(mut p: PtySession) -> (i32, String) {
    let rest = from_bytes_text(&p.exp_eof().unwrap_or_default());
    match p.process.wait().unwrap() {
        WaitStatus::Exited(_, code) => (code, rest),
        other => panic!("hermes did not exit normally: {other:?}"),
    }
}

const MENU: &str = "What would you like to do?";

#[test]
fn add_an_api_key_from_the_menu() {
    let s = Sealed::new();
    let mut p = spawn(&s, &["auth"]);
    expect(&mut p, "No credentials yet.");
    expect(&mut p, "Quit");
    send(&mut p, ENTER);
    expect(&mut p, "Add a credential to which provider?");
    expect(&mut p, "kimi-coding");
    send(&mut p, "openr");
    expect(&mut p, "openr \r\n\u{276f} openrouter");
    send(&mut p, ENTER);
    expect(&mut p, "Paste your API key");
    send(&mut p, &format!("{K1}{ENTER}"));
    expect(&mut p, "Label (api-key-1)");
    send(&mut p, &format!("work{ENTER}"));
    expect(&mut p, "Added openrouter credential #1 (id ");
    let screen = expect(&mut p, MENU);
    assert!(screen.contains("openrouter (1 credential, fill_first)"), "status view after the action: {screen}");
    expect(&mut p, "Quit");
    send(&mut p, "\x1b");
    let (code, _) = finish(p);
    assert_eq!(code, 0, "Esc at the menu exits 0");
    let pool = s.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0]["access_token"], K1);
    assert_eq!(pool[0]["label"], "work");
    assert_eq!(mode(&s.auth_path()), 0o600);
}

#[test]
fn set_a_strategy_changes_only_that_line() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("a"));
    s.add_key("openrouter", K2, Some("b"));
    let before = "# my settings\nmodel:\n  provider: openrouter  # primary\nterminal:\n  backend: local\ncredential_pool_strategies:\n  anthropic: random  # keep\n# end\n";
    s.write_home_file("config.yaml", before);
    let mut p = spawn(&s, &["auth"]);
    expect(&mut p, "openrouter (2 credentials, fill_first)");
    expect(&mut p, "Quit");
    send(&mut p, &format!("{DOWN}{DOWN}{DOWN}"));
    expect(&mut p, "\u{276f} Set rotation strategy");
    send(&mut p, ENTER);
    expect(&mut p, "Set the rotation strategy of which provider?");
    expect(&mut p, "\u{276f} openrouter");
    send(&mut p, ENTER);
    expect(&mut p, "Current strategy for openrouter: fill_first");
    expect(&mut p, "fill_first — use the first key until it is benched ←");
    expect(&mut p, "random — random choice");
    send(&mut p, &format!("{DOWN}{DOWN}"));
    expect(&mut p, "\u{276f} least_used — pick the key with the fewest requests");
    send(&mut p, ENTER);
    expect(&mut p, "Saved openrouter rotation strategy: least_used");
    expect(&mut p, "openrouter (2 credentials, least_used)");
    expect(&mut p, "Quit");
    send(&mut p, "\x04");
    let (code, _) = finish(p);
    assert_eq!(code, 0, "Ctrl-D at the menu exits 0");
    let after = std::fs::read_to_string(s.home.join("config.yaml")).unwrap();
    assert_eq!(
        after,
        before.replace("  anthropic: random  # keep\n", "  anthropic: random  # keep\n  openrouter: least_used\n")
    );
}

#[test]
fn remove_an_entry_after_confirming() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("personal"));
    s.add_key("openrouter", K2, Some("work"));
    let mut p = spawn(&s, &["auth"]);
    expect(&mut p, "Quit");
    send(&mut p, DOWN);
    expect(&mut p, "\u{276f} Remove a credential");
    send(&mut p, ENTER);
    expect(&mut p, "openrouter (2 credentials)");
    send(&mut p, ENTER);
    expect(&mut p, "Which credential?");
    expect(&mut p, "work      sk-o…2222");
    send(&mut p, DOWN);
    expect(&mut p, "\u{276f} #2");
    send(&mut p, ENTER);
    expect(&mut p, "Remove openrouter #2 \"work\" (sk-o…2222)?");
    send(&mut p, "y");
    expect(&mut p, "Removed openrouter credential #2 (work)");
    expect(&mut p, "openrouter (1 credential, fill_first)");
    expect(&mut p, "Quit");
    send(&mut p, "\x03");
    let (code, _) = finish(p);
    assert_eq!(code, 0, "Ctrl-C at the menu exits 0");
    let pool = s.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0]["label"], "personal");
}

#[test]
fn ctrl_c_in_the_middle_of_an_add_exits_130_writes_nothing_and_restores_the_terminal() {
    let s = Sealed::new();
    s.add_key("openrouter", K1, Some("personal"));
    let before = s.auth_bytes();
    // rexpect turns echo off on its pty; turn it back on, as on a real terminal, so that an
    // echoed key would show, then print the terminal's mode after hermes has exited.
    let script = r#"stty echo; "$0" auth; code=$?; stty -a; echo "exit=$code""#;
    let mut sh = s.sealed_command("sh");
    sh.args(["-c", script, env!("CARGO_BIN_EXE_hermes")]);
    let mut p = spawn_cmd(sh);
    expect(&mut p, "Quit");
    send(&mut p, ENTER);
    expect(&mut p, "kimi-coding");
    send(&mut p, ENTER);
    expect(&mut p, "Paste your API key");
    send(&mut p, "sk-or-v1-half");
    send(&mut p, "\x03");
    let after = expect(&mut p, "exit=130");
    assert!(!after.contains("sk-or-v1-half"), "the hidden key was echoed: {after:?}");
    let words: Vec<&str> = after.split_whitespace().collect();
    for mode in ["echo", "icanon", "isig"] {
        assert!(words.contains(&mode), "{mode} not restored: {after}");
    }
    assert_eq!(s.auth_bytes(), before, "nothing written");
}

#[test]
fn esc_inside_an_action_goes_back_to_the_menu_with_the_cursor_shown() {
    let s = Sealed::new();
    let mut p = spawn(&s, &["auth"]);
    expect(&mut p, "Quit");
    send(&mut p, ENTER);
    expect(&mut p, "kimi-coding");
    send(&mut p, "\x1b");
    expect(&mut p, "Cancelled; nothing was changed.");
    expect(&mut p, MENU);
    expect(&mut p, "Quit");
    send(&mut p, "\x1b");
    let (code, rest) = finish(p);
    assert_eq!(code, 0, "Esc at the menu leaves the wizard");
    // The select hid the cursor; the last cursor command must show it again.
    let (hide, show) = (rest.rfind("\x1b[?25l"), rest.rfind("\x1b[?25h"));
    assert!(show.is_some() && show > hide, "cursor left hidden: {rest:?}");
    assert!(!s.home.exists());
}

#[test]
fn setup_on_a_terminal_asks_and_writes() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "# mine\nmodel:\n  default: old\n");
    let mut p = spawn(&s, &["setup", "--provider", "openrouter"]);
    expect(&mut p, "Default model for openrouter (old)");
    send(&mut p, &format!("x-ai/grok-4{ENTER}"));
    expect(&mut p, "openrouter has no credentials yet. Add one now?");
    send(&mut p, ENTER);
    expect(&mut p, "Paste your API key");
    send(&mut p, &format!("{K1}{ENTER}"));
    expect(&mut p, "Label (api-key-1)");
    send(&mut p, ENTER);
    expect(&mut p, "Add a fallback provider chain");
    send(&mut p, "n");
    let (code, rest) = finish(p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("Saved model.provider: openrouter, model.default: x-ai/grok-4"), "{rest}");
    assert_eq!(
        std::fs::read_to_string(s.home.join("config.yaml")).unwrap(),
        "# mine\nmodel:\n  default: x-ai/grok-4\n  provider: openrouter\n"
    );
    assert_eq!(s.pool("openrouter")[0]["label"], "api-key-1");
}

#[test]
fn api_key_dash_on_a_terminal_reads_the_key_hidden() {
    // Nothing is piped: `--api-key -` asks like the prompt does, without echoing the key and
    // without waiting for Ctrl-D.
    let s = Sealed::new();
    let mut p = spawn(&s, &["auth", "add", "openrouter", "--api-key", "-", "--label", "tty"]);
    expect(&mut p, "Paste your API key");
    send(&mut p, &format!("{K1}{ENTER}"));
    let screen = expect(&mut p, "Added openrouter credential #1 (id ");
    let (code, rest) = finish(p);
    assert_eq!(code, 0, "{screen}{rest}");
    assert!(!screen.contains(K1) && !rest.contains(K1), "the key was echoed: {screen}{rest}");
    let pool = s.pool("openrouter");
    assert_eq!(pool[0]["access_token"], K1);
    assert_eq!(pool[0]["label"], "tty");
}

/// `hermes <args>` on a pty of 80 columns × 24 rows (`stty` sets the size on the terminal the
/// program gets, before it starts).
fn spawn_80x24(s: &Sealed, args: &[&str]) -> PtySession {
    let mut c = s.sealed_command("sh");
    c.arg("-c").arg("stty cols 80 rows 24 && exec \"$0\" \"$@\"").arg(env!("CARGO_BIN_EXE_hermes")).args(args);
    spawn_cmd(c)
}

/// Every line of `screen` (ANSI styling and carriage returns removed) fits in `width` columns.
fn assert_fits(screen: &str, width: usize) {
    for line in console::strip_ansi_codes(screen).split('\n') {
        let line = line.trim_end_matches('\r');
        let line = line.rsplit('\r').next().unwrap_or(line);
        assert!(console::measure_text_width(line) <= width, "{} columns: {line:?}\n{screen}", line.len());
    }
}

/// A pool whose entries carry long labels, sources and a long provider reason.
fn wide_pool(s: &Sealed) {
    let reason = "rate_limit_exceeded: you have exceeded the per-minute output token quota of your organisation for this model; please retry after the window resets";
    s.write_auth(&serde_json::json!({"version": 1, "credential_pool": {"openrouter": [
        with(with(with(with(key_entry("aaaaaa", "team-shared-production-key", K1, 0),
            "last_status", serde_json::json!("exhausted")), "last_error_code", serde_json::json!(429)),
            "last_error_reason", serde_json::json!(reason)), "last_error_reset_at", serde_json::json!(s.now + 3600.0)),
        key_entry("bbbbbb", "personal-experiments-key", K2, 1),
    ]}}));
}

/// #14 item 13: `auth list` on an 80×24 terminal keeps every line within 80 columns, one line
/// per entry, the reason shortened with `…`; piped, nothing is cut.
#[test]
fn list_fits_an_80_column_terminal() {
    let s = Sealed::new();
    wide_pool(&s);
    let p = spawn_80x24(&s, &["auth", "list"]);
    let (code, screen) = finish(p);
    assert_eq!(code, 0, "{screen}");
    assert_fits(&screen, 80);
    assert!(screen.contains("team-shared-production-key") || screen.contains("team-shared"), "{screen}");
    assert!(screen.contains('…'), "the long reason is shortened: {screen}");
    assert!(
        screen.contains("cooling: rate-limited (429), 1h 0m left"),
        "the time left is never the part cut: {screen}"
    );
    assert_eq!(screen.matches("sk-o…").count(), 2, "one line per entry: {screen}");
    let piped = s.run(&["auth", "list"]);
    assert!(piped.stdout.contains("left: you have exceeded the per-minute output token quota"), "{}", piped.stdout);
    assert!(piped.stdout.lines().any(|l| l.chars().count() > 80), "piped output is not cut: {}", piped.stdout);
}

/// #14 item 13: the wizard's status view fits the same terminal.
#[test]
fn wizard_status_view_fits_an_80_column_terminal() {
    let s = Sealed::new();
    wide_pool(&s);
    let mut p = spawn_80x24(&s, &["auth"]);
    let screen = expect(&mut p, MENU);
    assert!(screen.contains("openrouter (2 credentials, fill_first)"), "{screen}");
    assert_fits(&screen, 80);
    expect(&mut p, "Quit");
    send(&mut p, "\x1b");
    let (code, _) = finish(p);
    assert_eq!(code, 0);
}

/// #14 item 8: `auth providers` on an 80-column terminal fits and still names every key
/// variable (one per line).
#[test]
fn providers_fit_an_80_column_terminal_without_cutting_variables() {
    let s = Sealed::new();
    let p = spawn_80x24(&s, &["auth", "providers"]);
    let (code, screen) = finish(p);
    assert_eq!(code, 0, "{screen}");
    assert_fits(&screen, 80);
    for var in ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "OPENROUTER_API_KEY"] {
        assert!(screen.contains(var), "{var}: {screen}");
    }
}
