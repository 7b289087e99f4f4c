//! `docent index rebuild | stats`: the index is derived from the database and can always be
//! rebuilt from the stored chunks and vectors (no re-embedding).

use std::process::ExitCode;

use clap::Subcommand;

use crate::components::Components;
use crate::config::Settings;
use crate::ingest::rebuild::rebuild_index;

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    action: IndexAction,
}

#[derive(Debug, Subcommand)]
enum IndexAction {
    /// Drop the index and rebuild it from the database.
    Rebuild,
    /// Chunk and document counts, model and dimension.
    Stats,
}

pub fn run(settings: Settings, args: IndexArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    super::runtime().block_on(async move {
        let components = match Components::open_unchecked(&settings).await {
            Ok(c) => c,
            Err(err) => return super::fail(&err),
        };
        let index = components.index.as_ref();
        let result = match args.action {
            IndexAction::Rebuild => rebuild(&components).await,
            IndexAction::Stats => {
                index.stats().await.map(|s| serde_json::to_string_pretty(&s).unwrap_or_default()).map_err(Into::into)
            }
        };
        match result {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(err) => super::fail(err.as_ref()),
        }
    })
}

/// `docent index rebuild`: the library's rebuild, reported in one line.
async fn rebuild(c: &Components) -> Result<String, Box<dyn std::error::Error>> {
    let report = rebuild_index(c).await?;
    Ok(format!(
        "rebuilt the index: {} documents, {} chunks ({} re-embedded)",
        report.documents, report.chunks, report.reembedded
    ))
}
