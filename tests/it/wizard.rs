//! The wizard (bare `hermes auth`) and `hermes setup`, in-process with a scripted prompter:
//! every path, each checked against the resulting auth.json and config.yaml and the messages.

use crate::common::{Sealed, T0};
use hermes::cli::printer::{Captured, Printer};
use hermes::cli::prompt::{Answer, ScriptedPrompter};
use hermes::cli::{setup, wizard};
use hermes::context::Context;
use hermes::error::Error;
use serde_json::{json, Value};
use std::path::PathBuf;

const K1: &str = "sk-or-v1-aaaa1111";
const K2: &str = "sk-or-v1-bbbb2222";

/// The sealed home of [`Sealed`], driven in-process.
struct Fx {
    s: Sealed,
    home: PathBuf,
}

struct Run {
    result: Result<(), Error>,
    prompter: ScriptedPrompter,
    out: Captured,
}

impl Run {
    fn code(&self) -> i32 {
        match &self.result {
            Ok(()) => 0,
            Err(e) => e.exit_code(),
        }
    }

    fn err(&self) -> &str {
        &self.out.stderr
    }
}

impl Fx {
    fn new() -> Fx {
        let s = Sealed::new();
        let home = s.home.clone();
        Fx { s, home }
    }

    fn var(mut self, k: &str, v: &str) -> Fx {
        self.s.var(k, v);
        self
    }

    fn ctx(&self) -> Context {
        self.s.context().0
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::create_dir_all(&self.home).unwrap();
        std::fs::write(self.home.join(name), text).unwrap();
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.home.join("config.yaml")).unwrap_or_default()
    }

    fn auth_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.home.join("auth.json")).ok()
    }

    fn auth(&self) -> Value {
        serde_json::from_slice(&self.auth_bytes().expect("auth.json exists")).unwrap()
    }

    fn pool(&self, key: &str) -> Vec<Value> {
        self.auth()["credential_pool"][key].as_array().cloned().unwrap_or_default()
    }

    fn add(&self, key: &str, secret: &str, label: &str) {
        let home = hermes::home::Home::open(self.ctx()).unwrap();
        let pool = home.pool(key).unwrap();
        hermes::ops::add_api_key(&home, &pool, &hermes::secret::Secret::new(secret), Some(label)).unwrap();
    }

    fn wizard(&self, answers: impl IntoIterator<Item = Answer>) -> Run {
        let mut prompter = ScriptedPrompter::new(answers);
        let mut out = Printer::capturing();
        let result = wizard::run(&self.ctx(), &mut prompter, &mut out, false);
        Run { result, out: out.captured(), prompter }
    }

    fn setup(&self, args: setup::Args, answers: impl IntoIterator<Item = Answer>) -> Run {
        let mut prompter = ScriptedPrompter::new(answers);
        let mut out = Printer::capturing();
        let result = setup::run(args, &self.ctx(), &mut prompter, &mut out);
        Run { result, out: out.captured(), prompter }
    }
}

fn item(s: &str) -> Answer {
    Answer::item(s)
}

fn text(s: &str) -> Answer {
    Answer::text(s)
}

fn flags(provider: Option<&str>, model: Option<&str>, strategy: Option<&str>, fallback: &[&str]) -> setup::Args {
    setup::Args {
        provider: provider.map(str::to_string),
        model: model.map(str::to_string),
        strategy: strategy.map(str::to_string),
        fallback: fallback.iter().map(|s| s.to_string()).collect(),
        no_input: true,
    }
}

/// The lines of `after` that differ from `before`, which must have the same number of lines.
fn changed_lines(before: &str, after: &str) -> Vec<(usize, String, String)> {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len(), "line count changed:\n{after}");
    b.iter()
        .zip(&a)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i, x.to_string(), y.to_string()))
        .collect()
}

/// A config.yaml with comments and 20 keys hermes does not use, around the ones it does.
fn big_config() -> String {
    let mut s = String::from("# hermes-agent settings\n# edited by hand; keep these comments\n\n");
    for i in 1..=10 {
        s.push_str(&format!("# about key{i}\nkey{i}: value-{i}  # trailing {i}\n"));
    }
    s.push_str("model:\n  provider: openrouter   # the primary\n  default: anthropic/claude-sonnet-4\n\n");
    s.push_str("credential_pool_strategies:\n  # per pool\n  anthropic: random\n  openrouter: fill_first  # keep\n\n");
    for i in 11..=20 {
        s.push_str(&format!("key{i}:\n  nested: [1, 2, {i}]   # list {i}\n  'quoted': \"x{i}\"\n"));
    }
    s.push_str("# the end\n");
    s
}

// ---------------------------------------------------------------- wizard: entering and leaving

#[test]
fn no_terminal_is_a_usage_error_naming_the_commands() {
    let fx = Fx::new();
    let mut prompter = ScriptedPrompter::no_terminal();
    let mut out = Printer::capturing();
    let err = wizard::run(&fx.ctx(), &mut prompter, &mut out, false).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let msg = err.to_string();
    for want in ["hermes auth add", "--api-key -", "hermes auth remove", "hermes auth reset", "hermes auth strategy"] {
        assert!(msg.contains(want), "{want}: {msg}");
    }
    assert!(prompter.asked.is_empty());
    assert!(!fx.home.exists());
}

