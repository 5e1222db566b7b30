//! The config.yaml setters (docs/design.md#config): which keys `setup` and the wizard change,
//! with what value, and the check that makes a text edit safe. The text itself is edited by
//! [`super::yaml_text`].
//!
//! config.yaml belongs to the user and to hermes-agent, so hermes changes it as text: only the
//! lines of the keys it sets change, and comments, order, quoting and blank lines stay as they
//! were. The text edit handles the common layouts (block and one-line flow mappings, a missing
//! section); anything else is caught by the check that follows every edit: old and new files are
//! parsed and must be equal except for exactly the values set. If they are not, the edit is
//! refused with [`ConfigError::UnsafeEdit`] and the file is not touched.
//!
//! The write is atomic (temp file in the same directory, fsync, rename) and keeps the file's
//! mode; a new file, or one holding an `api_key`, is written 0600 (docs/design.md#the-home-belongs-to-its-user).

use super::yaml_text::Doc;
use super::{kind, parse_yaml, read_text, ConfigError};
use serde_yaml_ng::{Mapping, Value};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

const STRATEGIES: &str = "credential_pool_strategies";
const MODEL: &str = "model";
const FALLBACKS: &str = "fallback_providers";

/// Set `credential_pool_strategies.<pool_key>: <strategy>`. Returns Ok(true) if the file changed.
///
/// `pool_key` is matched exactly (quoted or not); to overwrite a key spelled differently in the
/// file, pass the raw key from [`super::Config::strategies`].
pub fn set_strategy(path: &Path, pool_key: &str, strategy: &str) -> Result<bool, ConfigError> {
    apply(path, &[Change::Scalar { section: STRATEGIES, key: pool_key, value: strategy }])
}

/// Set `model.provider` and/or `model.default` (None = leave alone).
///
/// A `model: <name>` string (hermes-agent's short form) stays a string when only `default` is
/// set, and becomes a mapping with `default: <name>` when `provider` is set.
pub fn set_model(path: &Path, provider: Option<&str>, default: Option<&str>) -> Result<bool, ConfigError> {
    let mut changes = Vec::new();
    if let Some(p) = provider {
        changes.push(Change::Scalar { section: MODEL, key: "provider", value: p });
    }
    if let Some(d) = default {
        changes.push(Change::Scalar { section: MODEL, key: "default", value: d });
    }
    if changes.is_empty() {
        return Ok(false);
    }
    apply(path, &changes)
}

/// Replace `fallback_providers` with these (provider, model) pairs (block list of mappings).
pub fn set_fallbacks(path: &Path, entries: &[(String, String)]) -> Result<bool, ConfigError> {
    apply(path, &[Change::List { section: FALLBACKS, entries }])
}

/// One intended change, applied both to the parsed tree (the expectation) and to the text.
enum Change<'a> {
    /// `<section>.<key>: <value>` with `section` a top-level mapping.
    Scalar { section: &'static str, key: &'a str, value: &'a str },
    /// `<section>:` replaced by a list of `{provider, model}` mappings.
    List { section: &'static str, entries: &'a [(String, String)] },
}

fn apply(path: &Path, changes: &[Change]) -> Result<bool, ConfigError> {
    let original = read_text(path)?;
    let old = match &original {
        Some(text) => parse_yaml(path, text)?,
        None => Value::Mapping(Mapping::new()),
    };
    check_types(path, &old, changes)?;
    let mut expected = old.clone();
    for change in changes {
        set_value(&mut expected, change);
    }
    if expected == old {
        return Ok(false);
    }

    let mut doc = Doc::parse(original.as_deref().unwrap_or(""));
    for change in changes {
        let done = match change {
            Change::Scalar { section, key, value } => doc.set_scalar(section, key, value),
            Change::List { section, entries } => doc.set_list(section, entries),
        };
        done.ok_or(ConfigError::UnsafeEdit)?;
    }
    let new_text = doc.render();
    // The text edit is only trusted if the result means exactly what was intended.
    match parse_yaml(path, &new_text) {
        Ok(new) if new == expected => {}
        _ => return Err(ConfigError::UnsafeEdit),
    }
    write_atomic(path, &new_text, holds_api_key(&expected))?;
    Ok(true)
}

