//! The query path: embed the query (unless BM25-only), search the hybrid index with the
//! configured fusion, and shape the hits with their citation metadata (title, heading path,
//! deep link, page). Timings are measured per stage for the API and the metrics.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::RetrieveSettings;
use crate::embed::{EmbedError, EmbedKind, Embedder};
use crate::index::{FusionParams, IndexError, IndexFilter, IndexHit, IndexQuery, SearchMode, VectorIndex};

#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    #[error("embedding the query failed")]
    Embed(#[from] EmbedError),
    #[error("searching the index failed")]
    Index(#[from] IndexError),
}

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub k: Option<usize>,
    pub mode: SearchMode,
    pub filter: IndexFilter,
}

/// One retrieved chunk with what a citation needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchHit {
    pub chunk_id: String,
    pub document_id: String,
    pub title: String,
    pub heading_path: String,
    pub url: Option<String>,
    pub text: String,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Cosine similarity to the query (when a query vector was used); calibrates refusals.
    #[serde(skip)]
    pub cosine: Option<f32>,
    #[serde(skip)]
    pub chapter: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub embed: f64,
    pub retrieve: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
    pub timings_ms: Timings,
}

/// Answers searches against the index; cheap to clone.
#[derive(Debug, Clone)]
pub struct Retriever {
    embedder: Arc<dyn Embedder>,
    index: Arc<dyn VectorIndex>,
    settings: RetrieveSettings,
}

impl Retriever {
    pub fn new(embedder: Arc<dyn Embedder>, index: Arc<dyn VectorIndex>, settings: RetrieveSettings) -> Self {
        Self { embedder, index, settings }
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    #[tracing::instrument(name = "retrieve.hybrid", skip_all, fields(mode = ?request.mode))]
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, RetrieveError> {
        let started = Instant::now();
        let vector = match request.mode {
            SearchMode::Bm25 => None,
            SearchMode::Hybrid | SearchMode::Dense => {
                let mut vectors = self.embedder.embed(std::slice::from_ref(&request.query), EmbedKind::Query).await?;
                vectors.pop()
            }
        };
        let embedded = Instant::now();
        let k = request.k.unwrap_or(self.settings.k);
        let query = IndexQuery {
            text: request.query,
            vector,
            k,
            mode: request.mode,
            filter: request.filter,
            fusion: FusionParams {
                k: self.settings.rrf_k,
                bm25_weight: self.settings.bm25_weight,
                dense_weight: self.settings.dense_weight,
                candidates: self.settings.candidates.max(k),
                method: self.settings.fusion,
                alpha: self.settings.alpha,
            },
        };
        let hits = self.index.search(&query).await?;
        let done = Instant::now();
        let mode = format!("{:?}", request.mode).to_lowercase();
        metrics::histogram!("docent_search_duration_seconds", "mode" => mode).record((done - started).as_secs_f64());
        Ok(SearchResults {
            results: hits.into_iter().map(SearchHit::from).collect(),
            timings_ms: Timings {
                embed: ms(embedded - started),
                retrieve: ms(done - embedded),
                total: ms(done - started),
            },
        })
    }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

impl From<IndexHit> for SearchHit {
    fn from(hit: IndexHit) -> Self {
        let field = |name: &str| hit.payload.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        SearchHit {
            title: field("title").unwrap_or_default(),
            heading_path: field("heading_path").unwrap_or_default(),
            url: field("url"),
            page: hit.payload.get("page").and_then(|v| v.as_u64()).map(|p| p as u32),
            chunk_id: hit.chunk_id,
            document_id: hit.document_id,
            text: hit.text,
            score: hit.score,
            cosine: hit.cosine,
            chapter: hit.chapter,
        }
    }
}