#[test]
fn quit_esc_and_ctrl_c_at_the_menu_exit_0_and_write_nothing() {
    for answer in [item("Quit"), Answer::Interrupt] {
        let fx = Fx::new();
        let r = fx.wizard([answer]);
        assert_eq!(r.code(), 0, "{:?}", r.result);
        assert!(r.err().starts_with("No credentials yet."), "{}", r.err());
        assert_eq!(
            r.prompter.asked[0].items,
            ["Add a credential", "Remove a credential", "Reset cooldowns", "Set rotation strategy", "Quit"]
        );
        assert!(!fx.home.exists(), "the wizard created the home");
    }
}

#[test]
fn status_view_shows_every_pool_with_the_next_pick() {
    let fx = Fx::new().var("DEEPSEEK_API_KEY", "sk-deepseek-1234567890");
    fx.add("openrouter", K1, "personal");
    fx.add("openrouter", K2, "work");
    let r = fx.wizard([Answer::Interrupt]);
    assert_eq!(r.code(), 0);
    let err = r.err();
    assert!(err.contains("deepseek (1 credential, fill_first)"), "{err}");
    assert!(err.contains("openrouter (2 credentials, fill_first)"), "{err}");
    let personal = err.lines().find(|l| l.contains("personal")).unwrap();
    assert!(personal.contains("api_key") && personal.contains("manual") && personal.contains("ok"), "{personal}");
    assert!(personal.trim_end().ends_with('←'), "{personal}");
    assert!(!err.lines().find(|l| l.contains("  work  ")).unwrap().contains('←'));
    assert!(err.contains("* not yet saved"), "the seeded deepseek row is explained: {err}");
}

#[test]
fn status_view_shows_cooldown_time_left() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    let mut a = fx.auth();
    let e = &mut a["credential_pool"]["openrouter"][0];
    e["last_status"] = json!("exhausted");
    e["last_status_at"] = json!(T0 - 10.0);
    e["last_error_code"] = json!(429);
    e["last_error_reset_at"] = json!(T0 + 42.0);
    fx.write("auth.json", &serde_json::to_string_pretty(&a).unwrap());
    let r = fx.wizard([Answer::Interrupt]);
    assert!(r.err().contains("cooling: rate-limited (429), 42s left"), "{}", r.err());
}

// ---------------------------------------------------------------- wizard: add

#[test]
fn add_an_api_key_with_the_default_label() {
    let fx = Fx::new();
    let r = fx.wizard([item("Add"), item("openrouter"), text(K1), Answer::Default, item("Quit")]);
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    let pool = fx.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0]["access_token"], K1);
    assert_eq!(pool[0]["label"], "api-key-1");
    assert_eq!(pool[0]["source"], "manual");
    assert_eq!(pool[0]["base_url"], "https://openrouter.ai/api/v1");
    assert!(r.err().contains("Added openrouter credential #1 (id "), "{}", r.err());
    assert!(!r.err().contains(K1), "the key was echoed");
    // The status view comes back after the action, and the menu with it.
    assert!(r.err().contains("openrouter (1 credential, fill_first)"), "{}", r.err());
    assert_eq!(r.prompter.asked_of("select").len(), 2);
    let label = &r.prompter.asked_of("input")[0];
    assert_eq!((label.prompt.as_str(), label.default.as_deref()), ("Label", Some("api-key-1")));
    assert_eq!(r.prompter.asked_of("password")[0].prompt, "Paste your API key");
    assert!(!fx.home.join("config.yaml").exists(), "adding a key does not write config.yaml");
}

#[test]
fn provider_list_offers_registry_aliases_and_configured_customs() {
    let fx = Fx::new();
    fx.write("config.yaml", "custom_providers:\n  - name: My Local LLM\n    base_url: http://127.0.0.1:8080/v1/\n");
    let r =
        fx.wizard([item("Add"), item("custom:my-local-llm"), text("sk-local-123456789"), text("box"), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    let list = &r.prompter.asked_of("fuzzy_select")[0].items;
    assert!(list.contains(&"openrouter (or, open-router)".to_string()), "{list:?}");
    assert!(list.contains(&"anthropic (claude, claude-code, claude-oauth)".to_string()));
    assert!(list.contains(&"custom:my-local-llm (My Local LLM)".to_string()));
    let pool = fx.pool("custom:my-local-llm");
    assert_eq!(pool[0]["label"], "box");
    assert_eq!(pool[0]["base_url"], "http://127.0.0.1:8080/v1");
}

#[test]
fn second_add_gets_the_next_default_label_and_a_custom_label_is_kept() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "api-key-1");
    let r = fx.wizard([item("Add"), item("openrouter"), text(K2), text("work"), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert_eq!(r.prompter.asked_of("input")[0].default.as_deref(), Some("api-key-2"));
    let labels: Vec<String> = fx.pool("openrouter").iter().map(|e| e["label"].as_str().unwrap().to_string()).collect();
    assert_eq!(labels, ["api-key-1", "work"]);
}

#[test]
fn failed_adds_print_the_error_write_nothing_and_return_to_the_menu() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "work");
    let before = fx.auth_bytes();
    let r = fx.wizard([
        // a label already used (docs/design.md#ids-labels-priorities)
        item("Add"),
        item("openrouter"),
        text(K2),
        text("work"),
        // the same key again: refused before the label question
        item("Add"),
        item("openrouter"),
        text(K1),
        // an empty key
        item("Add"),
        item("openrouter"),
        text("   "),
        // whitespace inside
        item("Add"),
        item("openrouter"),
        text("sk-or-v1 aaaa"),
        item("Quit"),
    ]);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    let err = r.err();
    assert!(err.contains("error: label \"work\" is already used in openrouter (#1 "), "{err}");
    assert!(err.contains("error: this key is already in openrouter as #1"), "{err}");
    assert!(err.contains("error: no API key provided"), "{err}");
    assert!(err.contains("error: the key contains whitespace"), "{err}");
    assert_eq!(fx.auth_bytes(), before, "nothing written");
    assert_eq!(r.prompter.remaining(), 0);
}

