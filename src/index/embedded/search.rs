//! Read path: BM25 + dense candidates under one read guard, fusion, and
//! hydration of the winners' text and payload (hot rows from memory, the rest from SQLite).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::OwnedRwLockReadGuard;

use super::Inner;
use super::dense::DenseState;
use super::fusion::{self, Fused};
use super::lexical::query_terms;
use super::rows::Row;
use super::scan::normalize;
use crate::index::{IndexError, IndexHit, IndexQuery, SearchMode};

type Guard = OwnedRwLockReadGuard<DenseState>;

/// Rows from which the dense scan moves to the blocking pool (~0.7 ms of
/// work at 384 dims in a release build; below that the hop costs more).
const BLOCKING_MIN_ROWS: usize = 8_192;

impl Inner {
    /// Executes `query` (see the module documentation for the invariant).
    pub(super) async fn search(&self, query: &IndexQuery) -> Result<Vec<IndexHit>, IndexError> {
        if query.k == 0 {
            return Ok(Vec::new());
        }
        // Single-side modes need no fusion depth: their top k is the answer.
        let candidates = match query.mode {
            SearchMode::Hybrid => query.fusion.candidates.max(query.k),
            SearchMode::Bm25 | SearchMode::Dense => query.k,
        };
        self.refresh_if_stale().await?;
        let guard = self.state.clone().read_owned().await;
        let vector = prepare_vector(query, guard.dim())?;
        let bm25 = match query.mode {
            SearchMode::Dense => Vec::new(),
            SearchMode::Bm25 | SearchMode::Hybrid => bm25(&guard, query, candidates),
        };
        let (dense, guard) = match (&vector, query.mode) {
            (Some(v), SearchMode::Dense | SearchMode::Hybrid) => {
                self.dense(guard, v.clone(), query, candidates).await?
            }
            _ => (Vec::new(), guard),
        };
        let fused = fusion::fuse(&bm25, &dense, &query.fusion, query.k);
        let hits = self.hydrate(&guard, fused, vector.as_deref()).await?;
        drop(guard);
        Ok(hits)
    }

    /// Dense candidates. Small scans and scans of one document run inline; full scans run on
    /// the blocking pool with the guard moved in, coalesced with concurrent ones (`batch`).
    async fn dense(
        &self,
        guard: Guard,
        vector: Vec<f32>,
        query: &IndexQuery,
        n: usize,
    ) -> Result<(Vec<(i64, f32)>, Guard), IndexError> {
        let filter = guard.filter(query.filter.document_id.as_deref(), query.filter.chapter.as_deref());
        if guard.len() < BLOCKING_MIN_ROWS || !filter.batchable() {
            let found = guard.search(&vector, n, filter, self.threads);
            return Ok((found, guard));
        }
        self.scans.scan(guard, vector, n, filter, self.threads).await
    }

    /// Loads text/payload for the fused list (from the hot rows, else SQLite), preserving its
    /// order, and fills the cosine of hits that were not in the dense list.
    async fn hydrate(
        &self,
        guard: &Guard,
        fused: Vec<Fused>,
        vector: Option<&[f32]>,
    ) -> Result<Vec<IndexHit>, IndexError> {
        let rows = self.rows_of(fused.iter().map(|f| f.pk)).await?;
        let mut hits = Vec::with_capacity(fused.len());
        for f in fused {
            let Some(row) = rows.get(&f.pk) else {
                return Err(self.store.corrupt(format!("chunk row {} missing from `chunks`", f.pk)));
            };
            let cosine = f.dense.map(|(c, _)| c).or_else(|| vector.and_then(|v| guard.cosine(f.pk, v)));
            hits.push(IndexHit {
                chunk_id: row.chunk_id.clone(),
                document_id: row.document_id.clone(),
                chapter: row.chapter.clone(),
                text: row.text.clone(),
                payload: row.payload.clone(),
                score: f.score,
                bm25: f.bm25.map(|(s, _)| s),
                bm25_rank: f.bm25.map(|(_, r)| r),
                cosine,
                dense_rank: f.dense.map(|(_, r)| r),
            });
        }
        Ok(hits)
    }

    /// The rows `pks` of the current state (the caller holds its read guard): hot rows from
    /// memory, the rest fetched from SQLite in one query and kept.
    async fn rows_of(&self, pks: impl Iterator<Item = i64>) -> Result<HashMap<i64, Arc<Row>>, IndexError> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for pk in pks {
            match self.rows.get(epoch, pk) {
                Some(row) => drop(found.insert(pk, row)),
                None => missing.push(pk),
            }
        }
        metrics::counter!("docent_cache_hits_total", "cache" => "index_rows").increment(found.len() as u64);
        if missing.is_empty() {
            return Ok(found);
        }
        metrics::counter!("docent_cache_misses_total", "cache" => "index_rows").increment(missing.len() as u64);
        for (pk, chunk_id, document_id, chapter, text, payload) in self.store.hit_rows(&missing).await? {
            let payload = serde_json::from_str(&payload)
                .map_err(|e| self.store.corrupt(format!("payload of chunk `{chunk_id}`: {e}")))?;
            let row = Arc::new(Row { chunk_id, document_id, chapter, text, payload });
            self.rows.insert(epoch, pk, Arc::clone(&row));
            found.insert(pk, row);
        }
        Ok(found)
    }
}

/// BM25 candidates from the in-memory postings (empty when the text has no word).
fn bm25(guard: &Guard, query: &IndexQuery, n: usize) -> Vec<(i64, f32)> {
    let terms = query_terms(&query.text);
    if terms.is_empty() {
        return Vec::new();
    }
    let filter = guard.filter(query.filter.document_id.as_deref(), query.filter.chapter.as_deref());
    guard.bm25(&terms, n, filter)
}

/// Validates and normalises the query vector (`None` if absent). In BM25
/// mode it is only used to report the cosine of the hits.
fn prepare_vector(query: &IndexQuery, dim: usize) -> Result<Option<Vec<f32>>, IndexError> {
    let Some(vector) = &query.vector else {
        if query.mode == SearchMode::Dense {
            return Err(IndexError::InvalidQuery("dense mode requires a query vector".into()));
        }
        return Ok(None);
    };
    if dim == 0 {
        return Ok(None); // empty index without a model: nothing to compare with
    }
    if vector.len() != dim {
        return Err(IndexError::Dimension { what: "query vector".into(), expected: dim, actual: vector.len() });
    }
    if !vector.iter().all(|x| x.is_finite()) {
        return Err(IndexError::InvalidQuery("query vector contains NaN or infinity".into()));
    }
    let mut vector = vector.clone();
    normalize(&mut vector);
    Ok(Some(vector))
}
