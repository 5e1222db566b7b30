//! `hermes auth add`: add an API key (or start an OAuth login) to a provider's pool.

use super::login_ui::CliLoginUi;
use crate::cli::printer::Printer;
use crate::cli::prompt::{Prompter, TermPrompter};
use crate::error::{Error, Result};
use crate::home::{Home, PoolRef};
use crate::oauth;
use crate::ops;
use crate::pool::candidate::key_shape_problem;
use crate::providers::{self, AuthKind};
use crate::secret::Secret;
use std::io::Read;

/// Add a credential to a provider's pool.
///
/// The key comes from --api-key - (stdin, preferred in scripts), the hidden prompt on a
/// terminal, or --api-key KEY (visible to other local users).
///
/// OAuth logins (anthropic, openai-codex, nous) open a browser or show a code to enter; a second
/// login to the same account updates its entry. --import copies a login that Claude Code or
/// hermes-agent holds into an entry hermes owns and refreshes (the other tool then has to log
/// in again once hermes has refreshed it).
///
/// Examples:
///   echo "$OPENROUTER_KEY" | hermes auth add openrouter --api-key - --label work
///   hermes auth add anthropic --type oauth
///   hermes auth add anthropic --type oauth --no-browser          # paste code#state
///   hermes auth add openai-codex                                 # device code
///   hermes auth add anthropic --import claude-code
///   hermes auth add "My Local LLM" --api-key -
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider id, alias, `custom:<slug>` or a custom_providers name.
    pub provider: String,
    /// Credential type.
    #[arg(long = "type", value_name = "TYPE", value_parser = [clap::builder::PossibleValue::new("api-key").alias("api_key"), clap::builder::PossibleValue::new("oauth")])]
    pub kind: Option<String>,
    /// Label for the new entry (unique in the pool; default api-key-N, or for OAuth the account's
    /// e-mail, else <provider>-oauth-N).
    #[arg(long)]
    pub label: Option<String>,
    /// The API key, or `-` to read it from stdin (asked hidden when stdin is a terminal).
    #[arg(long = "api-key", value_name = "KEY|-")]
    pub api_key: Option<String>,
    /// OAuth: print the login URL instead of opening a browser (Anthropic: paste code#state).
    #[arg(long)]
    pub no_browser: bool,
    /// OAuth: copy another tool's login into an entry hermes owns (claude-code, hermes-agent).
    #[arg(long = "import", value_name = "TOOL", value_parser = ["claude-code", "hermes-agent"])]
    pub import: Option<String>,
    /// Anthropic OAuth: read the pasted `code#state` from stdin.
    #[arg(long)]
    pub code_stdin: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ApiKey,
    OAuth,
}

/// Decide the credential type (docs/design.md#command-line).
pub fn choose_kind(
    pool: &PoolRef,
    flag: Option<&str>,
    api_key_given: bool,
    prompter: &mut dyn Prompter,
) -> Result<Kind> {
    let auth = pool.provider.map_or(AuthKind::Key, |p| p.auth);
    let wanted = match flag {
        Some("oauth") => Some(Kind::OAuth),
        Some(_) => Some(Kind::ApiKey),
        None if api_key_given => Some(Kind::ApiKey),
        None => None,
    };
    match (wanted, auth) {
        (Some(Kind::OAuth), AuthKind::Key) => {
            Err(Error::Usage(format!("{} does not support OAuth login; use --type api-key", pool.key)))
        }
        (Some(Kind::ApiKey), AuthKind::OAuth) if pool.key == CODEX => {
            Err(Error::Usage(format!("{CODEX} does not take API keys; {CODEX_NO_KEY}")))
        }
        (Some(Kind::ApiKey), AuthKind::OAuth) => {
            Err(Error::Usage(format!("{} does not support API keys; use --type oauth", pool.key)))
        }
        (Some(k), _) => Ok(k),
        (None, AuthKind::Key) => Ok(Kind::ApiKey),
        // A provider with one kind offers no choice: openai-codex goes straight to the login
        // (which says where an OpenAI API key goes instead).
        (None, AuthKind::OAuth) => Ok(Kind::OAuth),
        (None, AuthKind::KeyOAuth) => {
            if !prompter.interactive() {
                return Err(Error::Usage("choose --type oauth or --type api-key".into()));
            }
            ask_kind(prompter)
        }
    }
}

const CODEX: &str = "openai-codex";

/// Why openai-codex takes no API key (docs/design.md#oauth-flows).
pub const CODEX_NO_KEY: &str = "use provider openai-api for an OpenAI API key";

/// `API key or OAuth login?`, for a provider that takes both.
fn ask_kind(prompter: &mut dyn Prompter) -> Result<Kind> {
    let items = vec!["API key".to_string(), "OAuth login".to_string()];
    match prompter.select("API key or OAuth login?", &items, 0)? {
        0 => Ok(Kind::ApiKey),
        _ => Ok(Kind::OAuth),
    }
}

/// Read and check the key (docs/design.md#command-line).
pub fn read_key(arg: Option<&str>, prompter: &mut dyn Prompter, out: &mut Printer) -> Result<Secret> {
    let raw = match arg {
        // `-` with a terminal on stdin: nothing is piped, so read it hidden, as the prompt does,
        // rather than echo the key and wait for Ctrl-D.
        Some("-") if prompter.interactive() => prompter.password("Paste your API key")?,
        Some("-") if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            return Err(Error::Usage(
                "--api-key - reads a piped key, but stdin is a terminal; pipe the key in, or leave out --api-key to be asked for it hidden"
                    .into(),
            ))
        }
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::Failed(format!("could not read the key from stdin: {e}")))?;
            s
        }
        Some(k) => {
            out.err(
                "warning: keys on the command line are visible to other local users; prefer --api-key - or the prompt",
            );
            k.to_string()
        }
        None => {
            if !prompter.interactive() {
                return Err(Error::Usage("no API key given and stdin is not a terminal; use --api-key -".into()));
            }
            prompter.password("Paste your API key")?
        }
    };
    check_key(&raw)
}

