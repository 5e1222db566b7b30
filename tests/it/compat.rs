//! hermes-agent 0.19 compatibility on disk (docs/design.md#store-format, docs/design.md#owned-and-borrowed): an auth.json in the
//! Python tool's layout goes through `add`, `token`, `report`, `reset` and `remove`, and after
//! every command the whole document is exactly what the command meant to change and nothing
//! else: unknown keys at every level, their key order, and the exact text of every number
//! (`1751360000.0`, `1e+16`, `2.50`) all survive. The legacy `suppressed_sources` object form
//! and `systems.nous_portal` are migrated by the first write, and only by a write.
//!
//! Documents are compared as serialised text of an order-preserving tree: `serde_json`'s map
//! equality ignores key order even with `preserve_order`, the text does not.

use crate::common::*;
use serde_json::{json, Map, Value};

/// The pinned clock (`T0`) as every write stamps it.
const STAMP: &str = "2026-07-01T09:00:00.000000+00:00";

/// docs/design.md#store-format example plus what hermes-agent 0.19 writes elsewhere: the Nous singleton with the
/// docs/design.md#singleton-provider-state fields (and the agent-key extras), Codex and xAI OAuth state, pools hermes does not
/// manage, and unknown keys at every level.
const AGENT_STORE: &str = r#"{
  "version": 1,
  "x_top": {
    "b": 2,
    "a": [1, 2.50, {"deep": 1e+16, "null_kept": null}],
    "when": 1751360000.0
  },
  "active_provider": "nous",
  "providers": {
    "nous": {
      "portal_base_url": "https://portal.nousresearch.com",
      "inference_base_url": "https://inference-api.nousresearch.com/v1",
      "client_id": "hermes-cli",
      "scope": "inference:invoke",
      "token_type": "Bearer",
      "access_token": "nous-access-0123456789abcdef",
      "refresh_token": "nous-refresh-0123456789abcdef",
      "obtained_at": "2026-07-01T08:00:00.000000+00:00",
      "expires_at": "2026-07-01T10:00:00.000000+00:00",
      "expires_in": 7200,
      "tls": {"insecure": false, "ca_bundle": null},
      "agent_key": "nous-access-0123456789abcdef",
      "agent_key_expires_at": "2026-07-01T10:00:00.000000+00:00",
      "agent_key_id": "ak_01HZX0123456789",
      "agent_key_expires_in": 7200,
      "agent_key_reused": false,
      "agent_key_obtained_at": "2026-07-01T08:00:00.000000+00:00",
      "label": "me@example.com",
      "x_nous": {"weight": 1e+16, "at": 1751360000.0}
    },
    "openai-codex": {
      "tokens": {"access_token": "codex-access-token-0123", "refresh_token": "codex-refresh-0123", "x_tok": 1.0},
      "last_refresh": "2026-07-01T08:55:00Z",
      "auth_mode": "chatgpt"
    },
    "xai-oauth": {
      "tokens": {"access_token": "xai-access", "refresh_token": "xai-refresh"},
      "expires_at": 1751363600.0,
      "x_xai": {"nested": {"deeper": [null, true, 0.10]}}
    }
  },
  "credential_pool": {
    "openrouter": [
      {"id": "81b6bb", "label": "api-key-1", "auth_type": "api_key", "priority": 0, "source": "manual",
       "access_token": "sk-or-v1-aaaa1111", "last_status": "exhausted", "last_status_at": 1751360000.0,
       "last_error_code": 429, "last_error_reason": "rate_limit_exceeded", "last_error_message": "Rate limit exceeded",
       "last_error_reset_at": 1751360060.0, "base_url": "https://openrouter.ai/api/v1", "request_count": 12,
       "rate_limit_streak": 1},
      {"id": "3fa09c", "label": "OPENROUTER_API_KEY", "auth_type": "api_key", "priority": 1,
       "source": "env:OPENROUTER_API_KEY", "last_status": null, "last_status_at": null, "last_error_code": null,
       "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null,
       "base_url": "https://openrouter.ai/api/v1", "request_count": 0, "secret_fingerprint": "sha256:0123456789abcdef"},
      {"x_first": "unknown keys may come first", "id": "c0ffee", "label": "team", "auth_type": "api_key",
       "priority": 2, "source": "manual", "access_token": "sk-or-v1-cccc3333", "last_status": null,
       "last_status_at": null, "last_error_code": null, "last_error_reason": null, "last_error_message": null,
       "last_error_reset_at": null, "request_count": 7, "x_meta": {"z": 1e+16, "a": [1751360000.0, {"k": null}]},
       "failure_reason": null, "x_null": null, "x_float": 3.0}
    ],
    "anthropic": [
      {"id": "a1b2c3", "label": "claude-pro", "auth_type": "oauth", "priority": 0, "source": "hermes_pkce",
       "access_token": "sk-ant-oat01-agent-owned", "refresh_token": "sk-ant-ort01-agent-owned",
       "expires_at_ms": 1782900000000, "last_status": "exhausted", "last_status_at": 1782896000.0,
       "last_error_code": 429, "last_error_reason": "rate_limit_error", "last_error_message": "slow down",
       "last_error_reset_at": 1782899999.5, "base_url": "https://api.anthropic.com", "request_count": 3,
       "x_anthropic": {"plan": "max"}}
    ],
    "nous": [
      {"id": "d0d0d0", "label": "me@example.com", "auth_type": "oauth", "priority": 0, "source": "device_code",
       "access_token": "nous-access-0123456789abcdef", "refresh_token": "nous-refresh-0123456789abcdef",
       "last_status": null, "last_status_at": null, "last_error_code": null, "last_error_reason": null,
       "last_error_message": null, "last_error_reset_at": null,
       "base_url": "https://inference-api.nousresearch.com/v1", "request_count": 0,
       "expires_at": "2026-07-01T10:00:00.000000+00:00", "agent_key": "nous-access-0123456789abcdef",
       "agent_key_id": "ak_01HZX0123456789", "tls": {"insecure": false, "ca_bundle": null}, "x_pool_extra": 1e+16}
    ],
    "xai-oauth": [
      {"id": "e1e1e1", "label": "xai", "auth_type": "oauth", "priority": 0, "source": "device_code",
       "access_token": "xai-access", "refresh_token": "xai-refresh", "last_status": null, "request_count": 0,
       "x_unmanaged": [1.50]}
    ]
  },
  "suppressed_sources": {"xai": ["env:XAI_API_KEY"]},
  "updated_at": "2026-07-01T09:00:00.123456+00:00",
  "x_last": "kept at the end"
}
"#;

