//! `docent index rebuild | stats`: the index is derived from the database and can always be
//! rebuilt from the stored chunks and vectors (no re-embedding).

use std::process::ExitCode;

use clap::Subcommand;

use crate::components::Components;
use crate::config::Settings;
use crate::embed::EmbedKind;
use crate::ingest::embedding_text;
use crate::ingest::records::vector_to_bytes;
use crate::ingest::sync::reconcile;

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

/// Clears the index, re-embeds chunks stored with another model, and re-indexes every
/// document from the database.
async fn rebuild(c: &Components) -> Result<String, Box<dyn std::error::Error>> {
    c.index.clear().await?;
    c.index.ensure_model(c.embedder.model_id(), c.embedder.dimension()).await?;
    let reembedded = reembed_stale(c).await?;
    let documents = reconcile(&c.db, c.index.as_ref()).await?;
    let stats = c.index.stats().await?;
    Ok(format!("rebuilt the index: {documents} documents, {} chunks ({reembedded} re-embedded)", stats.chunks))
}

async fn reembed_stale(c: &Components) -> Result<usize, Box<dyn std::error::Error>> {
    let model = c.embedder.model_id().to_owned();
    let mut done = 0;
    loop {
        let stale = c.db.stale_chunks(&model, 256).await?;
        if stale.is_empty() {
            return Ok(done);
        }
        // The stored heading path is already joined, so it is one element here.
        let texts: Vec<String> = stale
            .iter()
            .map(|(_, heading, text)| {
                let path: Vec<String> = if heading.is_empty() { vec![] } else { vec![heading.clone()] };
                embedding_text(&path, text)
            })
            .collect();
        let vectors = c.embedder.embed(&texts, EmbedKind::Document).await?;
        for ((id, _, _), vector) in stale.iter().zip(vectors) {
            c.db.set_chunk_embedding(id, &vector_to_bytes(&vector), &model).await?;
        }
        done += stale.len();
    }
}
