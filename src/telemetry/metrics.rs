//! The metrics recorder: every metric Docent exposes is listed once in [`CATALOG`] (name, type,
//! help text), described to the Prometheus recorder at installation and rendered by
//! `GET /metrics`. `deploy/METRICS.md` is the human-readable contract; a test keeps the two equal.
//!
//! Code records through the `metrics` facade (`metrics::counter!("docent_…")`), so modules never
//! depend on the exporter. The recorder is process-global: [`install`] sets it up once and every
//! later call (tests spawn many applications in one process) returns the same handle.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One exposed metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: MetricKind,
    pub help: &'static str,
}

const fn def(name: &'static str, kind: MetricKind, help: &'static str) -> MetricDef {
    MetricDef { name, kind, help }
}

use MetricKind::{Counter, Gauge, Histogram};

/// Every metric Docent exposes. Keep in step with `deploy/METRICS.md` (a test checks).
pub const CATALOG: &[MetricDef] = &[
    def("docent_build_info", Gauge, "Always 1; the labels carry the version and git commit of the running binary."),
    def(
        "docent_http_requests_total",
        Counter,
        "HTTP requests answered, by method, matched route template and status class.",
    ),
    def(
        "docent_http_request_duration_seconds",
        Histogram,
        "HTTP request latency until the response head, by method and matched route.",
    ),
    def("docent_http_requests_in_flight", Gauge, "HTTP requests being handled right now."),
    def("docent_errors_total", Counter, "Problem (RFC 9457) responses, by their stable code."),
    def("docent_db_up", Gauge, "1 if the database answered the last probe (taken at each scrape), else 0."),
    def("docent_db_query_duration_seconds", Histogram, "Database operation latency, by operation (store.method)."),
    def(
        "docent_db_pool_connections",
        Gauge,
        "Database pool connections by state: size (open), idle, max (configured limit).",
    ),
    def(
        "docent_db_pool_waiting",
        Gauge,
        "Database operations waiting for a pooled connection (operations in flight minus connections in use).",
    ),
    def("docent_db_chunks", Gauge, "Chunks stored in the database (the source of truth the index is built from)."),
    def(
        "docent_db_batch_size",
        Histogram,
        "Writes committed together in one transaction, by operation (conversations.write_turns: chat turns).",
    ),
    def("docent_vector_store_up", Gauge, "1 if the vector index answered its last probe, else 0."),
    def("docent_embedder_up", Gauge, "1 if the embedding model is loaded and answering, else 0."),
    def(
        "docent_search_duration_seconds",
        Histogram,
        "Retrieval latency including the query embedding, by search mode.",
    ),
    def("docent_embed_duration_seconds", Histogram, "Latency of one embedding call, by embedder."),
    def("docent_embed_batch_size", Histogram, "Texts per embedding call, by embedder."),
    def(
        "docent_dense_scan_batch_queries",
        Histogram,
        "Searches scored together in one coalesced pass over the embedded index's dense matrix.",
    ),
    def("docent_index_chunks", Gauge, "Chunks in the vector index."),
    def("docent_index_documents", Gauge, "Documents in the vector index."),
    def(
        "docent_llm_requests_total",
        Counter,
        "LLM calls by provider, model and outcome (success, connect_error, timeout, rate_limited, http_error, upstream_error, malformed, breaker_open, unconfigured, cancelled).",
    ),
    def("docent_llm_request_duration_seconds", Histogram, "LLM call latency, by provider and model."),
    def(
        "docent_llm_time_to_first_token_seconds",
        Histogram,
        "Time from sending a streaming LLM request to its first token, by provider and model.",
    ),
    def("docent_llm_tokens_total", Counter, "LLM tokens used, by provider, model and kind (prompt, completion)."),
    def("docent_llm_circuit_breaker_state", Gauge, "LLM circuit breaker per provider: 0 closed, 1 half-open, 2 open."),
    def("docent_llm_fallbacks_total", Counter, "Fallbacks taken from one LLM provider to the next."),
    def(
        "docent_citations_dropped_total",
        Counter,
        "Generated citations dropped because their quote failed verification.",
    ),
    def("docent_rate_limited_total", Counter, "Requests refused with 429, by reason (rate_limit, quota)."),
    def("docent_quota_tokens_total", Counter, "LLM tokens charged to the daily quotas, by caller kind."),
    def("docent_answers_withheld_total", Counter, "Model answers withheld because they repeated the system prompt."),
    def(
        "docent_answer_refusal_threshold",
        Gauge,
        "Support below which questions are refused: the floor, or the book's background plus the margin.",
    ),
    def("docent_answer_background_support", Gauge, "Median support the book gives the background questions."),
    def(
        "docent_followup_rewrites_total",
        Counter,
        "Follow-up questions given to the chat model to rewrite, by outcome (rewritten, unchanged, failed, timeout, rejected).",
    ),
    def("docent_rerank_failures_total", Counter, "Reranker calls that failed; the fused order was kept."),
    def("docent_api_key_requests_total", Counter, "Requests authenticated by an API key, by the key's public id."),
    def("docent_api_key_tokens_total", Counter, "LLM tokens spent on behalf of an API key, by the key's public id."),
    def(
        "docent_ingest_documents_total",
        Counter,
        "Documents processed by ingestion, by outcome (added, updated, unchanged, deleted, skipped).",
    ),
    def("docent_ingest_chunks_total", Counter, "Chunks embedded by ingestion."),
    def("docent_ingest_failures_total", Counter, "Ingestion runs or upload jobs that failed."),
    def("docent_cache_hits_total", Counter, "Cache lookups that found the entry, by cache."),
    def("docent_cache_misses_total", Counter, "Cache lookups that missed, by cache."),
    def(
        "docent_translation_requests_total",
        Counter,
        "Chapter translation requests by outcome (cache_hit, translated, not_found, unavailable, unfaithful, llm_error, quota_exceeded, error).",
    ),
    def(
        "docent_translation_sections_total",
        Counter,
        "Chapter sections handled by the translator, by outcome (translated, skipped, rejected).",
    ),
    def("docent_translation_duration_seconds", Histogram, "Time to translate one whole chapter (cache misses only)."),
    def("docent_data_dir_free_bytes", Gauge, "Bytes available to Docent on the file system of DOCENT_DATA_DIR."),
    def("docent_data_dir_total_bytes", Gauge, "Size in bytes of the file system of DOCENT_DATA_DIR."),
    def(
        "docent_backup_last_success_timestamp_seconds",
        Gauge,
        "Unix time of the newest backup in the backup directory (0 if there is none).",
    ),
];