#[test]
fn key_and_oauth_providers_ask_which_kind() {
    let fx = Fx::new();
    let r = fx.wizard([
        item("Add"),
        item("anthropic"),
        item("API key"),
        text("sk-ant-api03-abcdefgh1234"),
        Answer::Default,
        item("Quit"),
    ]);
    assert_eq!(r.code(), 0, "{}", r.err());
    let kind = &r.prompter.asked_of("select")[1];
    assert_eq!(kind.prompt, "API key or OAuth login?");
    assert_eq!(kind.items, ["API key", "OAuth login"]);
    assert_eq!(fx.pool("anthropic")[0]["auth_type"], "api_key");

    // nous is asked the same question; leaving it is an unfinished action: 130, nothing written.
    let fx = Fx::new();
    let r = fx.wizard([item("Add"), item("nous"), Answer::Interrupt]);
    assert_eq!(r.code(), 130);
    assert_eq!(r.prompter.asked.last().unwrap().prompt, "API key or OAuth login?");
    assert!(!fx.home.exists());
}

#[test]
fn codex_goes_straight_to_the_login_saying_where_api_keys_go() {
    // The login's endpoint is a closed local port: it fails at once, and the menu comes back.
    let fx = Fx::new().var("HERMES_CODEX_AUTH_URL", "http://127.0.0.1:9");
    let r = fx.wizard([item("Add"), item("openai-codex"), item("Quit")]);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    let selects = r.prompter.asked_of("select");
    assert!(!selects.iter().any(|a| a.prompt == "API key or OAuth login?"), "no choice offered: {selects:?}");
    assert!(
        r.err().contains(
            "openai-codex takes a ChatGPT login, not an API key (use provider openai-api for an OpenAI API key)"
        ),
        "{}",
        r.err()
    );
    assert!(r.err().contains("error: "), "the failed login is reported: {}", r.err());
    assert!(!fx.home.join("auth.json").exists());
}

/// #14 item 15: Esc inside an action backs out to the menu and says so; the label question
/// comes only after the key is known to be new.
#[test]
fn esc_in_an_action_goes_back_to_the_menu_and_says_nothing_changed() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "work");
    let before = fx.auth_bytes();
    for script in [
        vec![item("Add"), Answer::Escape, item("Quit")],
        vec![item("Add"), item("openrouter"), Answer::Escape, item("Quit")],
        vec![item("Remove"), item("openrouter"), Answer::Index(0), Answer::Escape, item("Quit")],
        vec![item("Reset"), item("openrouter"), Answer::Escape, item("Quit")],
        vec![item("Set rotation"), item("openrouter"), Answer::Escape, item("Quit")],
    ] {
        let r = fx.wizard(script.clone());
        assert_eq!(r.code(), 0, "{script:?}: {:?}", r.result);
        assert!(r.err().contains("Cancelled; nothing was changed."), "{script:?}: {}", r.err());
        assert_eq!(r.prompter.asked.last().unwrap().prompt, "What would you like to do?", "{script:?}");
        assert_eq!(fx.auth_bytes(), before);
    }
    // Ctrl-C in an action still quits with 130.
    let r = fx.wizard([item("Add"), item("openrouter"), Answer::Interrupt]);
    assert_eq!(r.code(), 130);
}

#[test]
fn interrupting_an_add_anywhere_exits_130_and_writes_nothing() {
    let scripts: Vec<Vec<Answer>> = vec![
        vec![item("Add"), Answer::Interrupt],
        vec![item("Add"), item("openrouter"), Answer::Interrupt],
        vec![item("Add"), item("openrouter"), text(K1), Answer::Interrupt],
    ];
    for script in scripts {
        let fx = Fx::new();
        let r = fx.wizard(script);
        assert!(matches!(r.result, Err(Error::Interrupted)), "{:?}", r.result);
        assert_eq!(r.code(), 130);
        assert!(!fx.home.exists(), "something was written");
    }
}

// ---------------------------------------------------------------- wizard: remove

#[test]
fn remove_picks_an_entry_shown_with_index_id_label_and_mask_and_confirms() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    fx.add("openrouter", K2, "work");
    let r = fx.wizard([item("Remove"), item("openrouter"), Answer::Index(0), Answer::Yes(true), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    let pools = &r.prompter.asked_of("select")[1];
    assert_eq!(pools.items, ["openrouter (2 credentials)"]);
    let entries = &r.prompter.asked_of("select")[2];
    assert_eq!(entries.items.len(), 2);
    assert!(
        entries.items[0].starts_with("#1  ") && entries.items[0].ends_with("personal  sk-o…1111"),
        "{:?}",
        entries.items
    );
    let confirm = &r.prompter.asked_of("confirm")[0];
    assert_eq!(confirm.prompt, "Remove openrouter #1 \"personal\" (sk-o…1111)?");
    assert_eq!(confirm.default.as_deref(), Some("no"));
    assert!(r.err().contains("Removed openrouter credential #1 (personal)"), "{}", r.err());
    let pool = fx.pool("openrouter");
    assert_eq!(pool.len(), 1);
    assert_eq!((pool[0]["label"].as_str(), pool[0]["priority"].as_i64()), (Some("work"), Some(0)));
}

#[test]
fn declining_or_leaving_a_removal_keeps_the_entry() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    let before = fx.auth_bytes();
    let r = fx.wizard([item("Remove"), item("openrouter"), Answer::Index(0), Answer::Yes(false), item("Quit")]);
    assert_eq!(r.code(), 0);
    assert!(r.err().contains("Nothing removed."));
    assert_eq!(fx.auth_bytes(), before);
    let r = fx.wizard([item("Remove"), item("openrouter"), Answer::Index(0), Answer::Interrupt]);
    assert_eq!(r.code(), 130);
    assert_eq!(fx.auth_bytes(), before);
}