fn parse(text: &[u8]) -> Value {
    serde_json::from_slice(text).expect("valid JSON")
}

/// Compare two documents including key order and number text.
#[track_caller]
fn same(actual: &Value, expected: &Value, what: &str) {
    let (a, e) = (serde_json::to_string_pretty(actual).unwrap(), serde_json::to_string_pretty(expected).unwrap());
    if a != e {
        let line =
            a.lines().zip(e.lines()).position(|(x, y)| x != y).unwrap_or(a.lines().count().min(e.lines().count()));
        panic!("{what}: documents differ from line {}\n--- actual ---\n{a}\n--- expected ---\n{e}", line + 1);
    }
}

fn obj(v: &mut Value) -> &mut Map<String, Value> {
    v.as_object_mut().expect("object")
}

fn pool_entry<'a>(doc: &'a mut Value, pool: &str, id: &str) -> &'a mut Map<String, Value> {
    doc["credential_pool"][pool]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{pool} {id}"))
        .as_object_mut()
        .unwrap()
}

/// Null the six status fields in place and drop the streak: what a reset does (docs/design.md#reset).
fn reset_fields(e: &mut Map<String, Value>) {
    for k in [
        "last_status",
        "last_status_at",
        "last_error_code",
        "last_error_reason",
        "last_error_message",
        "last_error_reset_at",
    ] {
        *e.get_mut(k).unwrap() = Value::Null;
    }
    e.shift_remove("rate_limit_streak");
}

/// Run a command that must succeed; return the document it left and its stdout.
fn step(s: &Sealed, args: &[&str], stdin: &str) -> (Value, String, String) {
    let o = s.run_stdin(args, stdin);
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    (parse(&s.auth_bytes().unwrap()), o.stdout, o.stderr)
}