/// Latency buckets in seconds: 5 ms to 2 minutes (LLM answers stream for tens of seconds).
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
/// Embedding batch sizes (the local embedder takes at most 256 texts per pass).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];
/// Histograms are drained this often even when nobody scrapes, bounding their memory.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global `metrics` recorder (once) and
/// returns its handle. If another recorder was installed first, the handle renders nothing and
/// a warning is logged.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("docent_embed_batch_size".into()), BATCH_BUCKETS))
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("docent_dense_scan_batch_queries".into()), BATCH_BUCKETS)
            })
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("docent_db_batch_size".into()), BATCH_BUCKETS))
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is already installed; /metrics will not show Docent's metrics");
        }
        describe_all();
        register_baseline();
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("docent-metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// The exposition in Prometheus text format, or `None` when [`install`] was never called.
pub fn render() -> Option<String> {
    HANDLE.get().map(|handle| {
        handle.run_upkeep();
        handle.render()
    })
}

fn describe_all() {
    for m in CATALOG {
        match m.kind {
            Counter => metrics::describe_counter!(m.name, m.help),
            Gauge => metrics::describe_gauge!(m.name, m.help),
            Histogram => metrics::describe_histogram!(m.name, m.help),
        }
    }
}

/// Series that exist from the first scrape: build info, and zero for the label-less counters
/// and gauges, so `rate()` and alerts see them before the first event.
fn register_baseline() {
    let info = crate::build_info();
    let label = |key: &str| info[key].as_str().unwrap_or("unknown").to_owned();
    metrics::gauge!("docent_build_info", "version" => label("version"), "commit" => label("commit")).set(1.0);
    for m in CATALOG.iter().filter(|m| m.kind == Counter && !LABELLED_COUNTERS.contains(&m.name)) {
        metrics::counter!(m.name).increment(0);
    }
    metrics::gauge!("docent_http_requests_in_flight").increment(0.0);
}

/// Counters whose every series carries labels (no label-less zero series for them).
const LABELLED_COUNTERS: &[&str] = &[
    "docent_http_requests_total",
    "docent_errors_total",
    "docent_llm_requests_total",
    "docent_llm_tokens_total",
    "docent_llm_fallbacks_total",
    "docent_rate_limited_total",
    "docent_quota_tokens_total",
    "docent_api_key_requests_total",
    "docent_api_key_tokens_total",
    "docent_ingest_documents_total",
    "docent_cache_hits_total",
    "docent_cache_misses_total",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogued_name_is_unique_and_follows_the_naming_rules() {
        let mut seen = std::collections::HashSet::new();
        for m in CATALOG {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
            assert!(m.name.starts_with("docent_"), "{}", m.name);
            assert_eq!(
                m.kind == Counter,
                m.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                m.name
            );
            assert!(!m.help.is_empty());
        }
        for name in LABELLED_COUNTERS {
            assert!(CATALOG.iter().any(|m| m.name == *name && m.kind == Counter), "{name} is not a catalogued counter");
        }
    }
}
