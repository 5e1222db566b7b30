//! Rules about the repository itself: it explains itself (no comment cites a document outside
//! it) and the library keeps its words for people in the CLI.

use std::path::{Path, PathBuf};

fn files(root: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, exts, out);
        } else if exts.iter().any(|x| p.extension().is_some_and(|e| e == *x)) {
            out.push(p);
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn nothing_cites_a_document_outside_the_repository() {
    let mut all = Vec::new();
    for dir in ["src", "tests", "benches", "bench", "examples", "docs"] {
        files(&repo().join(dir), &["rs", "md", "sh"], &mut all);
    }
    all.push(repo().join("README.md"));
    let section = ['\u{a7}'];
    let spec = ["SPEC", ".md"].concat();
    for p in all {
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            let cites = line.contains(section) || line.contains(&spec) || {
                let l = line.to_lowercase();
                ["ruling ", "rulings ", "scenario "].iter().any(|w| {
                    l.match_indices(w).any(|(i, _)| l[i + w.len()..].starts_with(|c: char| c.is_ascii_digit()))
                })
            };
            assert!(!cites, "{}:{}: cites an outside document: {line}", p.display(), n + 1);
        }
    }
}

/// Errors leave the library as data; the CLI's words and hints are in cli/errors.rs.
#[test]
fn the_library_returns_no_prose_errors() {
    let mut all = Vec::new();
    files(&repo().join("src"), &["rs"], &mut all);
    for p in all.iter().filter(|p| !p.starts_with(repo().join("src/cli")) && !p.ends_with("src/error.rs")) {
        let text = std::fs::read_to_string(p).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        assert!(!code.contains("Error::Failed("), "{}: the library returns Error::Failed", p.display());
    }
}

#[test]
fn library_errors_carry_no_cli_advice() {
    let text = std::fs::read_to_string(repo().join("src/error.rs")).unwrap();
    assert!(!text.contains("hermes auth"), "src/error.rs words an error for the command line");
}

/// Every link into docs/design.md cited anywhere leads to one of its headings.
#[test]
fn every_design_anchor_exists() {
    let design = std::fs::read_to_string(repo().join("docs/design.md")).unwrap();
    let slug = |h: &str| -> String {
        h.trim_start_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    };
    let anchors: Vec<String> = design.lines().filter(|l| l.starts_with('#')).map(slug).collect();
    let mut all = Vec::new();
    for dir in ["src", "tests", "docs", "benches", "bench", ".ci"] {
        files(&repo().join(dir), &["rs", "md", "sh", "py"], &mut all);
    }
    all.push(repo().join("README.md"));
    all.push(repo().join("clippy.toml"));
    for p in all {
        let text = std::fs::read_to_string(&p).unwrap();
        let marker = ["design.md", "#"].concat();
        for (i, _) in text.match_indices(&marker) {
            let rest = &text[i + marker.len()..];
            let anchor: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            assert!(anchors.contains(&anchor), "{}: {marker}{anchor} is not a heading", p.display());
        }
    }
}