/// Refuse to edit under a section whose type hermes cannot extend (a list where a mapping
/// belongs): that is the user's file being wrong, not an unsafe edit.
fn check_types(path: &Path, root: &Value, changes: &[Change]) -> Result<(), ConfigError> {
    for change in changes {
        let Change::Scalar { section, .. } = change else { continue };
        match root.get(section) {
            None | Some(Value::Null) | Some(Value::Mapping(_)) => {}
            Some(Value::String(_)) if *section == MODEL => {}
            Some(other) => {
                let want = if *section == MODEL { "a mapping or a string" } else { "a mapping" };
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    problem: format!("{section}: expected {want}, found {}", kind(other)),
                });
            }
        }
    }
    Ok(())
}

/// Apply a change to a parsed tree (already type-checked).
fn set_value(root: &mut Value, change: &Change) {
    let Value::Mapping(root) = root else { return };
    match change {
        Change::Scalar { section, key, value } => {
            let slot = match root.get_mut(*section) {
                Some(slot) => slot,
                None => {
                    root.insert(Value::from(*section), Value::Null);
                    match root.get_mut(*section) {
                        Some(slot) => slot,
                        None => return,
                    }
                }
            };
            if let Value::String(name) = slot {
                if *key == "default" {
                    *slot = Value::from(*value);
                    return;
                }
                let mut m = Mapping::new();
                m.insert(Value::from("default"), Value::from(name.clone()));
                *slot = Value::Mapping(m);
            }
            if !slot.is_mapping() {
                *slot = Value::Mapping(Mapping::new());
            }
            if let Value::Mapping(m) = slot {
                m.insert(Value::from(*key), Value::from(*value));
            }
        }
        Change::List { section, entries } => {
            let list = entries
                .iter()
                .map(|(provider, model)| {
                    let mut m = Mapping::new();
                    m.insert(Value::from("provider"), Value::from(provider.as_str()));
                    m.insert(Value::from("model"), Value::from(model.as_str()));
                    Value::Mapping(m)
                })
                .collect();
            root.insert(Value::from(*section), Value::Sequence(list));
        }
    }
}

fn holds_api_key(v: &Value) -> bool {
    match v {
        Value::Mapping(m) => m.iter().any(|(k, v)| k.as_str() == Some("api_key") || holds_api_key(v)),
        Value::Sequence(s) => s.iter().any(holds_api_key),
        Value::Tagged(t) => holds_api_key(&t.value),
        _ => false,
    }
}

