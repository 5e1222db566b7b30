//! docs/cli.md is generated from the clap definitions; this test fails when they drift.
//! `UPDATE_DOCS=1 cargo test --test it docs_drift` rewrites the file.

#[test]
fn cli_reference_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let want = hermes::cli::reference::markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/cli.md is out of date with src/cli; regenerate it with: UPDATE_DOCS=1 cargo test --test it docs_drift"
    );
}