#[test]
fn agent_store_survives_every_mutation() {
    let s = Sealed::new();
    s.write_home_file("auth.json", AGENT_STORE);
    std::fs::set_permissions(s.auth_path(), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let original = parse(AGENT_STORE.as_bytes());

    // Reads never write, and see every pool.
    let o = s.run(&["auth", "list", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let listed: Vec<String> =
        o.json()["providers"].as_array().unwrap().iter().map(|p| p["provider"].as_str().unwrap().into()).collect();
    assert_eq!(listed, ["anthropic", "nous", "openai-codex", "openrouter", "xai-oauth"]);
    assert_eq!(s.auth_bytes().unwrap(), AGENT_STORE.as_bytes());

    // add: one entry appended in docs/design.md#entries field order; everything else as it was.
    let mut expected = original.clone();
    let (doc, _, err) =
        step(&s, &["auth", "add", "openrouter", "--api-key", "-", "--label", "compat"], "sk-or-v1-dddd4444");
    assert!(err.contains("Added openrouter credential #4 (id "), "{err}");
    let new_id = doc["credential_pool"]["openrouter"][3]["id"].as_str().unwrap().to_string();
    expected["credential_pool"]["openrouter"].as_array_mut().unwrap().push(json!({
        "id": new_id, "label": "compat", "auth_type": "api_key", "priority": 3, "source": "manual",
        "access_token": "sk-or-v1-dddd4444", "last_status": null, "last_status_at": null, "last_error_code": null,
        "last_error_reason": null, "last_error_message": null, "last_error_reset_at": null,
        "base_url": "https://openrouter.ai/api/v1", "request_count": 0
    }));
    expected["updated_at"] = json!(STAMP);
    same(&doc, &expected, "after add");
    let text = String::from_utf8(s.auth_bytes().unwrap()).unwrap();
    for literal in ["1751360000.0", "1e+16", "2.50", "0.10", "1782899999.5", "\"null_kept\": null"] {
        assert!(text.contains(literal), "{literal} lost its text");
    }

    // token: only the pick's counter changes (81b6bb's old deadline has passed).
    let (doc, out, _) = step(&s, &["auth", "token", "openrouter"], "");
    assert_eq!(out, "sk-or-v1-aaaa1111\n");
    *pool_entry(&mut expected, "openrouter", "81b6bb").get_mut("request_count").unwrap() = json!(13);
    same(&doc, &expected, "after token openrouter");

    // token on the Nous pool: the singleton (with agent_key_id and friends) stays byte-exact.
    let (doc, out, _) = step(&s, &["auth", "token", "nous"], "");
    assert_eq!(out, "nous-access-0123456789abcdef\n");
    *pool_entry(&mut expected, "nous", "d0d0d0").get_mut("request_count").unwrap() = json!(1);
    same(&doc, &expected, "after token nous");

    // report: the six status fields change in place, the streak is appended, the entry's
    // unknown keys (before and after the known ones) stay where they were.
    let (doc, out, _) =
        step(&s, &["auth", "report", "openrouter", "c0ffee", "--status", "429", "--reason", "rate_limit_exceeded"], "");
    assert!(out.starts_with("openrouter #3 c0ffee \"team\": cooling: rate-limited"), "{out}");
    let marked = doc["credential_pool"]["openrouter"][2].clone();
    assert_eq!(marked["last_status"], "exhausted");
    assert_eq!(marked["last_status_at"].as_f64(), Some(T0));
    assert_eq!(marked["last_error_code"], 429);
    assert_eq!(marked["last_error_reason"], "rate_limit_exceeded");
    assert_eq!(marked["last_error_reset_at"].as_f64(), Some(T0 + 60.0));
    let e = pool_entry(&mut expected, "openrouter", "c0ffee");
    for k in ["last_status", "last_status_at", "last_error_code", "last_error_reason", "last_error_reset_at"] {
        *e.get_mut(k).unwrap() = marked[k].clone();
    }
    e.insert("rate_limit_streak".into(), json!(1));
    same(&doc, &expected, "after report");

    // reset across every pool: three exhausted entries (two pools) are cleared in place; the
    // other pools are not rewritten at all.
    let (doc, _, err) = step(&s, &["auth", "reset"], "");
    assert!(err.contains("Reset 3 cooldowns across 4 pools"), "{err}");
    reset_fields(pool_entry(&mut expected, "openrouter", "81b6bb"));
    reset_fields(pool_entry(&mut expected, "openrouter", "c0ffee"));
    reset_fields(pool_entry(&mut expected, "anthropic", "a1b2c3"));
    same(&doc, &expected, "after reset");

    // remove the added entry: the pool is back to hermes-agent's three.
    let (doc, _, err) = step(&s, &["auth", "remove", "openrouter", "compat"], "");
    assert!(err.contains("Removed openrouter credential #4 (compat)"), "{err}");
    expected["credential_pool"]["openrouter"].as_array_mut().unwrap().pop();
    same(&doc, &expected, "after remove compat");

    // remove the borrowed env row: priorities renumber, its source is suppressed next to the
    // existing list, nothing else moves.
    let (doc, _, _) = step(&s, &["auth", "remove", "openrouter", "3fa09c"], "");
    expected["credential_pool"]["openrouter"].as_array_mut().unwrap().remove(1);
    *pool_entry(&mut expected, "openrouter", "c0ffee").get_mut("priority").unwrap() = json!(1);
    obj(&mut expected["suppressed_sources"]).insert("openrouter".into(), json!(["env:OPENROUTER_API_KEY"]));
    same(&doc, &expected, "after remove env row");

    // Whatever changed, the untouched subtrees are the originals, byte for byte.
    for key in ["x_top", "providers", "x_last", "active_provider", "version"] {
        same(&doc[key], &original[key], key);
    }
    for pool in ["nous", "xai-oauth"] {
        let mut want = original["credential_pool"][pool].clone();
        if pool == "nous" {
            want[0]["request_count"] = json!(1);
        }
        same(&doc["credential_pool"][pool], &want, pool);
    }
    let top: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        top,
        [
            "version",
            "x_top",
            "active_provider",
            "providers",
            "credential_pool",
            "suppressed_sources",
            "updated_at",
            "x_last"
        ]
    );
    assert_eq!(mode(&s.auth_path()), 0o600);
}

/// The legacy forms of docs/design.md#store-format are read as the new ones, and saved as such by the first write.
#[test]
fn legacy_forms_are_migrated_by_the_first_write() {
    const LEGACY: &str = r#"{
  "version": 1,
  "systems": {
    "nous_portal": {
      "portal_base_url": "https://portal.nousresearch.com",
      "access_token": "nous-legacy-access-0123",
      "refresh_token": "nous-legacy-refresh-0123",
      "expires_at": "2026-07-01T10:00:00.000000+00:00",
      "agent_key_id": "ak_legacy",
      "tls": {"insecure": false, "ca_bundle": null},
      "obtained": 1751360000.0
    },
    "other_system": {"k": 1.50}
  },
  "credential_pool": {},
  "suppressed_sources": {
    "xai": {"env:XAI_API_KEY": true},
    "openrouter": ["env:OPENROUTER_API_KEY"]
  },
  "x_big": 1e+16
}
"#;
    let s = Sealed::new();
    s.write_home_file("auth.json", LEGACY);
    let original = parse(LEGACY.as_bytes());

    // Read in the new form, written nowhere.
    let v = s.run(&["auth", "list", "nous", "--json"]).json();
    assert_eq!(v["providers"][0]["entries"][0]["source"], "device_code", "{v}");
    assert_eq!(s.auth_bytes().unwrap(), LEGACY.as_bytes());

    // The first write (to an unrelated pool) saves the new forms.
    let (doc, _, _) = step(&s, &["auth", "add", "deepseek", "--api-key", "-"], "sk-deepseek-0123456789");
    same(&doc["providers"]["nous"], &original["systems"]["nous_portal"], "providers.nous");
    assert_eq!(doc["active_provider"], "nous");
    same(&doc["systems"], &parse(br#"{"other_system": {"k": 1.50}}"#), "systems keeps its other keys");
    same(
        &doc["suppressed_sources"],
        &json!({"xai": ["env:XAI_API_KEY"], "openrouter": ["env:OPENROUTER_API_KEY"]}),
        "suppressed_sources",
    );
    let text = String::from_utf8(s.auth_bytes().unwrap()).unwrap();
    assert!(text.contains("\"x_big\": 1e+16") && text.contains("\"obtained\": 1751360000.0"), "{text}");
    assert!(doc["credential_pool"].get("nous").is_none(), "a write to deepseek materialised nous");
    assert_eq!(doc["credential_pool"]["deepseek"].as_array().unwrap().len(), 1);

    // A store whose `systems` held only the Nous state loses the empty container.
    let s = Sealed::new();
    s.write_home_file("auth.json", r#"{"systems": {"nous_portal": {"access_token": "t0123456789"}}}"#);
    let (doc, _, _) = step(&s, &["auth", "add", "deepseek", "--api-key", "-"], "sk-deepseek-0123456789");
    assert!(doc.get("systems").is_none(), "{doc}");
    same(&doc["providers"]["nous"], &json!({"access_token": "t0123456789"}), "providers.nous");
    assert_eq!(doc["active_provider"], "nous");
}
