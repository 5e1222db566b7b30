//! `hermes serve`: run the local gateway in the foreground (docs/serve.md).

use crate::cli::printer::Printer;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::runtime::Runtime;
use crate::serve::auth::{ClientKeys, KeySource};
use crate::serve::{self, Gateway};
use crate::store::behind::WriteBehind;
use std::net::SocketAddr;
use std::sync::Arc;

/// How often the gateway writes its picks and marks back to auth.json.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// How long the stop waits for work still running on the blocking pool: longer than a wait for
/// auth.json's lock ([`crate::store::DEFAULT_LOCK_TIMEOUT`]), so a flush or batch that is waiting
/// for another process has usually ended before the last one starts. The last record and flush
/// also wait for a batch or flush still under way (they take turns), so nothing it took is lost
/// at the exit even past this wait.
const DRAIN_BLOCKING: std::time::Duration = std::time::Duration::from_secs(20);

/// Serve the pools to local programs over HTTP (OpenAI, Anthropic and Responses wires).
///
/// Point a client at http://127.0.0.1:8649 (OPENAI_BASE_URL=http://127.0.0.1:8649/v1,
/// ANTHROPIC_BASE_URL=http://127.0.0.1:8649) with the client key as its API key. Each request is
/// sent through the pool with rotation, cooldowns, OAuth refresh and fallback. The client key
/// comes from serve.api_key / serve.clients in config.yaml or HERMES_SERVE_KEY; without one, a
/// key is generated into $HERMES_HOME/serve.key. SIGINT or SIGTERM stops the server after the
/// requests in flight (at most 10 s).
///
/// Examples:
///   hermes serve
///   hermes serve --listen 127.0.0.1:0
///   curl -H "Authorization: Bearer $(cat ~/.hermes/serve.key)" http://127.0.0.1:8649/v1/models
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Address and port to listen on (`:0` picks a free port). A non-loopback address needs a
    /// configured client key.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// How the log on stderr looks: `text` (one `event key=value …` line each) or `json` (one
    /// JSON object per line).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Threads that serve requests. One adds the least latency (no hand-offs between threads
    /// while a request waits on its provider) and carries thousands of requests a second; more
    /// only for more than one core's worth of traffic.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,
}