/// Trim, refuse empty keys and anything [`key_shape_problem`] refuses.
pub fn check_key(raw: &str) -> Result<Secret> {
    // A key saved by a Windows editor starts with a byte-order mark; it is never part of a key.
    let key = raw.trim().trim_start_matches('\u{feff}').trim();
    if key.is_empty() {
        return Err(Error::Failed("no API key provided".into()));
    }
    if let Some(problem) = key_shape_problem(key) {
        return Err(Error::Failed(format!("the key {problem}; paste exactly one key")));
    }
    Ok(Secret::new(key))
}

/// Warn when a custom pool has no configured base URL.
pub fn warn_unconfigured(pool: &PoolRef, out: &mut Printer) {
    if let (None, Some(slug)) = (pool.provider, pool.key.strip_prefix(providers::CUSTOM_PREFIX)) {
        if pool.custom.is_none() {
            out.err(&format!(
                "warning: no custom_providers entry named {slug}; the credential has no base URL until one is configured"
            ));
        }
    }
}

pub fn run(args: Args, home: &Home, out: &mut Printer) -> Result<()> {
    let pool = home.pool(&args.provider)?;
    if let Some(l) = &args.label {
        if l.trim().is_empty() {
            return Err(Error::Usage("--label is empty".into()));
        }
        if l.chars().any(char::is_control) {
            return Err(Error::Usage("--label contains control characters (an escape, a newline or a tab)".into()));
        }
    }
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr()) && home.ctx().colour_allowed();
    let mut prompter = TermPrompter::new(colour);
    // An import or a piped code can only mean an OAuth login.
    let implied = (args.import.is_some() || args.code_stdin).then_some("oauth");
    let kind = choose_kind(&pool, args.kind.as_deref().or(implied), args.api_key.is_some(), &mut prompter)?;
    if kind == Kind::OAuth {
        let opts = OAuthOptions {
            label: args.label.clone(),
            no_browser: args.no_browser,
            import: args.import.clone(),
            code_stdin: args.code_stdin,
        };
        let added = oauth_login(home, &pool, &opts, &mut prompter, out)?;
        print_added(&added, "OAuth ", "oauth", args.json, out);
        return Ok(());
    }
    if args.import.is_some() || args.code_stdin || args.no_browser {
        return Err(Error::Usage("--import, --code-stdin and --no-browser go with --type oauth".into()));
    }
    let secret = read_key(args.api_key.as_deref(), &mut prompter, out)?;
    warn_unconfigured(&pool, out);
    let added = ops::add_api_key(home, &pool, &secret, args.label.as_deref())?;
    print_added(&added, "", "api_key", args.json, out);
    Ok(())
}

/// Options of an OAuth login (`add --type oauth` and the wizard).
#[derive(Debug, Clone, Default)]
pub struct OAuthOptions {
    pub label: Option<String>,
    pub no_browser: bool,
    /// `claude-code` or `hermes-agent`: copy that tool's login into an owned entry.
    pub import: Option<String>,
    /// Anthropic: read `code#state` from stdin instead of prompting.
    pub code_stdin: bool,
}

/// Run the provider's OAuth login (docs/design.md#oauth) with no lock held, then store it in one transaction.
/// The CLI's `add --type oauth` and the wizard both call this.
pub fn oauth_login(
    home: &Home,
    pool: &PoolRef,
    opts: &OAuthOptions,
    prompter: &mut dyn Prompter,
    out: &mut Printer,
) -> Result<ops::Added> {
    if pool.key == CODEX && opts.import.is_none() {
        out.err(&format!("openai-codex takes a ChatGPT login, not an API key ({CODEX_NO_KEY})"));
    }
    let import = match opts.import.as_deref() {
        None => None,
        Some(tool) => Some(
            oauth::ImportFrom::parse(tool)
                .ok_or_else(|| Error::Usage(format!("--import {tool}: expected claude-code or hermes-agent")))?,
        ),
    };
    let login_opts = oauth::LoginOptions {
        label: opts.label.clone(),
        no_browser: opts.no_browser,
        import,
        code_stdin: opts.code_stdin,
    };
    let mut ui = CliLoginUi::new(home, prompter, out, opts.code_stdin);
    oauth::block_on(oauth::login(home, pool, &login_opts, &mut ui))?
}

/// The report of docs/design.md#command-line (stderr), plus the JSON document when asked.
pub fn print_added(added: &ops::Added, kind_word: &str, auth_type: &str, json: bool, out: &mut Printer) {
    // A restored source is said once, by the line below.
    for s in added.reenabled.iter().filter(|_| !added.restored || added.reenabled.len() > 1) {
        out.err(&format!("re-enabled {s}"));
    }
    let (verb, kind, note) = if added.restored {
        ("Restored", "", " (this key is the removed source's; no copy added)")
    } else if added.replaced {
        ("Updated", kind_word, " (same account; tokens replaced)")
    } else {
        ("Added", kind_word, "")
    };
    out.err(&format!(
        "{verb} {} {kind}credential #{} (id {}): \"{}\"{note}",
        added.key,
        added.index,
        added.id,
        crate::text::one_line(&added.label)
    ));
    if json {
        out.json(&serde_json::json!({
            "provider": added.key, "id": added.id, "label": added.label, "index": added.index,
            "auth_type": auth_type, "reenabled": added.reenabled, "replaced": added.replaced,
            "restored": added.restored,
        }));
    }
}
