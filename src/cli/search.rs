//! `docent search "query" [--k N] [--mode hybrid|bm25|dense] [--json]`.

use std::process::ExitCode;

use crate::components::Components;
use crate::config::Settings;
use crate::index::SearchMode;
use crate::retrieve::SearchRequest;

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    query: String,
    /// Results to show.
    #[arg(long, default_value_t = 5)]
    k: usize,
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Mode {
    Hybrid,
    Bm25,
    Dense,
}

impl From<Mode> for SearchMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Hybrid => SearchMode::Hybrid,
            Mode::Bm25 => SearchMode::Bm25,
            Mode::Dense => SearchMode::Dense,
        }
    }
}

pub fn run(settings: Settings, args: SearchArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    super::runtime().block_on(async move {
        let components = match Components::open(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        let request = SearchRequest {
            query: args.query,
            k: Some(args.k.clamp(1, 100)),
            mode: args.mode.into(),
            ..Default::default()
        };
        match components.retriever.search(request).await {
            Ok(found) if args.json => {
                println!("{}", serde_json::to_string_pretty(&found).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Ok(found) => {
                for (i, hit) in found.results.iter().enumerate() {
                    println!("{}. [{:.4}] {} — {}", i + 1, hit.score, hit.title, hit.heading_path);
                    println!("   {}", hit.url.as_deref().unwrap_or("-"));
                    let preview: String = hit.text.chars().take(200).collect();
                    println!("   {}\n", preview.replace('\n', " "));
                }
                println!("({:.1} ms)", found.timings_ms.total);
                ExitCode::SUCCESS
            }
            Err(err) => super::fail(&err),
        }
    })
}
