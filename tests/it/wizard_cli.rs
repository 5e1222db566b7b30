//! Bare `hermes auth` and `hermes setup` run as the real binary without a terminal: they never
//! prompt, never hang, and name the flags to use; `setup --no-input` does the work of the
//! prompts from flags alone.

use crate::common::*;
use std::time::{Duration, Instant};

/// Run with stdin a pipe (not a terminal) and a hard timeout: a prompt would hang here.
fn run_no_tty(s: &Sealed, args: &[&str]) -> (Out, Duration) {
    let start = Instant::now();
    let o = s.cmd().args(args).write_stdin("").timeout(Duration::from_secs(10)).output().expect("run hermes");
    (Out::from(o), start.elapsed())
}

#[test]
fn bare_auth_without_a_terminal_exits_2_at_once_naming_the_commands() {
    let s = Sealed::new();
    let (o, took) = run_no_tty(&s, &["auth"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(o.stdout, "");
    for want in [
        "hermes auth add PROVIDER --api-key -",
        "hermes auth remove",
        "hermes auth reset",
        "hermes auth strategy PROVIDER NAME",
    ] {
        assert!(o.stderr.contains(want), "{want}: {}", o.stderr);
    }
    assert!(o.stderr.starts_with("error: "), "{}", o.stderr);
    assert!(!s.home.exists(), "nothing is created");
}

#[test]
fn bare_auth_with_a_closed_stdin_does_not_hang() {
    let s = Sealed::new();
    let start = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hermes"))
        .arg("auth")
        .env_clear()
        .env("HOME", &s.user_home)
        .env("HERMES_HOME", &s.home)
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("hermes auth hung with stdin closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(2));
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[test]
fn setup_without_a_terminal_needs_no_input() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "# mine\nkey: value\n");
    for args in [&["setup"][..], &["setup", "--provider", "openrouter", "--strategy", "least_used"][..]] {
        let (o, took) = run_no_tty(&s, args);
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(took < Duration::from_secs(3), "took {took:?}");
        for want in ["--no-input", "--provider", "--model", "--strategy", "--fallback"] {
            assert!(o.stderr.contains(want), "{want}: {}", o.stderr);
        }
    }
    assert_eq!(std::fs::read_to_string(s.home.join("config.yaml")).unwrap(), "# mine\nkey: value\n");
    assert!(!s.auth_path().exists());
}

#[test]
fn setup_no_input_does_the_prompts_work_from_flags() {
    let s = Sealed::new();
    s.write_home_file(
        "config.yaml",
        "# mine\ncredential_pool_strategies: {}\nagent:\n  max_turns: 150\ncustom_providers: [{name: mock2, base_url: \"http://127.0.0.1:9/v1\"}]\n",
    );
    let (o, _) = run_no_tty(
        &s,
        &[
            "setup",
            "--no-input",
            "--provider",
            "openrouter",
            "--model",
            "anthropic/claude-sonnet-4",
            "--strategy",
            "least_used",
            "--fallback",
            "anthropic:claude-sonnet-4",
            "--fallback",
            "custom:mock2:mock-model",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "", "stdout stays for data");
    assert!(o.stderr.contains("openrouter has no credentials; add one with: hermes auth add openrouter --api-key -"));
    assert!(o.stderr.contains("Saved openrouter rotation strategy: least_used"), "{}", o.stderr);
    assert_eq!(
        std::fs::read_to_string(s.home.join("config.yaml")).unwrap(),
        "# mine\ncredential_pool_strategies:\n  openrouter: least_used\nagent:\n  max_turns: 150\n\
         custom_providers: [{name: mock2, base_url: \"http://127.0.0.1:9/v1\"}]\n\
         model:\n  provider: openrouter\n  default: anthropic/claude-sonnet-4\n\
         fallback_providers:\n  - provider: anthropic\n    model: claude-sonnet-4\n  - provider: \"custom:mock2\"\n    model: mock-model\n"
    );
    assert!(!s.auth_path().exists());
}

#[test]
fn setup_flag_errors_use_the_documented_exit_codes() {
    let s = Sealed::new();
    let (o, _) = run_no_tty(&s, &["setup", "--no-input", "--provider", "openroutr"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("did you mean openrouter?"), "{}", o.stderr);
    let (o, _) = run_no_tty(&s, &["setup", "--no-input", "--provider", "openrouter", "--strategy", "bogus"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    for v in ["fill_first", "round_robin", "least_used", "random"] {
        assert!(o.stderr.contains(v), "{v}: {}", o.stderr);
    }
    let (o, _) = run_no_tty(&s, &["setup", "--no-input", "--fallback", "anthropic"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("expected PROVIDER:MODEL"), "{}", o.stderr);
    assert!(!s.home.exists());
}

#[test]
fn setup_help_has_examples() {
    let s = Sealed::new();
    let o = s.run(&["setup", "--help"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("Examples:") && o.stdout.contains("--no-input"), "{}", o.stdout);
}
