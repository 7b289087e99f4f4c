//! `docent ingest PATH... [--prune] [--base-url URL] [--json]`: sync a book's sources into the
//! database and the index, with a progress bar on a terminal and log lines otherwise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::components::Components;
use crate::config::Settings;
use crate::ingest::sync::{Progress, SyncOptions, sync_paths};

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Files or folders of the book.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Delete documents whose source files are gone.
    #[arg(long)]
    prune: bool,
    /// Public URL of the book for deep links (overrides DOCENT_BASE_URL).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Print one JSON summary object.
    #[arg(long)]
    json: bool,
}

pub fn run(settings: Settings, args: IngestArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    if let Some(missing) = args.paths.iter().find(|p| !p.exists()) {
        eprintln!("error: {} does not exist", missing.display());
        return ExitCode::FAILURE;
    }
    let mut options = SyncOptions::from_settings(&settings, args.prune);
    if args.base_url.is_some() {
        options.base_url = args.base_url.clone();
    }
    super::runtime().block_on(async move {
        let components = match Components::open(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        let progress = Reporter::new(!args.json && std::io::stderr().is_terminal());
        let result = sync_paths(&components, &args.paths, &options, &progress).await;
        if result.is_ok() {
            // Measured now, so that the server and `docent ask` find it kept.
            components.measured_answers(&settings).await;
        }
        components.db.close().await;
        match result {
            Ok(summary) => {
                if args.json {
                    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
                } else {
                    let d = &summary.documents;
                    println!(
                        "documents: {} added, {} updated, {} unchanged, {} deleted, {} skipped; chunks: {} embedded, {} total; {:.1}s",
                        d.added, d.updated, d.unchanged, d.deleted, d.skipped, summary.chunks.embedded, summary.chunks.total, summary.seconds
                    );
                    for (path, reason) in &summary.skipped_files {
                        println!("skipped {}: {reason}", path.display());
                    }
                }
                ExitCode::SUCCESS
            }
            Err(err) => super::fail(&err),
        }
    })
}

/// A progress bar (files, chunks embedded, chunks/s, ETA) or a log line every few seconds.
struct Reporter {
    bar: Option<ProgressBar>,
    state: Mutex<(usize, Instant)>,
    started: Instant,
}

impl Reporter {
    fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} files · {msg} · ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self { bar, state: Mutex::new((0, Instant::now())), started: Instant::now() }
    }
}

impl Progress for Reporter {
    fn start(&self, files: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(files as u64);
        }
        tracing::info!(files, "ingesting");
    }

    fn advance(&self, chunks_embedded: usize) {
        let rate = chunks_embedded as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("{chunks_embedded} chunks embedded · {rate:.1} chunks/s"));
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += 1;
        if state.1.elapsed() >= Duration::from_secs(5) {
            tracing::info!(files_done = state.0, chunks_embedded, chunks_per_sec = rate, "ingest progress");
            state.1 = Instant::now();
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