/// Write `text` to `path` atomically: a temp file in the same directory, fsync, rename.
fn write_atomic(path: &Path, text: &str, holds_api_key: bool) -> Result<(), ConfigError> {
    let io_err = |source| ConfigError::Io { path: path.to_path_buf(), source };
    // A symlinked config (dotfile managers) is edited where it points, not replaced by a file.
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let existing_mode = fs::metadata(&target).ok().map(|m| m.permissions().mode() & 0o7777);
    let mode = match existing_mode {
        Some(_) if holds_api_key => 0o600,
        Some(m) => m,
        None => 0o600,
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        // The home is created 0700 when hermes first has something to write (docs/design.md#files).
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io_err)?;
    }
    crate::files::write_atomic(&target, text.as_bytes(), mode).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml_text::{format_key, format_scalar};
    use crate::config::Config;
    use proptest::prelude::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn file(text: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        fs::write(&path, text).unwrap();
        Fixture { _dir: dir, path }
    }

    fn read(f: &Fixture) -> String {
        fs::read_to_string(&f.path).unwrap()
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn strategy(f: &Fixture, key: &str, value: &str) -> String {
        assert!(set_strategy(&f.path, key, value).unwrap());
        read(f)
    }

    fn assert_unsafe(text: &str, edit: impl FnOnce(&Path) -> Result<bool, ConfigError>) {
        let f = file(text);
        let r = edit(&f.path);
        assert!(matches!(r, Err(ConfigError::UnsafeEdit)), "{text:?}: {r:?}");
        assert_eq!(read(&f), text, "file must be untouched");
        let leftovers: Vec<_> = fs::read_dir(f.path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left");
    }

    #[test]
    fn block_replace_keeps_trailing_comment() {
        let f = file("credential_pool_strategies:\n  openrouter: fill_first   # my choice\n  nous: random\n");
        assert_eq!(
            strategy(&f, "openrouter", "round_robin"),
            "credential_pool_strategies:\n  openrouter: round_robin   # my choice\n  nous: random\n"
        );
    }

    #[test]
    fn block_replace_of_quoted_and_empty_values() {
        let f = file("credential_pool_strategies:\n  openrouter: \"fill # first\"  # c\n  nous:\n");
        assert_eq!(
            strategy(&f, "openrouter", "random"),
            "credential_pool_strategies:\n  openrouter: random  # c\n  nous:\n"
        );
        assert_eq!(
            strategy(&f, "nous", "least_used"),
            "credential_pool_strategies:\n  openrouter: random  # c\n  nous: least_used\n"
        );
    }

    #[test]
    fn append_to_block_uses_its_indent() {
        let f = file(
            "credential_pool_strategies:\n    openrouter: fill_first\n    # nous: random\n\nmodel:\n  default: x\n",
        );
        assert_eq!(
            strategy(&f, "anthropic", "round_robin"),
            "credential_pool_strategies:\n    openrouter: fill_first\n    anthropic: round_robin\n    # nous: random\n\nmodel:\n  default: x\n"
        );
    }

    #[test]
    fn empty_block_gets_two_spaces() {
        let f = file("credential_pool_strategies:   # pools\n# next\nmodel: x\n");
        assert_eq!(
            strategy(&f, "openrouter", "random"),
            "credential_pool_strategies:   # pools\n  openrouter: random\n# next\nmodel: x\n"
        );
        let f = file("credential_pool_strategies:");
        assert_eq!(strategy(&f, "openrouter", "random"), "credential_pool_strategies:\n  openrouter: random\n");
    }

    #[test]
    fn flow_mappings_are_rewritten_as_blocks() {
        let f = file("a: 1\ncredential_pool_strategies: {}  # set by setup\nb: 2\n");
        assert_eq!(
            strategy(&f, "openrouter", "random"),
            "a: 1\ncredential_pool_strategies:  # set by setup\n  openrouter: random\nb: 2\n"
        );
        let f = file("credential_pool_strategies: {nous: random, 'custom:x': fill_first} # c\n");
        assert_eq!(
            strategy(&f, "openrouter", "least_used"),
            "credential_pool_strategies: # c\n  nous: random\n  'custom:x': fill_first\n  openrouter: least_used\n"
        );
        let f = file("credential_pool_strategies: {nous: random, openrouter: fill_first}\n");
        assert_eq!(
            strategy(&f, "openrouter", "least_used"),
            "credential_pool_strategies:\n  nous: random\n  openrouter: least_used\n"
        );
        let f = file("credential_pool_strategies: null\n");
        assert_eq!(strategy(&f, "nous", "random"), "credential_pool_strategies:\n  nous: random\n");
    }

    #[test]
    fn absent_section_is_appended() {
        let f = file("model:\n  default: x\n");
        assert_eq!(
            strategy(&f, "nous", "random"),
            "model:\n  default: x\ncredential_pool_strategies:\n  nous: random\n"
        );
        let f = file("model:\n  default: x  # no newline");
        assert_eq!(
            strategy(&f, "nous", "random"),
            "model:\n  default: x  # no newline\ncredential_pool_strategies:\n  nous: random\n"
        );
        let f = file("");
        assert_eq!(strategy(&f, "nous", "random"), "credential_pool_strategies:\n  nous: random\n");
    }

    #[test]
    fn custom_keys_are_quoted_and_found_quoted_or_not() {
        let f = file("credential_pool_strategies:\n  nous: random\n");
        assert_eq!(
            strategy(&f, "custom:my-llm", "round_robin"),
            "credential_pool_strategies:\n  nous: random\n  \"custom:my-llm\": round_robin\n"
        );
        assert_eq!(
            strategy(&f, "custom:my-llm", "fill_first"),
            "credential_pool_strategies:\n  nous: random\n  \"custom:my-llm\": fill_first\n"
        );
        let f = file("credential_pool_strategies:\n  custom:my-llm: random\n  'custom:other': random\n");
        assert_eq!(
            strategy(&f, "custom:my-llm", "least_used"),
            "credential_pool_strategies:\n  custom:my-llm: least_used\n  'custom:other': random\n"
        );
        assert_eq!(
            strategy(&f, "custom:other", "fill_first"),
            "credential_pool_strategies:\n  custom:my-llm: least_used\n  'custom:other': fill_first\n"
        );
        let c = Config::load(f.path.parent().unwrap()).unwrap();
        assert_eq!(c.strategies[0], ("custom:my-llm".to_string(), "least_used".to_string()));
    }

    #[test]
    fn values_that_need_quotes_are_quoted() {
        assert_eq!(format_scalar("anthropic/claude-sonnet-4"), "anthropic/claude-sonnet-4");
        assert_eq!(format_scalar("custom:mock2"), "\"custom:mock2\"");
        assert_eq!(format_scalar("a # b"), "\"a # b\"");
        assert_eq!(format_scalar("yes"), "\"yes\"");
        assert_eq!(format_scalar("4o"), "\"4o\"");
        assert_eq!(format_scalar("*x"), "\"*x\"");
        assert_eq!(format_scalar(""), "\"\"");
        assert_eq!(format_scalar("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(format_key("openrouter"), "openrouter");
        assert_eq!(format_key("Custom"), "\"Custom\"");
        for v in ["a: b", "#x", "yes", "NULL", "1.5", "-x", "&a", "a\u{2028}b", "tab\there", "é", "\\"] {
            let f = file("");
            set_model(&f.path, None, Some(v)).unwrap();
            let c = Config::load(f.path.parent().unwrap()).unwrap();
            assert_eq!(c.model.default.as_deref(), Some(v));
        }
    }

    #[test]
    fn set_model_when_missing_present_or_string() {
        let f = file("# top\nagent: {}\n");
        assert!(set_model(&f.path, Some("openrouter"), Some("anthropic/claude")).unwrap());
        assert_eq!(read(&f), "# top\nagent: {}\nmodel:\n  provider: openrouter\n  default: anthropic/claude\n");

        let f = file("model:\n  default: old  # the model\n  provider: nous\n  base_url: http://x\n");
        assert!(set_model(&f.path, Some("anthropic"), None).unwrap());
        assert_eq!(read(&f), "model:\n  default: old  # the model\n  provider: anthropic\n  base_url: http://x\n");
        assert!(set_model(&f.path, None, Some("new")).unwrap());
        assert_eq!(read(&f), "model:\n  default: new  # the model\n  provider: anthropic\n  base_url: http://x\n");
        assert!(!set_model(&f.path, Some("anthropic"), Some("new")).unwrap());
        assert!(!set_model(&f.path, None, None).unwrap());

        // hermes-agent's short form stays a string when only the model changes...
        let f = file("model: \"old/model\"  # short form\n");
        assert!(set_model(&f.path, None, Some("new/model")).unwrap());
        assert_eq!(read(&f), "model: new/model  # short form\n");
        // ...and becomes a mapping, keeping the name, when a provider is set.
        assert!(set_model(&f.path, Some("openrouter"), None).unwrap());
        assert_eq!(read(&f), "model:  # short form\n  default: new/model\n  provider: openrouter\n");
    }

    #[test]
    fn replacing_a_nested_value_drops_its_continuation_lines() {
        let f = file("model:\n  default: >\n    folded\n    text\n  # kept comment\n  provider: x\n");
        assert!(set_model(&f.path, None, Some("m")).unwrap());
        assert_eq!(read(&f), "model:\n  default: m\n  # kept comment\n  provider: x\n");
    }

    #[test]
    fn set_fallbacks_replaces_or_appends() {
        let entries =
            vec![("anthropic".to_string(), "claude-3".to_string()), ("custom:mock2".to_string(), "m".to_string())];
        let f = file("a: 1\nfallback_providers:  # chain\n- provider: old\n  model: x\n# between\n- provider: old2\n  model: y\n\n# about b\nb: 2\n");
        assert!(set_fallbacks(&f.path, &entries).unwrap());
        assert_eq!(
            read(&f),
            "a: 1\nfallback_providers:  # chain\n- provider: anthropic\n  model: claude-3\n- provider: \"custom:mock2\"\n  model: m\n\n# about b\nb: 2\n"
        );
        assert!(!set_fallbacks(&f.path, &entries).unwrap());

        let f = file("fallback_providers: [{provider: a, model: b}]\nb: 2\n");
        assert!(set_fallbacks(&f.path, &entries[..1]).unwrap());
        assert_eq!(read(&f), "fallback_providers:\n  - provider: anthropic\n    model: claude-3\nb: 2\n");
        assert!(set_fallbacks(&f.path, &[]).unwrap());
        assert_eq!(read(&f), "fallback_providers: []\nb: 2\n");

        let f = file("b: 2");
        assert!(set_fallbacks(&f.path, &entries[..1]).unwrap());
        assert_eq!(read(&f), "b: 2\nfallback_providers:\n  - provider: anthropic\n    model: claude-3\n");
        let c = Config::load(f.path.parent().unwrap()).unwrap();
        assert_eq!(c.fallback_providers.unwrap()[0].model.as_deref(), Some("claude-3"));
    }

    #[test]
    fn every_other_line_is_byte_identical() {
        let mut text = String::from("# hermes config\n# edited by hand\n\n");
        for i in 0..20 {
            text.push_str(&format!("# about key{i}\nkey{i}:   'value {i}'    # trailing {i}\n"));
            if i % 5 == 0 {
                text.push_str(&format!("nested{i}:\n    deep: [1, 2]   # list\n\n"));
            }
            if i == 7 {
                text.push_str("credential_pool_strategies:\n  nous: random  # keep\n");
            }
            if i == 12 {
                text.push_str("model:\n  default: gpt   # mine\n");
            }
            if i == 15 {
                text.push_str("fallback_providers:\n  - provider: a\n    model: b\n");
            }
        }
        let f = file(&text);
        let check = |before: &str, after: &str, changed: &[&str]| {
            let old: Vec<&str> = before.lines().filter(|l| !changed.iter().any(|c| l.contains(c))).collect();
            let new: Vec<&str> = after.lines().filter(|l| !changed.iter().any(|c| l.contains(c))).collect();
            assert_eq!(old, new);
        };
        let before = read(&f);
        set_strategy(&f.path, "openrouter", "round_robin").unwrap();
        set_strategy(&f.path, "nous", "fill_first").unwrap();
        let after = read(&f);
        check(&before, &after, &["openrouter", "nous"]);
        assert!(after.contains("  nous: fill_first  # keep\n  openrouter: round_robin\n"));

        let before = after;
        set_model(&f.path, Some("openrouter"), Some("claude")).unwrap();
        let after = read(&f);
        check(&before, &after, &["provider: openrouter", "default:"]);
        assert!(after.contains("model:\n  default: claude   # mine\n  provider: openrouter\n"));

        let before = after;
        set_fallbacks(&f.path, &[("nous".into(), "hermes-3".into()), ("anthropic".into(), "claude".into())]).unwrap();
        let after = read(&f);
        check(&before, &after, &["provider:", "model: b", "model: hermes-3", "model: claude"]);
        assert!(after.contains(
            "fallback_providers:\n  - provider: nous\n    model: hermes-3\n  - provider: anthropic\n    model: claude\n# about key16\n"
        ));
    }

    #[test]
    fn files_as_hermes_agent_writes_them() {
        // PyYAML's dump: flow `{}`/`[]` for empty containers, lists at column 0, '' strings.
        let text = "model:\n  default: anthropic/claude-opus-4\n  provider: auto\n  base_url: ''\nproviders: {}\nfallback_providers: []\ncredential_pool_strategies: {}\ntoolsets:\n- hermes-cli\nagent:\n  max_turns: 150\n  service_tier: ''\n";
        let f = file(text);
        set_strategy(&f.path, "openrouter", "round_robin").unwrap();
        set_model(&f.path, Some("custom:local-llm"), Some("qwen3:8b")).unwrap();
        set_fallbacks(&f.path, &[("nous".into(), "Hermes-4-70B".into())]).unwrap();
        assert_eq!(
            read(&f),
            "model:\n  default: \"qwen3:8b\"\n  provider: \"custom:local-llm\"\n  base_url: ''\nproviders: {}\nfallback_providers:\n  - provider: nous\n    model: Hermes-4-70B\ncredential_pool_strategies:\n  openrouter: round_robin\ntoolsets:\n- hermes-cli\nagent:\n  max_turns: 150\n  service_tier: ''\n"
        );

        // The shipped example: comments and whitespace-only lines inside the model block.
        let text = "# Hermes Agent CLI Configuration\nmodel:\n  # Default model\n  default: \"anthropic/claude-opus-4.6\"\n  \n  # Inference provider selection:\n  #   \"auto\" - detect\n  provider: \"auto\"\n  \n  # api_key: \"your-key-here\"  # Uncomment\n  base_url: \"https://openrouter.ai/api/v1\"\n\n  # streaming: true\n\n# providers:\n#   meta:\n#     base_url: https://api.meta.ai/v1\nterminal:\n  backend: \"local\"\n# --- limits ---\n  container_cpu: 1              # CPU cores\n";
        let f = file(text);
        set_model(&f.path, Some("openrouter"), None).unwrap();
        set_strategy(&f.path, "openrouter", "least_used").unwrap();
        let want = text.replace("  provider: \"auto\"\n", "  provider: openrouter\n")
            + "credential_pool_strategies:\n  openrouter: least_used\n";
        assert_eq!(read(&f), want);
        assert!(!fs::metadata(&f.path).unwrap().permissions().readonly());
    }

    #[test]
    fn unsafe_edits_leave_the_file_untouched() {
        // The anchored value is replaced, which would break the alias.
        assert_unsafe("model:\n  provider: &p nous\nother: *p\n", |p| set_model(p, Some("anthropic"), None));
        // An alias as the whole section.
        assert_unsafe("base: &b {nous: random}\ncredential_pool_strategies: *b\n", |p| set_strategy(p, "x", "random"));
        // A flow mapping over several lines.
        assert_unsafe("credential_pool_strategies: {nous: random,\n  openrouter: fill_first}\n", |p| {
            set_strategy(p, "openrouter", "random")
        });
        // A key written in a way the text edit does not recognise: appending it would duplicate it.
        assert_unsafe("credential_pool_strategies:\n  ? openrouter\n  : fill_first\n", |p| {
            set_strategy(p, "openrouter", "random")
        });
        // A top-level flow mapping.
        assert_unsafe("{model: {provider: a}}\n", |p| set_model(p, Some("b"), None));
    }

    #[test]
    fn invalid_original_or_wrong_type_is_invalid_and_untouched() {
        for (text, want) in [
            ("model: [\n", "invalid YAML at line"),
            ("credential_pool_strategies: [a]\n", "credential_pool_strategies: expected a mapping, found a list"),
            ("- a\n", "expected a mapping at the top level"),
        ] {
            let f = file(text);
            match set_strategy(&f.path, "nous", "random") {
                Err(ConfigError::Invalid { problem, .. }) => assert!(problem.starts_with(want), "{problem}"),
                other => panic!("{other:?}"),
            }
            assert_eq!(read(&f), text);
        }
        let f = file("model: [a]\n");
        assert!(matches!(set_model(&f.path, Some("x"), None), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn no_op_does_not_write() {
        let f = file("credential_pool_strategies: {nous: random}\n");
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::metadata(&f.path).unwrap().modified().unwrap();
        assert!(!set_strategy(&f.path, "nous", "random").unwrap());
        assert_eq!(read(&f), "credential_pool_strategies: {nous: random}\n");
        assert_eq!(fs::metadata(&f.path).unwrap().modified().unwrap(), before);
    }

    #[test]
    fn modes_are_kept_or_tightened() {
        let f = file("model: x\n");
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o644)).unwrap();
        set_strategy(&f.path, "nous", "random").unwrap();
        assert_eq!(mode(&f.path), 0o644);

        let f = file("custom_providers:\n  - name: a\n    base_url: http://x\n    api_key: sk-abc\n");
        fs::set_permissions(&f.path, fs::Permissions::from_mode(0o644)).unwrap();
        set_strategy(&f.path, "nous", "random").unwrap();
        assert_eq!(mode(&f.path), 0o600);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home").join("config.yaml");
        assert!(set_strategy(&path, "nous", "random").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "credential_pool_strategies:\n  nous: random\n");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn symlinked_config_is_edited_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles.yaml");
        fs::write(&real, "model: x\n").unwrap();
        let link = dir.path().join("config.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        set_strategy(&link, "nous", "random").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::read_to_string(&real).unwrap().contains("nous: random"));
    }

    #[test]
    fn crlf_and_bom_are_kept() {
        let f = file("model:\r\n  default: x\r\n");
        set_model(&f.path, Some("nous"), None).unwrap();
        assert_eq!(read(&f), "model:\r\n  default: x\r\n  provider: nous\r\n");
        let f = file("\u{feff}model:\n  default: x\n");
        set_model(&f.path, Some("nous"), None).unwrap();
        assert_eq!(read(&f), "\u{feff}model:\n  default: x\n  provider: nous\n");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        fs::create_dir(&path).unwrap();
        assert!(matches!(set_strategy(&path, "a", "b"), Err(ConfigError::Io { .. })));
    }

    /// A file made of YAML-ish fragments, so that the generator hits sections, flow and block
    /// layouts, quotes, anchors and comments far more often than random bytes would.
    fn yamlish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("credential_pool_strategies:".to_string()),
                Just("model:".to_string()),
                Just("fallback_providers:".to_string()),
                Just("\n".to_string()),
                Just("\n  ".to_string()),
                Just("\n    ".to_string()),
                Just("\n- ".to_string()),
                Just("\r\n".to_string()),
                Just(" {".to_string()),
                Just("}".to_string()),
                Just(" [".to_string()),
                Just("]".to_string()),
                Just(", ".to_string()),
                Just(": ".to_string()),
                Just(" # c".to_string()),
                Just("nous".to_string()),
                Just("provider".to_string()),
                Just("default".to_string()),
                Just("\"custom:x\"".to_string()),
                Just("'q'".to_string()),
                Just("&a ".to_string()),
                Just("*a".to_string()),
                Just("|".to_string()),
                Just("~".to_string()),
                Just("é".to_string()),
                "[a-z:#'\" \t\\-]{1,3}",
            ],
            0..30,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever the file holds, an edit either fails without touching it or makes exactly the
        /// intended change; it never panics.
        #[test]
        fn edits_are_exact_or_refused(text in yamlish(), op in 0..4u8, key in "(nous|custom:x|openrouter)") {
            let f = file(&text);
            let result = match op {
                0 => set_strategy(&f.path, &key, "random"),
                1 => set_model(&f.path, Some(&key), None),
                2 => set_model(&f.path, Some("nous"), Some(&key)),
                _ => set_fallbacks(&f.path, &[(key.clone(), "m1".to_string())]),
            };
            match result {
                Ok(_) => {
                    if let Ok(c) = Config::load(f.path.parent().unwrap()) {
                        match op {
                            0 => prop_assert!(c.strategies.iter().any(|(k, v)| k == &key && v == "random")),
                            1 => prop_assert_eq!(c.model.provider.as_deref(), Some(key.as_str())),
                            2 => prop_assert_eq!(c.model.default.as_deref(), Some(key.as_str())),
                            _ => {
                                let first = c.fallback_providers.unwrap_or_default().into_iter().next();
                                prop_assert_eq!(first.and_then(|e| e.provider), Some(key.clone()));
                            }
                        }
                    }
                }
                Err(e) => {
                    prop_assert_eq!(read(&f), text);
                    if let ConfigError::Invalid { path, .. } = &e {
                        prop_assert_eq!(path, &f.path);
                    }
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let f = file("");
            fs::write(&f.path, &bytes).unwrap();
            if set_strategy(&f.path, "nous", "random").is_err() {
                prop_assert_eq!(fs::read(&f.path).unwrap(), bytes);
            }
        }
    }
}