#[test]
fn removing_an_env_entry_suppresses_it_and_says_the_variable_is_still_set() {
    let fx = Fx::new().var("OPENROUTER_API_KEY", "sk-or-v1-envenvenv999");
    let r = fx.wizard([item("Remove"), item("openrouter"), Answer::Index(0), Answer::Yes(true), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert!(r.err().contains("OPENROUTER_API_KEY is still set in .env/your environment"), "{}", r.err());
    assert_eq!(fx.auth()["suppressed_sources"]["openrouter"], json!(["env:OPENROUTER_API_KEY"]));
    assert!(r.err().ends_with("No credentials yet.\n"), "the row is gone from the status view: {}", r.err());
}

#[test]
fn remove_with_no_credentials_says_so() {
    let fx = Fx::new();
    let r = fx.wizard([item("Remove"), item("Quit")]);
    assert_eq!(r.code(), 0);
    assert_eq!(r.err().matches("No credentials yet.").count(), 3, "{}", r.err());
    assert!(!fx.home.exists());
}

// ---------------------------------------------------------------- wizard: reset

fn bench(fx: &Fx, i: usize, status: &str) {
    let mut a = fx.auth();
    let e = &mut a["credential_pool"]["openrouter"][i];
    e["last_status"] = json!(status);
    e["last_status_at"] = json!(T0 - 10.0);
    e["last_error_code"] = json!(if status == "dead" { 401 } else { 429 });
    e["last_error_reason"] = json!(if status == "dead" { "token_invalidated" } else { "rate_limit_exceeded" });
    if status == "exhausted" {
        e["last_error_reset_at"] = json!(T0 + 600.0);
    }
    fx.write("auth.json", &serde_json::to_string_pretty(&a).unwrap());
}

#[test]
fn reset_all_cooldowns_of_a_provider() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    fx.add("openrouter", K2, "work");
    bench(&fx, 0, "exhausted");
    bench(&fx, 1, "dead");
    let r = fx.wizard([item("Reset"), item("openrouter"), item("All cooldowns"), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert_eq!(r.prompter.asked_of("select")[2].items, ["All cooldowns in openrouter", "One credential"]);
    assert!(r.err().contains("Reset 1 cooldown in openrouter"), "{}", r.err());
    assert!(r.err().contains("1 dead credential not reset"), "{}", r.err());
    let pool = fx.pool("openrouter");
    assert!(pool[0]["last_status"].is_null() && pool[0]["last_error_reset_at"].is_null());
    assert_eq!(pool[1]["last_status"], "dead");
}

#[test]
fn reset_one_entry_revives_even_a_dead_one() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    fx.add("openrouter", K2, "work");
    bench(&fx, 0, "exhausted");
    bench(&fx, 1, "dead");
    let r = fx.wizard([item("Reset"), item("openrouter"), item("One credential"), Answer::Index(1), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    let entries = &r.prompter.asked_of("select")[3].items;
    assert!(entries[0].contains("cooling: rate-limited"), "{entries:?}");
    assert!(entries[1].contains("dead: token_invalidated (401)"), "{entries:?}");
    assert!(r.err().contains("Reset 1 cooldown in openrouter"), "{}", r.err());
    let pool = fx.pool("openrouter");
    assert_eq!(pool[0]["last_status"], "exhausted", "only the chosen entry");
    assert!(pool[1]["last_status"].is_null());
}

// ---------------------------------------------------------------- wizard: strategy

#[test]
fn strategy_picker_marks_the_current_one_and_writes_only_that_key() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    let before = big_config();
    fx.write("config.yaml", &before);
    let r = fx.wizard([item("Set rotation"), Answer::Default, item("least_used"), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    let picker = &r.prompter.asked_of("select")[1];
    assert_eq!(picker.prompt, "Rotation strategy for openrouter");
    assert_eq!(
        picker.items,
        [
            "fill_first — use the first key until it is benched ←",
            "round_robin — cycle through keys evenly",
            "least_used — pick the key with the fewest requests",
            "random — random choice",
            "headroom — pick the key the provider says has the most left",
        ]
    );
    assert_eq!(picker.default.as_deref(), Some(picker.items[0].as_str()));
    assert!(r.err().contains("Current strategy for openrouter: fill_first"), "{}", r.err());
    assert!(r.err().contains("Saved openrouter rotation strategy: least_used"), "{}", r.err());
    assert!(
        r.err().contains("openrouter (1 credential, least_used)"),
        "the status view reads the new config: {}",
        r.err()
    );
    let after = fx.config();
    let changed = changed_lines(&before, &after);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].2, "  openrouter: least_used  # keep");
}

#[test]
fn strategy_for_a_pool_without_entries_and_a_custom_key() {
    let fx = Fx::new();
    fx.write("config.yaml", "custom_providers:\n  - name: My LLM\n    base_url: http://x/v1\n");
    let r = fx.wizard([item("Set rotation"), item("custom:my-llm"), item("round_robin"), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert_eq!(
        fx.config(),
        "custom_providers:\n  - name: My LLM\n    base_url: http://x/v1\ncredential_pool_strategies:\n  \"custom:my-llm\": round_robin\n"
    );
}

#[test]
fn strategy_spelled_as_an_alias_is_replaced_in_place() {
    let fx = Fx::new();
    fx.write("config.yaml", "credential_pool_strategies:\n  OR: round_robin\n");
    let r = fx.wizard([item("Set rotation"), item("openrouter"), item("random"), item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert!(r.err().contains("Current strategy for openrouter: round_robin"), "{}", r.err());
    assert_eq!(fx.config(), "credential_pool_strategies:\n  OR: random\n");
}

#[test]
fn choosing_the_strategy_already_set_writes_nothing() {
    let fx = Fx::new();
    let before = big_config();
    fx.write("config.yaml", &before);
    let r = fx.wizard([item("Set rotation"), item("anthropic"), Answer::Default, item("Quit")]);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert!(r.err().contains("anthropic rotation strategy is already random; config.yaml unchanged"), "{}", r.err());
    assert_eq!(fx.config(), before);
}

#[test]
fn leaving_the_strategy_picker_exits_130_with_config_untouched() {
    let fx = Fx::new();
    let before = big_config();
    fx.write("config.yaml", &before);
    let r = fx.wizard([item("Set rotation"), item("openrouter"), Answer::Interrupt]);
    assert_eq!(r.code(), 130);
    assert_eq!(fx.config(), before);
}

#[test]
fn an_invalid_strategy_in_config_warns_once_per_session() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    fx.write("config.yaml", "credential_pool_strategies:\n  openrouter: bogus\n");
    let r = fx.wizard([item("Remove"), item("openrouter"), Answer::Index(0), Answer::Yes(false), item("Quit")]);
    assert_eq!(r.code(), 0);
    assert_eq!(r.err().matches("\"bogus\" is not a strategy; using fill_first").count(), 1, "{}", r.err());
}

#[test]
fn a_config_that_does_not_parse_is_reported_and_left_alone() {
    let fx = Fx::new();
    let broken = "# mine\nmodel: [unclosed\n";
    fx.write("config.yaml", broken);
    let r = fx.wizard([item("Quit")]);
    assert_eq!(r.code(), 1);
    assert!(r.result.unwrap_err().to_string().contains("config.yaml: invalid YAML"));
    assert!(r.prompter.asked.is_empty());
    assert_eq!(fx.config(), broken);
    let r = fx.setup(flags(Some("openrouter"), None, Some("random"), &[]), []);
    assert_eq!(r.code(), 1);
    assert_eq!(fx.config(), broken);
}

// ---------------------------------------------------------------- setup with flags

#[test]
fn setup_needs_no_input_without_a_terminal() {
    let fx = Fx::new();
    let mut prompter = ScriptedPrompter::no_terminal();
    let mut out = Printer::capturing();
    let args = setup::Args { no_input: false, ..flags(Some("openrouter"), Some("m"), None, &[]) };
    let err = setup::run(args, &fx.ctx(), &mut prompter, &mut out).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    for want in ["--no-input", "--provider", "--model", "--strategy", "--fallback"] {
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
    assert!(!fx.home.exists());
}

#[test]
fn setup_no_input_writes_every_flag_and_names_the_add_command() {
    let fx = Fx::new();
    fx.write("config.yaml", "# my config\ncustom_providers:\n  - name: mock2\n    base_url: http://127.0.0.1:9/v1\n");
    let r = fx.setup(
        flags(
            Some("or"),
            Some("anthropic/claude-sonnet-4"),
            Some("least_used"),
            &["anthropic:claude-sonnet-4", "custom:mock2:mock-model"],
        ),
        [],
    );
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert!(r.prompter.asked.is_empty());
    assert!(
        r.err().contains("openrouter has no credentials; add one with: hermes auth add openrouter --api-key -"),
        "{}",
        r.err()
    );
    assert!(
        r.err().contains("Saved model.provider: openrouter, model.default: anthropic/claude-sonnet-4"),
        "{}",
        r.err()
    );
    assert!(r.err().contains("Saved openrouter rotation strategy: least_used"), "{}", r.err());
    assert!(
        r.err().contains("Saved fallback chain: anthropic/claude-sonnet-4 → custom:mock2/mock-model"),
        "{}",
        r.err()
    );
    assert_eq!(
        fx.config(),
        "# my config\ncustom_providers:\n  - name: mock2\n    base_url: http://127.0.0.1:9/v1\n\
         model:\n  provider: openrouter\n  default: anthropic/claude-sonnet-4\n\
         credential_pool_strategies:\n  openrouter: least_used\n\
         fallback_providers:\n  - provider: anthropic\n    model: claude-sonnet-4\n  - provider: \"custom:mock2\"\n    model: mock-model\n"
    );
    assert!(fx.auth_bytes().is_none(), "setup never writes auth.json by itself");
}

#[test]
fn setup_no_input_with_a_credential_says_nothing_about_adding() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "personal");
    let r = fx.setup(flags(Some("openrouter"), None, None, &[]), []);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert!(!r.err().contains("hermes auth add"), "{}", r.err());
    assert_eq!(fx.config(), "model:\n  provider: openrouter\n");
}

#[test]
fn setup_flag_errors_exit_before_anything_is_written() {
    let fx = Fx::new();
    let before = big_config();
    fx.write("config.yaml", &before);
    let cases: Vec<(setup::Args, i32, &str)> = vec![
        (flags(Some("openroutr"), None, None, &[]), 1, "did you mean openrouter?"),
        (flags(Some("openrouter"), None, Some("bogus"), &[]), 2, "fill_first, round_robin, least_used, random"),
        (flags(None, None, None, &["anthropic"]), 2, "expected PROVIDER:MODEL"),
        (flags(None, None, None, &["antropic:claude"]), 1, "did you mean anthropic?"),
        (flags(Some("openrouter"), Some(" "), None, &[]), 2, "--model is empty"),
        (flags(Some("xai-oauth"), None, None, &[]), 2, "not supported by hermes"),
    ];
    for (args, code, want) in cases {
        let r = fx.setup(args, []);
        assert_eq!(r.code(), code, "{want}: {:?}", r.result);
        let msg = hermes::cli::errors::render(&r.result.unwrap_err());
        assert!(msg.contains(want), "{want}: {msg}");
        assert_eq!(fx.config(), before);
    }
}

#[test]
fn setup_strategy_without_any_provider_is_a_usage_error() {
    let fx = Fx::new();
    let r = fx.setup(flags(None, None, Some("random"), &[]), []);
    assert_eq!(r.code(), 2);
    assert!(r.result.unwrap_err().to_string().contains("hermes auth strategy PROVIDER NAME"));
    // With model.provider in the file, the flag applies to it.
    fx.write("config.yaml", "model:\n  provider: deepseek\n");
    let r = fx.setup(flags(None, None, Some("random"), &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert_eq!(fx.config(), "model:\n  provider: deepseek\ncredential_pool_strategies:\n  deepseek: random\n");
}

#[test]
fn setup_keeps_20_unrelated_keys_and_comments_byte_for_byte() {
    let fx = Fx::new();
    let before = big_config();
    fx.write("config.yaml", &before);
    let r = fx.setup(flags(Some("openrouter"), None, Some("round_robin"), &[]), []);
    assert_eq!(r.code(), 0, "{}", r.err());
    let after = fx.config();
    let changed = changed_lines(&before, &after);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].1, "  openrouter: fill_first  # keep");
    assert_eq!(changed[0].2, "  openrouter: round_robin  # keep");

    // A new provider and model change exactly those two lines too.
    let r = fx.setup(flags(Some("deepseek"), Some("deepseek-chat"), None, &[]), []);
    assert_eq!(r.code(), 0, "{}", r.err());
    let changed = changed_lines(&after, &fx.config());
    let new: Vec<&str> = changed.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(new, ["  provider: deepseek   # the primary", "  default: deepseek-chat"]);
}

#[test]
fn setup_appends_a_missing_section_and_rewrites_only_a_flow_line() {
    let fx = Fx::new();
    fx.write("config.yaml", "model:\n  provider: openrouter\nagent:\n  max_turns: 150\n");
    let r = fx.setup(flags(Some("openrouter"), None, Some("least_used"), &[]), []);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert_eq!(
        fx.config(),
        "model:\n  provider: openrouter\nagent:\n  max_turns: 150\ncredential_pool_strategies:\n  openrouter: least_used\n"
    );
    let fx = Fx::new();
    let before =
        "model:\n  provider: openrouter\ncredential_pool_strategies: {}   # none yet\ntoolsets:\n- hermes-cli\n";
    fx.write("config.yaml", before);
    let r = fx.setup(flags(Some("openrouter"), None, Some("least_used"), &[]), []);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert_eq!(
        fx.config(),
        "model:\n  provider: openrouter\ncredential_pool_strategies:   # none yet\n  openrouter: least_used\ntoolsets:\n- hermes-cli\n"
    );
}

#[test]
fn setup_with_nothing_to_change_writes_nothing() {
    let fx = Fx::new();
    let before = big_config();
    fx.write("config.yaml", &before);
    let r = fx.setup(flags(Some("openrouter"), Some("anthropic/claude-sonnet-4"), None, &[]), []);
    assert_eq!(r.code(), 0, "{}", r.err());
    assert!(r.err().contains("Nothing to change in "), "{}", r.err());
    assert_eq!(fx.config(), before);
}

#[test]
fn setup_keeps_a_custom_provider_matched_by_base_url() {
    let fx = Fx::new();
    let before = "model:\n  provider: custom\n  base_url: http://127.0.0.1:8080/v1\ncustom_providers:\n  - name: Local\n    base_url: http://127.0.0.1:8080/v1/\n";
    fx.write("config.yaml", before);
    let r = fx.setup(flags(None, None, Some("random"), &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert_eq!(fx.config(), format!("{before}credential_pool_strategies:\n  \"custom:local\": random\n"));
    assert!(r.err().contains("custom:local has no credentials"), "{}", r.err());
}

// ---------------------------------------------------------------- setup on a terminal

#[test]
fn setup_asks_every_step_and_offers_to_add_a_credential() {
    let fx = Fx::new();
    fx.write("config.yaml", "# mine\nmodel:\n  provider: auto\n  default: old-model\n");
    let r = fx.setup(
        setup::Args::default(),
        [
            item("openrouter"),
            text("anthropic/claude-sonnet-4"),
            Answer::Yes(true),
            text(K1),
            text("work"),
            Answer::Yes(false),
        ],
    );
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    let asked: Vec<&str> = r.prompter.asked.iter().map(|a| a.prompt.as_str()).collect();
    assert_eq!(
        asked,
        [
            "Default provider",
            "Default model for openrouter",
            "openrouter has no credentials yet. Add one now?",
            "Paste your API key",
            "Label",
            "Add a fallback provider chain?",
        ]
    );
    // old-model was chosen for another provider ("auto"): it is not offered for openrouter.
    assert_eq!(r.prompter.asked[1].default.as_deref(), None);
    assert_eq!(fx.pool("openrouter")[0]["label"], "work");
    assert_eq!(fx.config(), "# mine\nmodel:\n  provider: openrouter\n  default: anthropic/claude-sonnet-4\n");
}

#[test]
fn setup_asks_the_strategy_when_the_pool_has_several_entries() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "a");
    fx.add("openrouter", K2, "b");
    fx.write("config.yaml", "model:\n  provider: openrouter\n  default: m\n");
    let r =
        fx.setup(setup::Args::default(), [Answer::Default, Answer::Default, item("round_robin"), Answer::Yes(false)]);
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert_eq!(
        r.prompter.asked[0].default.as_deref(),
        Some("openrouter (or, open-router)"),
        "current provider preselected"
    );
    let picker = &r.prompter.asked[2];
    assert_eq!(picker.items[0], "fill_first — use the first key until it is benched ←");
    assert!(r.err().contains("Current strategy for openrouter: fill_first"));
    assert!(r.err().contains("Saved openrouter rotation strategy: round_robin"), "{}", r.err());
    assert_eq!(
        fx.config(),
        "model:\n  provider: openrouter\n  default: m\ncredential_pool_strategies:\n  openrouter: round_robin\n"
    );
}

#[test]
fn setup_flags_answer_their_steps_on_a_terminal() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "a");
    fx.add("openrouter", K2, "b");
    let args =
        setup::Args { no_input: false, ..flags(Some("openrouter"), Some("m"), Some("random"), &["nous:hermes-4"]) };
    let r = fx.setup(args, []);
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert!(r.prompter.asked.is_empty(), "{:?}", r.prompter.asked);
    assert_eq!(
        fx.config(),
        "model:\n  provider: openrouter\n  default: m\ncredential_pool_strategies:\n  openrouter: random\nfallback_providers:\n  - provider: nous\n    model: hermes-4\n"
    );
}

#[test]
fn setup_builds_a_fallback_chain() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "a");
    let r = fx.setup(
        setup::Args { no_input: false, ..flags(Some("openrouter"), Some("m"), None, &[]) },
        [
            Answer::Yes(true),
            item("anthropic"),
            text(""),
            text("claude-sonnet-4"),
            Answer::Yes(true),
            item("nous"),
            text("Hermes-4-70B"),
            Answer::Yes(false),
        ],
    );
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert!(r.err().contains("a model is needed"), "{}", r.err());
    assert!(r.err().contains("Saved fallback chain: anthropic/claude-sonnet-4 → nous/Hermes-4-70B"), "{}", r.err());
    assert!(fx.config().ends_with(
        "fallback_providers:\n  - provider: anthropic\n    model: claude-sonnet-4\n  - provider: nous\n    model: Hermes-4-70B\n"
    ));
}

#[test]
fn setup_keeps_or_removes_an_existing_chain() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "a");
    let before = "model:\n  provider: openrouter\n  default: m\nfallback_providers:\n  - provider: nous\n    model: hermes\n    key_env: NOUS_KEY\n";
    fx.write("config.yaml", before);
    let r = fx.setup(setup::Args::default(), [Answer::Default, Answer::Default, item("Keep it")]);
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert!(r.err().contains("Fallback chain: nous/hermes"), "{}", r.err());
    assert_eq!(fx.config(), before);
    let r = fx.setup(setup::Args::default(), [Answer::Default, Answer::Default, item("Remove it")]);
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert_eq!(fx.config(), "model:\n  provider: openrouter\n  default: m\nfallback_providers: []\n");
}

