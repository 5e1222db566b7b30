//! What a new user trips over (issue 14), as the real binary: each test names its item.

use crate::common::*;

const K1: &str = "sk-or-v1-aaaa1111";

/// Item 1: a strategy is set on its own pool; model.provider and model.default stay.
#[test]
fn auth_strategy_shows_and_sets_one_pools_strategy_only() {
    let s = Sealed::new();
    let before = "# mine\nmodel:\n  provider: anthropic\n  default: claude-sonnet-4\n";
    s.write_home_file("config.yaml", before);
    s.add_key("openrouter", K1, Some("a"));

    let o = s.run(&["auth", "strategy", "or"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "openrouter: fill_first (default)\n"), "{}", o.stderr);

    let o = s.run(&["auth", "strategy", "openrouter", "round_robin"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Saved openrouter rotation strategy: round_robin"), "{}", o.stderr);
    let config = std::fs::read_to_string(s.home.join("config.yaml")).unwrap();
    assert_eq!(config, format!("{before}credential_pool_strategies:\n  openrouter: round_robin\n"));

    // Any pool, even one without entries or another wire.
    let o = s.run(&["auth", "strategy", "codex", "least_used", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.json(),
        serde_json::json!({"provider": "openai-codex", "strategy": "least_used", "configured": true, "changed": true})
    );

    let o = s.run(&["auth", "strategy"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout, "PROVIDER      STRATEGY\nopenai-codex  least_used\nopenrouter    round_robin\n",
        "{}",
        o.stdout
    );
    let o = s.run(&["auth", "strategy", "--json"]);
    assert_eq!(o.json()["pools"].as_array().unwrap().len(), 2);

    let o = s.run(&["auth", "strategy", "openrouter", "fastest"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("round_robin"), "{}", o.stderr);
}

/// Item 16: `-v` says which home, auth.json, config.yaml and .env it used, and why.
#[test]
fn verbose_names_the_home_and_files_it_used() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "model:\n  provider: openrouter\n");
    let o = s.run(&["-v", "auth", "list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let home = s.home.display();
    for want in [
        format!("hermes: home: {home} (from HERMES_HOME)"),
        format!("hermes: config.yaml: {home}/config.yaml\n"),
        format!("hermes: .env: {home}/.env (not present)"),
        format!("hermes: auth.json: {home}/auth.json (not present)"),
    ] {
        assert!(o.stderr.contains(&want), "{want}: {}", o.stderr);
    }
    let o = s.run(&["auth", "list"]);
    assert!(!o.stderr.contains("hermes: home:"), "only with -v: {}", o.stderr);

    // Without HERMES_HOME, the home comes from HOME; with HOME empty, it says so.
    let mut s2 = Sealed::new();
    s2.var("HERMES_HOME", "");
    let o = s2.run(&["-v", "auth", "strategy", "--json"]);
    assert!(
        o.stderr.contains(&format!("home: {}/.hermes (from HOME; HERMES_HOME is not set)", s2.user_home.display())),
        "{}",
        o.stderr
    );
}
