//! `.env` parsing (docs/design.md#files): never written by hermes.
//!
//! The format is deliberately small: `KEY=value` lines, an optional `export ` prefix, matching
//! quotes removed without escapes or interpolation, and ` #` comments in unquoted values.
//! Values are often API keys, so neither warnings nor `Debug` ever show one.

use super::ConfigError;
use crate::context::Context;
use std::collections::BTreeMap;
use std::path::Path;

/// The variables of one `.env` file, plus the warnings its malformed lines produced.
#[derive(Clone, Default)]
pub struct DotEnv {
    /// Name → value; a name defined twice keeps the later value.
    pub vars: BTreeMap<String, String>,
    /// `warning: <path>:<line>: ignoring malformed line`, one per malformed line.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for DotEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are secrets: list names only.
        f.debug_struct("DotEnv")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl DotEnv {
    /// Read and parse `path`. A missing file is empty; a file that exists but cannot be read, or
    /// is not UTF-8, is an error naming it (never treated as empty).
    pub fn load(path: &Path) -> Result<DotEnv, ConfigError> {
        match super::read_text(path)? {
            Some(text) => Ok(DotEnv::parse(&text, path)),
            None => Ok(DotEnv::default()),
        }
    }

    /// Parse `.env` text; `path_for_warnings` only appears in warnings.
    pub fn parse(text: &str, path_for_warnings: &Path) -> DotEnv {
        let mut env = DotEnv::default();
        // Editors on Windows may leave a byte-order mark that would otherwise glue onto the first name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate() {
            match parse_line(line) {
                Line::Skip => {}
                Line::Var(name, value) => {
                    env.vars.insert(name.to_string(), value.to_string());
                }
                Line::Malformed => env.warnings.push(format!(
                    "warning: {}:{}: ignoring malformed line",
                    path_for_warnings.display(),
                    i + 1
                )),
            }
        }
        env
    }

    /// Variable lookup: the .env value if not empty, else the process value (ctx.var) if not empty.
    pub fn lookup(&self, ctx: &Context, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned().or_else(|| ctx.var(name).map(str::to_string))
    }
}

enum Line<'a> {
    Skip,
    Var(&'a str, &'a str),
    Malformed,
}

fn parse_line(line: &str) -> Line<'_> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Line::Skip;
    }
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with(char::is_whitespace) => rest.trim_start(),
        _ => line,
    };
    let Some((name, raw)) = line.split_once('=') else {
        return Line::Malformed;
    };
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Line::Malformed;
    }
    Line::Var(name, value(raw))
}

/// The value after `=`: quotes removed if they match, else cut at a ` #` comment; trimmed.
fn value(raw: &str) -> &str {
    let trimmed = raw.trim();
    if let Some(inner) = quoted(trimmed) {
        return inner;
    }
    // The comment rule applies to the raw text so that `KEY= # note` is an empty value.
    match raw.find(" #").or_else(|| raw.find("\t#")) {
        Some(at) => raw[..at].trim(),
        None => trimmed,
    }
}