#[test]
fn leaving_setup_at_any_prompt_exits_130_and_writes_nothing() {
    let scripts: Vec<Vec<Answer>> = vec![
        vec![Answer::Interrupt],
        vec![item("openrouter"), Answer::Interrupt],
        vec![item("openrouter"), text("m"), Answer::Interrupt],
        vec![item("openrouter"), text("m"), Answer::Yes(true), Answer::Interrupt],
        vec![item("openrouter"), text("m"), Answer::Yes(true), text(K1), Answer::Interrupt],
        vec![item("openrouter"), text("m"), Answer::Yes(false), Answer::Interrupt],
        vec![item("openrouter"), text("m"), Answer::Yes(false), Answer::Yes(true), item("nous"), Answer::Interrupt],
    ];
    for script in scripts {
        let fx = Fx::new();
        let before = big_config();
        fx.write("config.yaml", &before);
        let r = fx.setup(setup::Args::default(), script.clone());
        assert_eq!(r.code(), 130, "{script:?}: {:?}", r.result);
        assert_eq!(fx.config(), before, "{script:?}");
        assert!(fx.auth_bytes().is_none(), "{script:?}");
    }
}

#[test]
fn a_failed_add_in_setup_is_reported_and_setup_goes_on() {
    let fx = Fx::new();
    let r = fx.setup(
        setup::Args::default(),
        [item("openrouter"), text("m"), Answer::Yes(true), text(""), Answer::Yes(false)],
    );
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert!(r.err().contains("error: no API key provided"), "{}", r.err());
    assert!(r.err().contains("add one later with: hermes auth add openrouter --api-key -"), "{}", r.err());
    assert_eq!(fx.config(), "model:\n  provider: openrouter\n  default: m\n");
}

