//! Logging and metrics. Logging: a `tracing` subscriber writing JSON lines (one object per event, with timestamp,
//! level, target, message and the request span's fields) or human-friendly text, filtered by
//! `LOG_LEVEL`, optionally also to daily-rotated files in `LOG_DIR` with a retention count.
//! Secrets never reach a log line: request logging records method, route, status and latency
//! only, and sensitive headers are marked so no layer prints them. Metrics: the Prometheus
//! recorder and the catalogue of every metric, in [`metrics`].

use std::io;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder as RollingBuilder, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::config::{LogFormat, Settings};

mod json;
pub mod metrics;

/// Where the console output goes: the server logs to stdout, CLI commands to stderr so their
/// own output stays machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    Stdout,
    Stderr,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot open the log directory {dir}: {source}")]
    LogDir { dir: String, source: tracing_appender::rolling::InitError },
}

/// Keeps the background log writer alive; drop it last to flush.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    _file: Option<WorkerGuard>,
}

/// Installs the global subscriber. Calling it again (as tests do) keeps the first one.
pub fn init(settings: &Settings, console: Console) -> Result<TelemetryGuard, TelemetryError> {
    let filter = || EnvFilter::builder().parse_lossy(&settings.log.level);
    let writer = move || -> Box<dyn io::Write> {
        match console {
            Console::Stdout => Box::new(io::stdout()),
            Console::Stderr => Box::new(io::stderr()),
        }
    };
    let console_layer = match settings.log_format() {
        LogFormat::Json => json_layer().with_writer(writer).with_filter(filter()).boxed(),
        LogFormat::Pretty => fmt::layer().with_target(true).with_writer(writer).with_filter(filter()).boxed(),
    };
    let (file_layer, guard) = match &settings.log.dir {
        Some(dir) => {
            let appender = RollingBuilder::new()
                .rotation(Rotation::DAILY)
                .filename_prefix("docent")
                .filename_suffix("log")
                .max_log_files(settings.log.retention_files)
                .build(dir)
                .map_err(|source| TelemetryError::LogDir { dir: dir.display().to_string(), source })?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(json_layer().with_writer(writer).with_filter(filter()).boxed()), Some(guard))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(console_layer).with(file_layer).try_init();
    Ok(TelemetryGuard { _file: guard })
}

fn json_layer<S>() -> fmt::Layer<S, fmt::format::JsonFields, json::JsonLines>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer().fmt_fields(fmt::format::JsonFields::new()).event_format(json::JsonLines)
}