pub fn run(args: Args, ctx: Context, out: &mut Printer) -> Result<()> {
    // On auth.json the pools live in memory and are written behind (at most every 250 ms, and at
    // the stop): a pick costs no file lock and no fsync. On a fleet's shared state every pick is
    // a round trip to the server, which the other machines see at once.
    let file = Home::open(ctx.clone())?;
    let status = file.state().backend();
    let (home, behind) = if status.shared {
        match (&status.reachable, &status.problem) {
            (Some(true), _) => out.err(&format!("hermes: pool state on {}", status.location)),
            (_, Some(why)) => out.err(&format!("hermes: pool state on {}: not reachable yet ({why})", status.location)),
            _ => {}
        }
        (Arc::new(file), None)
    } else {
        let store = file
            .file_store()
            .cloned()
            .ok_or(Error::System { what: "cannot serve", detail: "the pools do not live in auth.json".into() })?;
        let behind = Arc::new(WriteBehind::new(store)?);
        (Arc::new(Home::with_state(ctx, behind.clone())?), Some(behind))
    };
    for w in home.take_warnings() {
        out.err(&w);
    }
    let text = args.listen.as_deref().unwrap_or(serve::DEFAULT_LISTEN);
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| Error::Usage(format!("--listen {text:?} is not ADDR:PORT (e.g. 127.0.0.1:8649)")))?;
    let (keys, source) = ClientKeys::load(&home)
        .map_err(|e| Error::System { what: "cannot set up the client key", detail: e.to_string() })?;
    if !serve::is_loopback(&addr) && source != KeySource::Configured {
        return Err(Error::Usage(format!(
            "listening on {addr} (not loopback) needs a configured client key: serve.api_key in config.yaml or HERMES_SERVE_KEY"
        )));
    }
    match &source {
        KeySource::Generated(p) => out.err(&format!("hermes: generated a client key in {}", p.display())),
        KeySource::File(p) => out.err(&format!("hermes: client key: {}", p.display())),
        KeySource::Configured => {}
    }
    // Streamed answers may run for minutes: no limit on the whole request, only on silence.
    let read_timeout = home
        .ctx()
        .var(crate::vars::CHAT_TIMEOUT)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(crate::runtime::client::DEFAULT_TIMEOUT, std::time::Duration::from_secs_f64);
    let transport = crate::runtime::HttpTransport::streaming(read_timeout)
        .map_err(|e| Error::System { what: "cannot start HTTP", detail: e.to_string() })?;
    // Good answers are recorded in batches with the flush below rather than one transaction
    // each before the reply (docs/serve.md#state): on the fleet backend each would be a round
    // trip to its server, on auth.json a second pass over the pool per request.
    let runtime =
        Runtime::with_transport(home.clone(), Arc::new(transport)).record_answers_after_reply().without_trail();
    let json = args.log_format == "json";
    let log: Box<dyn Fn(&serve::LogRecord) + Send + Sync> = Box::new(move |r: &serve::LogRecord| {
        // One write per line: stderr is unbuffered, and `eprintln!` writes each piece of its
        // format on its own (three system calls a request).
        let line = if json { format!("{}\n", r.json()) } else { format!("hermes: {}\n", crate::text::safe(&r.text())) };
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    });
    let gateway = Arc::new(Gateway::new(home.clone(), runtime, keys, log));
    // One worker by default: a request spends nearly all its time waiting on its provider, and
    // with more workers each wake-up may hand the request to another thread (measured: less
    // added latency and CPU per request with one, docs/benchmarks.md). Still the multi-thread
    // scheduler, so that store work that blocks (a fleet round trip, a grant lock) hands the
    // worker's other requests to a thread of the blocking pool meanwhile (`block_in_place`).
    // Store work on the write-behind state runs on the worker itself; the blocking pool carries
    // those hand-offs, the periodic flush and OAuth refreshes, so a few threads do (each costs
    // its own allocator heap and stack; when all are busy a hand-off waits for one to finish).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.workers))
        .enable_all()
        .max_blocking_threads(4)
        .build()
        .map_err(|e| Error::System { what: "cannot start the async runtime", detail: e.to_string() })?;
    let served = rt.block_on(async {
        let stop = serve::stop_signal()
            .map_err(|e| Error::System { what: "cannot handle SIGINT and SIGTERM", detail: e.to_string() })?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::System { what: "cannot listen", detail: format!("{addr}: {e}") })?;
        let local =
            listener.local_addr().map_err(|e| Error::System { what: "cannot listen", detail: e.to_string() })?;
        let every = home
            .ctx()
            .var(crate::vars::TEST_FLUSH_EVERY)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(FLUSH_EVERY, std::time::Duration::from_secs_f64);
        let flusher = {
            let (behind, home, gateway) = (behind.clone(), home.clone(), gateway.clone());
            tokio::spawn(async move {
                let mut failing = false;
                loop {
                    tokio::time::sleep(every).await;
                    let (b, g, now) = (behind.clone(), gateway.clone(), home.now());
                    let flushed = tokio::task::spawn_blocking(move || {
                        g.check_returns();
                        let recorded = g.runtime.record_answers();
                        (recorded, b.as_ref().map_or(Ok(0), |b| b.flush(now)))
                    })
                    .await;
                    if let Ok((recorded, flushed)) = flushed {
                        // Said once per failing spell, not every interval.
                        match (recorded, failing) {
                            (Err(e), false) => {
                                eprintln!("hermes: {}", crate::text::safe(&format!("cannot record answers yet: {e}")));
                                failing = true;
                            }
                            (Ok(_), true) => failing = false,
                            _ => {}
                        }
                        if let Err(e) = flushed {
                            eprintln!(
                                "hermes: {}",
                                crate::text::safe(&format!("cannot write the pools back yet: {e}"))
                            );
                        }
                    }
                }
            })
        };
        eprintln!("hermes: listening on http://{local}");
        let header_timeout = home
            .ctx()
            .var(crate::vars::TEST_HEADER_TIMEOUT)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(serve::HEADER_TIMEOUT, std::time::Duration::from_secs_f64);
        let served = serve::serve(listener, gateway.clone(), stop, header_timeout)
            .await
            .map_err(|e| Error::System { what: "the server failed", detail: e.to_string() });
        flusher.abort();
        served
    });
    // Work still running on the blocking pool (a batch of answers, a flush) ends before the last
    // batch and flush below (which wait for it in any case), so none of it lands after them.
    rt.shutdown_timeout(DRAIN_BLOCKING);
    // Whatever the last interval gathered goes to the state and auth.json before the exit.
    if let Err(e) = gateway.runtime.record_answers() {
        let waiting = gateway.runtime.answers_waiting();
        eprintln!("hermes: {}", crate::text::safe(&format!("the usage of {waiting} answers is lost: {e}")));
    }
    served?;
    if let Some(behind) = &behind {
        behind.flush(home.now())?;
    }
    out.err("hermes: stopped");
    Ok(())
}
