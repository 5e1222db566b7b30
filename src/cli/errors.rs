//! Errors in words for people: the library's typed errors carry facts; this adds the hint that
//! tells a user of the command line what to run next. Every printer of an error (the exit path,
//! the wizard, setup) goes through [`render`].

use crate::error::{Error, Holder, NothingUsable, OAuthKind, Refused, RefusedWhat, Route, TargetMiss};

/// The text of `e` for stderr (and the `--json` error document): one line, or a first line and
/// indented details.
pub fn render(e: &Error) -> String {
    match e {
        Error::UnknownProvider(u) => match u.suggestions.first() {
            None => format!(
                "{e}; see the list: hermes auth providers (for a server of your own, add it under \
                 custom_providers in config.yaml and use custom:<name>)"
            ),
            Some(best) => format!("{e}; did you mean {best}?"),
        },
        Error::NothingUsable(n) => nothing_usable(n),
        Error::Refused(r) => refused(r),
        Error::Target(t) => target(t),
        Error::Route(r) => route(e, r),
        Error::Gone { pool, .. } => format!("{e}; see: hermes auth list {pool}"),
        Error::NoHome => format!("{e}; set HERMES_HOME or HOME"),
        Error::Store(s) => store(s),
        Error::OAuth { kind: OAuthKind::LoginLost, provider: Some(p), .. } => {
            format!("{e}, log in again: hermes auth add {p} --type oauth")
        }
        _ => e.to_string(),
    }
}

/// A store error ends with what fixes it.
fn store(e: &crate::store::StoreError) -> String {
    use crate::store::StoreError;
    match e {
        // A store from a newer hermes is valid to that version: moving it aside would lose it.
        StoreError::Invalid { problem, .. } if problem.starts_with("version: expected") => {
            format!("{e}\n  it was written by another version of hermes or hermes-agent; upgrade hermes to read it")
        }
        StoreError::Invalid { .. } => {
            format!("{e}\n  fix it by hand, or move it aside and start with an empty store: hermes auth repair --force")
        }
        StoreError::Io { path, message } if message.contains("ermission denied") => format!(
            "{e}\n  give yourself access: chmod u+rw {} (and u+rwx on its directory), or run as its owner",
            crate::text::shell_word(&path.display().to_string())
        ),
        StoreError::Io { .. } => format!(
            "{e}\n  fix the path by hand, or move what is there aside and start with an empty store: \
             hermes auth repair --force"
        ),
        StoreError::LockTimeout { lock, .. } => format!(
            "{e}\n  wait for it to finish, or find it with: fuser -v {}",
            crate::text::shell_word(&lock.display().to_string())
        ),
        StoreError::Unavailable { .. } => format!(
            "{e}\n  check the server (redis-cli ping), or let commands go on without it: state.on_unavailable: local"
        ),
    }
}

fn nothing_usable(n: &NothingUsable) -> String {
    let empty: Vec<&str> = n.pools.iter().filter(|p| p.entries.is_empty()).map(|p| p.key.as_str()).collect();
    n.to_string()
        .lines()
        .map(|line| match empty.iter().find(|k| line == format!("{k}: no credentials")) {
            Some(k) => format!("{line} (add one: hermes auth add {k})"),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn refused(r: &Refused) -> String {
    let text = r.to_string();
    if r.what != RefusedWhat::Credential {
        return text;
    }
    let fix = match &r.holder {
        Holder::Entry { oauth: true, .. } => format!("log in again: hermes auth add {} --type oauth", r.provider),
        Holder::Entry { id, .. } => format!(
            "add a new one with: hermes auth add {p}, then remove the old one with: hermes auth remove {p} {id}",
            p = r.provider
        ),
        Holder::Fixed { .. } => "fix it in config.yaml".to_string(),
    };
    // The hint closes the first line; the provider's message stays on its own line below.
    match text.split_once('\n') {
        Some((first, rest)) => format!("{first}; {fix}\n{rest}"),
        None => format!("{text}; {fix}"),
    }
}

fn target(t: &TargetMiss) -> String {
    let see = format!("; see: hermes auth list {}", t.pool);
    let text = t.to_string();
    if t.is_ambiguous() {
        return text;
    }
    if t.choices.is_empty() {
        // `no credential matching "x" in P (the pool is empty)`
        return text.replacen(" (the pool is empty)", &format!("{see} (the pool is empty)"), 1);
    }
    text.replacen("; valid choices:", &format!("{see}; valid choices:"), 1)
}

fn route(e: &Error, r: &Route) -> String {
    match r {
        Route::NotAChatTarget { .. } => format!("{e}; use another provider"),
        Route::NoBaseUrl { url_var: Some(var), .. } => format!("{e}; set {var}"),
        Route::NoBaseUrl { url_var: None, .. } => {
            format!("{e}; set its base_url under custom_providers in config.yaml")
        }
        Route::CustomWithoutBaseUrl { base_url: None } => format!("{e}; set it to a custom_providers base_url"),
        Route::CustomWithoutBaseUrl { .. } | Route::WrongWire { .. } => e.to_string(),
    }
}
