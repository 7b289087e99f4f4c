//! Write path: loading the dense state at open, recording the model,
//! atomic per-document replacement/deletion, and clearing.
//!
//! Every writer holds `Inner::writer` for its whole duration (SQLite allows a
//! single writer anyway), does its SQL in a transaction outside the state
//! lock, then commits and mutates the dense state under the write guard.

use super::Inner;
use super::analysis::heading_text;
use super::dense::{DenseState, DocUpdate, NewRow};
use super::lexical::analyse_rows;
use super::scan::normalize;
use super::store::Store;
use crate::index::{IndexChunk, IndexError};
use sqlx::{Sqlite, Transaction};
use std::sync::atomic::Ordering;

/// Reads the recorded model, every stored vector and every row's text into a fresh state.
/// Each page's text is analysed on all cores (rayon) while rows are added in rowid order.
pub(super) async fn load_state(store: &Store) -> Result<DenseState, IndexError> {
    let dim = store.model().await?.map_or(0, |(_, d)| d);
    let (chunks, _) = store.counts().await?;
    if dim == 0 && chunks > 0 {
        return Err(store.corrupt(format!("{chunks} chunks but no embedding model recorded")));
    }
    let mut state = DenseState::new(dim);
    state.reserve(usize::try_from(chunks).unwrap_or_default());
    let mut documents = std::collections::HashSet::new();
    let mut after = i64::MIN;
    let mut vector = Vec::with_capacity(dim);
    loop {
        let page = store.load_page(after).await?;
        let Some(last) = page.last() else { break };
        after = last.0;
        let terms = analyse_rows(&page, |row| (&row.3, row.4.clone()));
        for ((pk, document_id, chapter, _, _, blob), terms) in page.into_iter().zip(terms) {
            if blob.len() != dim * 4 {
                let detail = format!("chunk row {pk} has a {}-byte vector, expected {}", blob.len(), dim * 4);
                return Err(store.corrupt(detail));
            }
            vector.clear();
            vector.extend(blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
            state.push_with_terms(small_pk(store, pk)?, &document_id, chapter.as_deref(), &vector, terms);
            documents.insert(document_id);
        }
    }
    for document_id in &documents {
        state.finish_document(document_id);
    }
    Ok(state)
}

/// Rowids index the postings as `u32`; beyond that (four billion chunk rows written over
/// the file's life) the index must be rebuilt, which renumbers them.
fn small_pk(store: &Store, pk: i64) -> Result<u32, IndexError> {
    u32::try_from(pk).map_err(|_| store.corrupt(format!("chunk rowid {pk} exceeds 2^32; run `docent index rebuild`")))
}

/// Loads the state together with the generation it reflects, retrying when another process
/// commits while the pages are read.
pub(super) async fn load_consistent(store: &Store) -> Result<(DenseState, i64), IndexError> {
    loop {
        let before = store.generation().await?;
        let state = load_state(store).await?;
        if store.generation().await? == before {
            return Ok((state, before));
        }
    }
}

/// Checks chunk ownership, dimension and finiteness; normalises vectors.
fn validate(document_id: &str, dim: usize, chunks: &mut [IndexChunk]) -> Result<(), IndexError> {
    for chunk in chunks.iter_mut() {
        let invalid = |reason: String| IndexError::InvalidChunk { chunk_id: chunk.id.clone(), reason };
        if chunk.document_id != document_id {
            return Err(invalid(format!("belongs to `{}`, not `{document_id}`", chunk.document_id)));
        }
        if chunk.vector.len() != dim {
            let what = format!("vector of chunk `{}`", chunk.id);
            return Err(IndexError::Dimension { what, expected: dim, actual: chunk.vector.len() });
        }
        if !chunk.vector.iter().all(|x| x.is_finite()) {
            return Err(invalid("vector contains NaN or infinity".into()));
        }
        normalize(&mut chunk.vector);
    }
    Ok(())
}

impl Inner {
    /// Reloads the in-memory state when another process has written to the file since it
    /// was loaded. Costs one indexed read when nothing changed.
    pub(super) async fn refresh_if_stale(&self) -> Result<(), IndexError> {
        let stamp = self.freshness.stamp();
        if self.freshness.unchanged(&stamp) {
            return Ok(());
        }
        if self.store.generation().await? == self.generation.load(Ordering::SeqCst) {
            self.freshness.checked(stamp);
            return Ok(());
        }
        let _writer = self.writer.lock().await;
        if self.store.generation().await? == self.generation.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (fresh, generation) = load_consistent(&self.store).await?;
        let mut state = self.state.write().await;
        *state = fresh;
        self.advance(generation);
        self.freshness.checked(stamp);
        tracing::info!(location = %self.store.location, generation, "index reloaded after an outside write");
        Ok(())
    }

    /// Records the model on first use; errors if a different one is recorded.
    pub(super) async fn ensure_model(&self, model_id: &str, dimension: usize) -> Result<(), IndexError> {
        if dimension == 0 {
            let what = format!("embedding model `{model_id}`");
            return Err(IndexError::Dimension { what, expected: 1, actual: 0 });
        }
        let _writer = self.writer.lock().await;
        match self.store.model().await? {
            Some((model, dim)) if model == model_id && dim == dimension => Ok(()),
            Some((indexed_model, indexed_dimension)) => Err(IndexError::ModelMismatch {
                location: self.store.location.clone(),
                indexed_model,
                indexed_dimension,
                model: model_id.to_owned(),
                dimension,
            }),
            None => {
                let mut tx = self.store.begin().await?;
                self.store.set_model(&mut tx, model_id, dimension).await?;
                let generation = self.store.bump_generation(&mut tx).await?;
                let mut state = self.state.write().await;
                tx.commit().await.map_err(|e| self.store.err("commit model", e))?;
                self.advance(generation);
                // No model means no chunks (see `load_state`/`clear`).
                *state = DenseState::new(dimension);
                tracing::info!(model = model_id, dimension, "index embedding model recorded");
                Ok(())
            }
        }
    }

    /// Replaces (`version = Some`) or deletes (`None`) one document atomically.
    pub(super) async fn replace(
        &self,
        document_id: &str,
        version: Option<&str>,
        mut chunks: Vec<IndexChunk>,
    ) -> Result<(), IndexError> {
        let started = std::time::Instant::now();
        let _writer = self.writer.lock().await;
        let dim = self.state.read().await.dim();
        if version.is_some() && dim == 0 {
            return Err(IndexError::ModelNotSet { location: self.store.location.clone() });
        }
        validate(document_id, dim, &mut chunks)?;
        let mut tx = self.store.begin().await?;
        let update = self.stage(&mut tx, document_id, version, dim, chunks).await?;
        let generation = self.store.bump_generation(&mut tx).await?;
        let rows = update.rows.len();
        {
            let mut state = self.state.write().await;
            tx.commit().await.map_err(|e| self.store.err("commit document", e))?;
            state.apply(update);
            self.advance(generation);
        }
        tracing::debug!(
            document_id,
            ?version,
            chunks = rows,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "index document written"
        );
        Ok(())
    }

    /// Writes the replacement into `tx` (not yet committed) and returns the
    /// matching in-memory update.
    async fn stage(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        document_id: &str,
        version: Option<&str>,
        dim: usize,
        chunks: Vec<IndexChunk>,
    ) -> Result<DocUpdate, IndexError> {
        self.store.delete_rows(tx, document_id).await?;
        let mut update = DocUpdate {
            document_id: document_id.to_owned(),
            rows: Vec::with_capacity(chunks.len()),
            vectors: Vec::with_capacity(chunks.len() * dim),
        };
        let terms = analyse_rows(&chunks, |chunk| (&chunk.text, heading_text(&chunk.payload)));
        for (chunk, terms) in chunks.into_iter().zip(terms) {
            let pk = small_pk(&self.store, self.store.insert_chunk(tx, &chunk).await?)?;
            update.rows.push(NewRow { pk, chapter: chunk.chapter, terms });
            update.vectors.extend_from_slice(&chunk.vector);
        }
        if let Some(version) = version {
            self.store.set_version(tx, document_id, version).await?;
        }
        Ok(update)
    }

    /// Removes everything including the recorded model.
    pub(super) async fn clear(&self) -> Result<(), IndexError> {
        let _writer = self.writer.lock().await;
        let mut tx = self.store.begin().await?;
        self.store.clear(&mut tx).await?;
        let generation = self.store.bump_generation(&mut tx).await?;
        let mut state = self.state.write().await;
        tx.commit().await.map_err(|e| self.store.err("commit clear", e))?;
        *state = DenseState::new(0);
        self.advance(generation);
        tracing::info!(location = %self.store.location, "index cleared");
        Ok(())
    }
}