// #14 items 1-4: setup never leaves chat broken.

#[test]
fn setup_switching_provider_without_a_model_is_refused_without_a_terminal() {
    let fx = Fx::new();
    let before = "model:\n  provider: anthropic\n  default: claude-sonnet-4\n";
    fx.write("config.yaml", before);
    let r = fx.setup(flags(Some("openrouter"), None, Some("round_robin"), &[]), []);
    assert_eq!(r.code(), 2, "{:?}", r.result);
    let msg = r.result.unwrap_err().to_string();
    assert!(msg.contains("--provider openrouter changes the default provider (now anthropic)"), "{msg}");
    assert!(msg.contains("pass --model M"), "{msg}");
    assert_eq!(fx.config(), before, "nothing written");
    // The same provider, or a model given with it, is fine.
    let r = fx.setup(flags(Some("anthropic"), None, Some("round_robin"), &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert!(fx.config().starts_with(before));
    let r = fx.setup(flags(Some("openrouter"), Some("anthropic/claude-sonnet-4"), None, &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert!(fx.config().contains("provider: openrouter\n  default: anthropic/claude-sonnet-4\n"), "{}", fx.config());
}

#[test]
fn setup_refuses_an_empty_model_and_offers_only_the_chosen_providers_model() {
    let fx = Fx::new();
    fx.add("openrouter", K1, "a");
    fx.add("anthropic", "sk-ant-api03-aaaa1111", "a");
    fx.write("config.yaml", "model:\n  provider: anthropic\n  default: claude-sonnet-4\n");
    let r = fx.setup(
        setup::Args::default(),
        [item("openrouter"), text(""), text("  "), text("x-ai/grok-4"), Answer::Yes(false)],
    );
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert_eq!(r.prompter.asked[1].prompt, "Default model for openrouter");
    assert_eq!(r.prompter.asked[1].default, None, "the anthropic model is not offered for openrouter");
    assert_eq!(r.err().matches("a model is needed").count(), 2, "{}", r.err());
    assert_eq!(fx.config(), "model:\n  provider: openrouter\n  default: x-ai/grok-4\n");
    // Staying on the provider offers its model, and Enter keeps it.
    let r = fx.setup(setup::Args::default(), [Answer::Default, Answer::Default, Answer::Yes(false)]);
    assert_eq!(r.code(), 0, "{:?} {}", r.result, r.err());
    assert_eq!(r.prompter.asked[1].default.as_deref(), Some("x-ai/grok-4"));
    assert_eq!(fx.config(), "model:\n  provider: openrouter\n  default: x-ai/grok-4\n");
}

#[test]
fn setup_refuses_targets_chat_cannot_use() {
    let fx = Fx::new();
    let before = "model:\n  provider: openrouter\n  default: m\n";
    fx.write("config.yaml", before);
    let cases: Vec<(setup::Args, &str)> = vec![
        (flags(Some("codex"), Some("gpt-5"), None, &[]), "--provider: openai-codex is not a chat target"),
        (flags(None, None, None, &["codex:gpt-5"]), "--fallback codex:gpt-5: openai-codex is not a chat target"),
        (flags(None, None, None, &["custom:local:m"]), "custom:local has no base URL"),
        (flags(Some("custom:local"), Some("m"), None, &[]), "set its base_url under custom_providers"),
    ];
    for (args, want) in cases {
        let r = fx.setup(args, []);
        assert_eq!(r.code(), 2, "{want}: {:?}", r.result);
        let msg = hermes::cli::errors::render(&r.result.unwrap_err());
        assert!(msg.contains(want), "{want}: {msg}");
        assert_eq!(fx.config(), before);
    }
    // On a terminal the provider list offers only what chat can use.
    let r = fx.setup(setup::Args::default(), [Answer::Interrupt]);
    let items = &r.prompter.asked[0].items;
    assert!(items.iter().any(|i| i.starts_with("openrouter")), "{items:?}");
    assert!(!items.iter().any(|i| i.starts_with("openai-codex")), "{items:?}");
    assert!(!items.iter().any(|i| i.starts_with("azure-foundry")), "no URL set: {items:?}");
}

#[test]
fn setup_ends_with_the_command_to_try() {
    let fx = Fx::new();
    let r = fx.setup(flags(Some("openrouter"), Some("m"), None, &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert!(
        r.err()
            .trim_end()
            .ends_with("Next: openrouter has no credentials; add one with: hermes auth add openrouter --api-key -"),
        "{}",
        r.err()
    );
    fx.add("openrouter", K1, "a");
    let r = fx.setup(flags(None, None, None, &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    let last = r.err().trim_end().lines().last().unwrap().to_string();
    assert!(last.starts_with("Next: try it with: hermes chat -q"), "{last}");
}

#[test]
fn setup_says_which_model_it_kept_for_a_first_provider() {
    let fx = Fx::new();
    fx.write("config.yaml", "model:\n  default: claude-sonnet-4\n");
    let r = fx.setup(flags(Some("anthropic"), None, None, &[]), []);
    assert_eq!(r.code(), 0, "{:?}", r.result);
    assert!(
        r.err().contains("Kept model.default: claude-sonnet-4 for anthropic (pass --model M to change it)"),
        "{}",
        r.err()
    );
    // No credentials: the closing line says so once, with the command.
    assert_eq!(r.err().matches("has no credentials").count(), 1, "{}", r.err());
}
