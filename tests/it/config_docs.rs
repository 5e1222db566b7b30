//! docs/config.md and config.example.yaml describe the same keys, key for key, and the example
//! is a config hermes reads without error.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `a.b` paths of the keys in the example (list items contribute their keys under the list).
fn example_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("config.example.yaml")).unwrap();
    // Commented-out keys count too: the example shows optional keys as comments.
    let uncommented: String = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("# ") && t[2..].split_once(':').is_some_and(|(k, _)| !k.contains(' ')) {
                let indent = &l[..l.len() - t.len()];
                format!("{indent}{}", &t[2..])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let v: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&uncommented).expect("example parses with its comments opened");
    let mut keys = BTreeSet::new();
    fn walk(v: &serde_yaml_ng::Value, prefix: &str, keys: &mut BTreeSet<String>, depth: usize) {
        match v {
            serde_yaml_ng::Value::Mapping(m) => {
                for (k, val) in m {
                    let k = k.as_str().unwrap_or_default();
                    let path = if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
                    // Under credential_pool_strategies the keys are pool names, not config keys.
                    if prefix == "credential_pool_strategies" {
                        continue;
                    }
                    keys.insert(path.clone());
                    if depth < 2 {
                        walk(val, &path, keys, depth + 1);
                    }
                }
            }
            serde_yaml_ng::Value::Sequence(items) => {
                for item in items {
                    walk(item, &format!("{prefix}[]"), keys, depth);
                }
            }
            _ => {}
        }
    }
    walk(&v, "", &mut keys, 0);
    keys
}

#[test]
fn reference_and_example_agree_key_for_key() {
    let doc = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    let example = example_keys();
    for key in &example {
        let (top, leaf) = match key.split_once('.') {
            Some((t, l)) => (t.trim_end_matches("[]"), Some(l)),
            None => (key.trim_end_matches("[]"), None),
        };
        let documented = match leaf {
            // `model.provider` is a row; list items are documented in their list's shape column.
            Some(l) if top == "model" => doc.contains(&format!("`model.{l}`")),
            Some(l) => doc.contains(&format!("`{top}`")) && doc.contains(l),
            None => doc.contains(&format!("`{top}`")),
        };
        assert!(documented, "config.example.yaml has {key}, docs/config.md does not document it");
    }
    // Every key row of the reference table appears in the example.
    let key_table = doc.split("## Strategies").next().unwrap();
    for line in key_table.lines().filter(|l| l.starts_with("| `")) {
        let key = line[3..].split('`').next().unwrap();
        let ok = if let Some(l) = key.strip_prefix("model.") {
            example.contains(&format!("model.{l}"))
        } else {
            example.iter().any(|k| k.trim_end_matches("[]") == key || k.starts_with(&format!("{key}[]")))
        };
        assert!(ok, "docs/config.md documents {key}, config.example.yaml does not show it");
    }
}

#[test]
fn the_example_is_a_valid_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("config.example.yaml"), dir.path().join("config.yaml")).unwrap();
    let c = hermes::config::Config::load(dir.path()).expect("config.example.yaml loads");
    assert_eq!(c.model.provider.as_deref(), Some("openrouter"));
    assert!(!c.strategies.is_empty() && !c.custom_providers.is_empty());
    assert_eq!(c.fallback_providers.map(|f| f.len()), Some(2));
}
