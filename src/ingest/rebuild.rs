//! Rebuilding the index from the database: the index is derived data, so it can always be
//! dropped and refilled from the stored chunks and vectors (no re-embedding, except chunks stored
//! by another model). Used by `docent index rebuild` and after `docent backup restore`.

use serde::Serialize;

use super::embedding_text;
use super::records::vector_to_bytes;
use super::sync::{SyncError, reconcile};
use crate::components::Components;
use crate::embed::EmbedKind;

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub documents: usize,
    pub chunks: usize,
    pub reembedded: usize,
}

/// Clears the index, re-embeds chunks stored with another model, and re-indexes every
/// document from the database.
pub async fn rebuild_index(c: &Components) -> Result<RebuildReport, SyncError> {
    c.index.clear().await?;
    c.index.ensure_model(c.embedder.model_id(), c.embedder.dimension()).await?;
    let reembedded = reembed_stale(c).await?;
    let documents = reconcile(&c.db, c.index.as_ref()).await?;
    let stats = c.index.stats().await?;
    Ok(RebuildReport { documents, chunks: stats.chunks, reembedded })
}

async fn reembed_stale(c: &Components) -> Result<usize, SyncError> {
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