/// The inside of a quoted value: `"…"` or `'…'`, optionally followed by a ` #` comment.
fn quoted(v: &str) -> Option<&str> {
    let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    // The first closing quote after which only a comment (or nothing) follows; a quote inside
    // the value is kept as is, because there are no escapes.
    v.char_indices().skip(1).filter(|(_, c)| *c == q).find_map(|(at, _)| {
        let rest = &v[at + 1..];
        let rest_trimmed = rest.trim_start();
        let ok = rest.is_empty() || (rest_trimmed.starts_with('#') && rest.len() != rest_trimmed.len());
        ok.then(|| &v[1..at])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> DotEnv {
        DotEnv::parse(text, Path::new("/h/.env"))
    }

    fn get<'a>(env: &'a DotEnv, name: &str) -> Option<&'a str> {
        env.vars.get(name).map(String::as_str)
    }

    #[test]
    fn basic_lines_export_and_trimming() {
        let env = parse("A=1\n  export B = two words  \nexport\tC=3\nexport=4\n\n# comment=x\n   # indented comment\n");
        assert_eq!(get(&env, "A"), Some("1"));
        assert_eq!(get(&env, "B"), Some("two words"));
        assert_eq!(get(&env, "C"), Some("3"));
        // `export=4` defines a variable called `export`.
        assert_eq!(get(&env, "export"), Some("4"));
        assert_eq!(env.vars.len(), 4);
        assert!(env.warnings.is_empty());
    }

    #[test]
    fn quotes_are_removed_without_escapes() {
        let env = parse(
            "D=\"double\"\nS='single'\nM=\"mismatch'\nE=\"a\\nb\"\nI=\"has $HOME\"\nQ=\"\"\nO=\"\nINNER=\"a\"b\"\nX=a=b=c\n",
        );
        assert_eq!(get(&env, "D"), Some("double"));
        assert_eq!(get(&env, "S"), Some("single"));
        assert_eq!(get(&env, "M"), Some("\"mismatch'"));
        assert_eq!(get(&env, "E"), Some("a\\nb"));
        assert_eq!(get(&env, "I"), Some("has $HOME"));
        assert_eq!(get(&env, "Q"), Some(""));
        assert_eq!(get(&env, "O"), Some("\""));
        assert_eq!(get(&env, "INNER"), Some("a\"b"));
        assert_eq!(get(&env, "X"), Some("a=b=c"));
    }

    #[test]
    fn comments_in_unquoted_values_only() {
        let env = parse(
            "A=value # comment\nB=val#ue\nC=\"quoted # kept\"\nD='quoted # kept' # comment\nE= # only comment\nF=x\t# tab comment\n",
        );
        assert_eq!(get(&env, "A"), Some("value"));
        assert_eq!(get(&env, "B"), Some("val#ue"));
        assert_eq!(get(&env, "C"), Some("quoted # kept"));
        assert_eq!(get(&env, "D"), Some("quoted # kept"));
        assert_eq!(get(&env, "E"), Some(""));
        assert_eq!(get(&env, "F"), Some("x"));
    }

    #[test]
    fn malformed_lines_warn_with_line_number_and_no_content() {
        let env =
            parse("GOOD=1\nsk-secret-no-equals\n=sk-secret-empty-key\nBAD KEY=sk-secret-space\nexport \nLATER=2\n");
        assert_eq!(
            env.warnings,
            vec![
                "warning: /h/.env:2: ignoring malformed line",
                "warning: /h/.env:3: ignoring malformed line",
                "warning: /h/.env:4: ignoring malformed line",
                "warning: /h/.env:5: ignoring malformed line",
            ]
        );
        assert!(env.warnings.iter().all(|w| !w.contains("sk-secret")));
        assert_eq!(get(&env, "GOOD"), Some("1"));
        assert_eq!(get(&env, "LATER"), Some("2"));
        assert_eq!(env.vars.len(), 2);
    }

    #[test]
    fn later_duplicates_win_and_crlf_and_bom_are_handled() {
        let env = parse("\u{feff}K=first\r\nK=second\r\nW=win\r\n");
        assert_eq!(get(&env, "K"), Some("second"));
        assert_eq!(get(&env, "W"), Some("win"));
    }

    #[test]
    fn lookup_prefers_non_empty_dotenv_then_process() {
        let env = parse("BOTH=from-env-file\nEMPTY=\nONLY_FILE=file\n");
        let (ctx, _, _) = Context::for_test(
            [("BOTH", "from-process"), ("EMPTY", "process-value"), ("ONLY_PROC", "proc"), ("BLANK", "")],
            0.0,
        );
        assert_eq!(env.lookup(&ctx, "BOTH").as_deref(), Some("from-env-file"));
        assert_eq!(env.lookup(&ctx, "EMPTY").as_deref(), Some("process-value"));
        assert_eq!(env.lookup(&ctx, "ONLY_FILE").as_deref(), Some("file"));
        assert_eq!(env.lookup(&ctx, "ONLY_PROC").as_deref(), Some("proc"));
        assert_eq!(env.lookup(&ctx, "BLANK"), None);
        assert_eq!(env.lookup(&ctx, "NOWHERE"), None);
        let empty_both = parse("BLANK=\n");
        assert_eq!(empty_both.lookup(&ctx, "BLANK"), None);
    }

    #[test]
    fn load_missing_unreadable_and_non_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let env = DotEnv::load(&path).unwrap();
        assert!(env.vars.is_empty() && env.warnings.is_empty());

        std::fs::write(&path, "A=1\n").unwrap();
        assert_eq!(DotEnv::load(&path).unwrap().vars.get("A").map(String::as_str), Some("1"));

        std::fs::write(&path, b"A=\xff\n").unwrap();
        let err = DotEnv::load(&path).unwrap_err();
        assert!(err.to_string().contains(".env: not valid UTF-8"), "{err}");

        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let err = DotEnv::load(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }) && err.to_string().contains(".env"), "{err}");
    }

    #[test]
    fn debug_hides_values() {
        let env = parse("KEY=sk-dotenv-secret\n");
        let dbg = format!("{env:?}");
        assert!(dbg.contains("KEY") && !dbg.contains("sk-dotenv-secret"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = String::from_utf8_lossy(&bytes);
            let env = DotEnv::parse(&text, Path::new("/x/.env"));
            for w in &env.warnings {
                prop_assert!(w.starts_with("warning: /x/.env:") && w.ends_with(": ignoring malformed line"));
            }
            for k in env.vars.keys() {
                prop_assert!(!k.is_empty() && !k.contains(char::is_whitespace));
            }
        }

        #[test]
        fn dotenv_like_text_never_panics(text in "([A-Z_=#'\" \t\n]|export |=|\r\n){0,80}") {
            let env = DotEnv::parse(&text, Path::new("/x/.env"));
            prop_assert!(env.warnings.len() <= text.lines().count());
        }
    }
}
