//! `GET /metrics`: Prometheus text, with the prometheus-client encoder. Labels carry pool keys,
//! entry ids, statuses and outcomes: never a secret.

use crate::home::Home;
use crate::pool::status::Status;
use crate::runtime::RequestLog;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    provider: String,
    entry: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

type HistogramFamily = Family<ProviderLabel, Histogram, fn() -> Histogram>;

/// The gateway's counters.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    rotations: Family<ProviderLabel, Counter>,
    cooling: Family<ProviderLabel, Gauge>,
    latency: HistogramFamily,
    broken: Family<EntryLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EntryLabels {
    provider: String,
    entry: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 5 ms to about 20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("hermes");
        let requests = Family::<RequestLabels, Counter>::default();
        let attempts = Family::<AttemptLabels, Counter>::default();
        let rotations = Family::<ProviderLabel, Counter>::default();
        let cooling = Family::<ProviderLabel, Gauge>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register("requests", "Requests answered, by endpoint, provider, entry and status", requests.clone());
        registry.register("attempts", "Attempts sent upstream, by provider and outcome", attempts.clone());
        registry.register("rotations", "Moves to another credential after a refusal", rotations.clone());
        registry.register("cooldowns_active", "Entries benched right now, per pool", cooling.clone());
        registry.register("upstream_latency_seconds", "Time of each upstream attempt", latency.clone());
        let broken = Family::<EntryLabels, Counter>::default();
        registry.register("streams_broken", "Streams the provider broke off after content was sent", broken.clone());
        Metrics { registry, requests, attempts, rotations, cooling, latency, broken }
    }
}

impl Metrics {
    /// Count one answered request and what its attempts did.
    pub fn record(&self, endpoint: &str, provider: &str, entry: Option<&str>, status: u16, log: &RequestLog) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_string(),
                provider: provider.to_string(),
                entry: entry.unwrap_or("-").to_string(),
                status: status.to_string(),
            })
            .inc();
        for a in &log.attempts {
            let p = ProviderLabel { provider: a.provider.clone() };
            self.attempts
                .get_or_create(&AttemptLabels { provider: a.provider.clone(), outcome: a.outcome.as_str().to_string() })
                .inc();
            if a.decision == "rotate" {
                self.rotations.get_or_create(&p).inc();
            }
            self.latency.get_or_create(&p).observe(a.elapsed_ms as f64 / 1000.0);
        }
    }

    /// A stream of `entry` broke off after content had been sent.
    pub fn stream_broken(&self, provider: &str, entry: &str) {
        self.broken.get_or_create(&EntryLabels { provider: provider.to_string(), entry: entry.to_string() }).inc();
    }

    /// The text exposition, with the benched entries of every pool counted now.
    pub fn render(&self, home: &Home) -> String {
        if let Ok(doc) = home.state().read() {
            let now = home.now();
            for key in home.pool_keys(&doc) {
                let view = home.view(&doc, &key, now);
                let n = view.entries.iter().filter(|v| matches!(v.status, Status::Cooling { .. })).count();
                self.cooling.get_or_create(&ProviderLabel { provider: key }).set(n as i64);
            }
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
