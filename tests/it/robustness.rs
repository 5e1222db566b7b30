//! Property tests: arbitrary bytes and arbitrary JSON values fed to the auth.json reader never
//! panic, and always give either a document or an error naming the file.

use hermes::store::{AuthDoc, Store, StoreError};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-z_]{0,12}".prop_map(Value::String),
        Just(json!("exhausted")),
        Just(json!("dead")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "[a-z_]{1,10}",
                        Just("id".to_string()),
                        Just("priority".to_string()),
                        Just("last_status".to_string()),
                        Just("credential_pool".to_string()),
                        Just("providers".to_string()),
                        Just("suppressed_sources".to_string()),
                        Just("version".to_string()),
                        Just("openrouter".to_string()),
                        Just("access_token".to_string()),
                        Just("last_error_reset_at".to_string()),
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// An auth.json-shaped document with arbitrary values inside the entries.
fn arb_store_like() -> impl Strategy<Value = Value> {
    prop::collection::vec(arb_json(), 0..4)
        .prop_map(|entries| json!({"version": 1, "providers": {}, "credential_pool": {"openrouter": entries}}))
}

fn check_store(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("auth.json"), bytes).unwrap();
    let store = Store::new(dir.path());
    match store.read() {
        Ok(doc) => {
            // A readable store round-trips through the writer and reads back the same.
            let again = AuthDoc::parse(&doc.to_bytes()).expect("what hermes writes, hermes reads");
            assert_eq!(again.root(), doc.root());
        }
        Err(StoreError::Invalid { path, problem }) => {
            assert!(path.ends_with("auth.json"));
            assert!(!problem.is_empty());
            assert!(!problem.contains('\n'), "one-line problem: {problem}");
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
    assert_eq!(std::fs::read(dir.path().join("auth.json")).unwrap(), bytes, "a read never writes");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_store(&bytes);
    }

    #[test]
    fn arbitrary_json(v in arb_json()) {
        check_store(v.to_string().as_bytes());
    }

    #[test]
    fn arbitrary_store_shapes(v in arb_store_like()) {
        check_store(serde_json::to_string_pretty(&v).unwrap().as_bytes());
    }
}
