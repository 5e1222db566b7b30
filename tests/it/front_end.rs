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

const ENVKEY: &str = "sk-or-v1-fromtheenv0123456789";

/// Item 5: removing a borrowed source prints the command that restores it, and that command,
/// `list --all` and adding the same key all work.
#[test]
fn a_removed_source_can_really_be_restored() {
    let mut s = Sealed::new();
    s.var("OPENROUTER_API_KEY", ENVKEY);
    let o = s.run(&["auth", "remove", "openrouter", "1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let restore = o.stderr.split("until you run: ").nth(1).expect("a restore command").trim().to_string();
    assert_eq!(restore, "hermes auth restore openrouter env:OPENROUTER_API_KEY");

    // Hidden from list, shown with --all, with the same command.
    let o = s.run(&["auth", "list"]);
    assert!(o.stderr.contains("1 removed source not shown; see: hermes auth list --all"), "{}", o.stderr);
    let o = s.run(&["auth", "list", "--all"]);
    assert!(
        o.stdout.contains(&format!("removed: env:OPENROUTER_API_KEY (sk-o…6789)\n  restore with: {restore}\n")),
        "{}",
        o.stdout
    );
    let v = s.run(&["auth", "list", "--all", "--json"]).json();
    assert_eq!(v["providers"][0]["removed"][0]["restore"], restore.as_str());

    // The printed command, as printed.
    let args: Vec<&str> = restore.split_whitespace().skip(1).collect();
    let o = s.run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Restored env:OPENROUTER_API_KEY in openrouter"), "{}", o.stderr);
    assert!(s.auth().get("suppressed_sources").is_none());
    assert_eq!(s.pool("openrouter").len(), 1);
    assert_eq!(s.pool("openrouter")[0]["source"], "env:OPENROUTER_API_KEY");

    // Adding the removed source's own key restores it instead of refusing a duplicate.
    s.run(&["auth", "remove", "openrouter", "OPENROUTER_API_KEY"]);
    let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-"], ENVKEY);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("Restored openrouter credential #1"), "{}", o.stderr);
    let pool = s.pool("openrouter");
    assert_eq!(pool.len(), 1, "no manual copy: {pool:?}");
    assert_eq!(pool[0]["source"], "env:OPENROUTER_API_KEY");

    // Restoring what is not removed says what is.
    let o = s.run(&["auth", "restore", "openrouter", "env:NOPE"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("env:NOPE is not removed from openrouter; removed sources: none"), "{}", o.stderr);
}

/// Item 6: the index `list` shows names the same entry after any number of round_robin picks.
#[test]
fn indices_stay_put_while_round_robin_rotates() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "credential_pool_strategies:\n  openrouter: round_robin\n");
    for (k, l) in [(K1, "one"), ("sk-or-v1-bbbb2222", "two"), ("sk-or-v1-cccc3333", "three")] {
        assert_eq!(s.add_key("openrouter", k, Some(l)).code, 0);
    }
    let rows = |s: &Sealed| -> Vec<(u64, String)> {
        let v = s.run(&["auth", "list", "openrouter", "--json"]).json();
        v["providers"][0]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["index"].as_u64().unwrap(), e["label"].as_str().unwrap().to_string()))
            .collect()
    };
    let before = rows(&s);
    let mut handed = Vec::new();
    for _ in 0..4 {
        let o = s.run(&["auth", "token", "openrouter"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        handed.push(o.stdout.trim().to_string());
    }
    assert_eq!(handed[0], K1);
    assert_eq!(handed[1], "sk-or-v1-bbbb2222", "still rotating");
    assert_eq!(rows(&s), before, "list order unchanged by picks");
    // `report 2` and `remove 2` act on what list showed as #2, and say which.
    let o = s.run(&["auth", "report", "openrouter", "2", "--status", "429"]);
    assert!(o.stdout.starts_with("openrouter #2 ") && o.stdout.contains("\"two\""), "{}", o.stdout);
    let o = s.run(&["auth", "reset", "openrouter", "2"]);
    assert!(o.stderr.contains("Reset 1 cooldown in openrouter: #2 ") && o.stderr.contains("\"two\""), "{}", o.stderr);
    let o = s.run(&["auth", "remove", "openrouter", "2"]);
    assert!(o.stderr.contains("Removed openrouter credential #2 (two)"), "{}", o.stderr);
    let labels: Vec<String> = s.pool("openrouter").iter().map(|e| e["label"].as_str().unwrap().to_string()).collect();
    assert_eq!(labels, ["one", "three"]);
}

/// Item 7: labels a TARGET could not tell apart are refused when added.
#[test]
fn labels_that_would_shadow_are_refused() {
    let s = Sealed::new();
    assert_eq!(s.add_key("openrouter", K1, Some("Work")).code, 0);
    let id = s.pool("openrouter")[0]["id"].as_str().unwrap().to_string();
    for (label, want) in [
        ("work", "label \"work\" is already used in openrouter"),
        ("3", "label \"3\" is all digits"),
        (id.as_str(), "is the id of openrouter #1"),
    ] {
        let o = s.run_stdin(&["auth", "add", "openrouter", "--api-key", "-", "--label", label], "sk-or-v1-bbbb2222");
        assert_eq!(o.code, 1, "{label}: {}", o.stderr);
        assert!(o.stderr.contains(want), "{label}: {}", o.stderr);
    }
    assert_eq!(s.pool("openrouter").len(), 1);
}

/// Item 8: `hermes auth providers` lists what an unknown-provider error points at.
#[test]
fn providers_lists_the_registry_and_custom_pools() {
    let s = Sealed::new();
    s.write_home_file("config.yaml", "custom_providers:\n  - name: My Local\n    base_url: http://127.0.0.1:8000/v1\n");
    let o = s.run(&["auth", "providers"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let line = o.stdout.lines().find(|l| l.starts_with("openrouter ")).expect("openrouter row");
    assert!(line.contains("or, open-router") && line.contains("OPENROUTER_API_KEY"), "{line}");
    let codex = o.stdout.lines().find(|l| l.starts_with("openai-codex ")).expect("codex row");
    assert!(codex.contains("oauth") && codex.contains("responses"), "{codex}");
    assert!(o.stdout.contains("custom:my-local  My Local  http://127.0.0.1:8000/v1"), "{}", o.stdout);

    let v = s.run(&["auth", "providers", "--json"]).json();
    let anthropic = v["providers"].as_array().unwrap().iter().find(|p| p["id"] == "anthropic").unwrap().clone();
    assert_eq!(anthropic["oauth"], true);
    assert_eq!(anthropic["api_key"], true);
    assert!(anthropic["env"].as_array().unwrap().iter().any(|e| e == "ANTHROPIC_API_KEY"));
    assert_eq!(v["custom"][0]["id"], "custom:my-local");

    // Every unknown-provider hint points at it, and at custom_providers.
    let o = s.run_stdin(&["auth", "add", "zzzz", "--api-key", "-"], K1);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("see the list: hermes auth providers"), "{}", o.stderr);
    assert!(o.stderr.contains("custom_providers"), "{}", o.stderr);

    // Shell completions offer the provider names.
    let o = s.run(&["completions", "bash"]);
    assert!(o.stdout.contains("openrouter") && o.stdout.contains("open-router"), "no provider names");
    let o = s.run(&["completions", "zsh"]);
    assert!(o.stdout.contains("openai-codex"), "no provider names in zsh");
}

/// Item 17: the man page keeps example command lines as written (no filling or hyphenation).
#[test]
fn man_page_keeps_examples_verbatim() {
    let s = Sealed::new();
    let o = s.run(&["man"]);
    assert_eq!(o.code, 0);
    let example = "  hermes chat \\-q \"Say hi\" \\-\\-provider openrouter \\-\\-model openai/gpt\\-4o\\-mini";
    let at = o.stdout.find(example).unwrap_or_else(|| panic!("no example line: {}", o.stdout));
    let before = &o.stdout[..at];
    assert!(before.rfind(".nf\n") > before.rfind(".fi\n"), "example outside a no-fill block: {}", o.stdout);
}

/// Item 10: a store from another version is not to be moved aside; a path that is not a file
/// names the way out that works.
#[test]
fn store_error_hints_name_a_fix_that_works() {
    let s = Sealed::new();
    s.write_home_file("auth.json", "{\"version\": 99, \"credential_pool\": {}}");
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("upgrade hermes"), "{}", o.stderr);
    assert!(!o.stderr.contains("--force"), "{}", o.stderr);

    let s = Sealed::new();
    std::fs::create_dir_all(s.auth_path()).unwrap();
    let o = s.run(&["auth", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.trim_end().ends_with("hermes auth repair --force"), "{}", o.stderr);
    let o = s.run(&["auth", "repair", "--force"]);
    assert_eq!(o.code, 0, "the hinted command works: {}", o.stderr);
}

/// Item 5: removing hermes-agent's codex login points at a new login, not at a restore that
/// could bring nothing back.
#[test]
fn removing_the_codex_device_login_points_at_a_new_login() {
    let s = Sealed::new();
    let access = jwt(serde_json::json!({"exp": T0 + 3600.0}));
    s.write_auth(&serde_json::json!({"version": 1, "active_provider": "openai-codex",
        "providers": {"openai-codex": {"tokens": {"access_token": access, "refresh_token": "rt-1"},
                                        "last_refresh": "2026-07-01T08:00:00Z"}},
        "credential_pool": {}}));
    let o = s.run(&["auth", "list", "openai-codex", "--json"]);
    assert_eq!(o.json()["providers"][0]["entries"][0]["source"], "device_code", "{}", o.stdout);
    let o = s.run(&["auth", "remove", "openai-codex", "1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("To use openai-codex again, log in: hermes auth add openai-codex"), "{}", o.stderr);
    assert!(!o.stderr.contains("hermes auth restore"), "{}", o.stderr);
    let o = s.run(&["auth", "list", "--all"]);
    assert!(o.stdout.contains("restore with: hermes auth add openai-codex"), "{}", o.stdout);
}
