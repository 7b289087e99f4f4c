//! The query path: embed the query (unless BM25-only), search the hybrid index with the
//! configured fusion, optionally rerank the fused candidates (Cohere `/v2/rerank`; a reranker
//! failure keeps the fused order), and shape the hits with their citation metadata (title,
//! heading path, deep link, page). Timings are measured per stage for the API and the metrics.
//!
//! Query vectors are cached (`quick_cache`, S3-FIFO, `retrieve.query_cache` entries of
//! 1.5 KB): readers of one book ask the same questions, and embedding a question is the
//! largest cost of a search (a forward pass of the model, milliseconds of CPU). The key is
//! the question with its whitespace collapsed (every tokenizer in use splits on whitespace),
//! so a hit returns exactly the vector a miss would compute.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::RetrieveSettings;
use crate::embed::{EmbedError, EmbedKind, Embedder};
use crate::index::{FusionParams, IndexError, IndexFilter, IndexHit, IndexQuery, SearchMode, VectorIndex};
use crate::llm::cohere::Reranker;

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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Timings {
    pub embed: f64,
    pub retrieve: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
    pub timings_ms: Timings,
    /// The query's vector (when one was used), for callers that score the hits' text against
    /// the same question (the extractive support gate) without embedding it again.
    #[serde(skip)]
    pub query_vector: Option<Arc<Vec<f32>>>,
}

type QueryCache = quick_cache::sync::Cache<String, Arc<Vec<f32>>>;

/// Answers searches against the index; cheap to clone.
#[derive(Clone)]
pub struct Retriever {
    embedder: Arc<dyn Embedder>,
    index: Arc<dyn VectorIndex>,
    settings: RetrieveSettings,
    reranker: Option<Arc<dyn Reranker>>,
    query_vectors: Option<Arc<QueryCache>>,
}

impl std::fmt::Debug for Retriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retriever").field("embedder", &self.embedder).field("settings", &self.settings).finish()
    }
}

impl Retriever {
    pub fn new(embedder: Arc<dyn Embedder>, index: Arc<dyn VectorIndex>, settings: RetrieveSettings) -> Self {
        let query_vectors = (settings.query_cache > 0).then(|| Arc::new(QueryCache::new(settings.query_cache)));
        Self { embedder, index, settings, reranker: None, query_vectors }
    }

    /// Reorders the fused candidates with `reranker` before the top k are kept.
    pub fn with_reranker(mut self, reranker: Arc<dyn Reranker>) -> Self {
        self.reranker = Some(reranker);
        self
    }

    /// The query's vector, from the cache when this question was embedded before.
    async fn query_vector(&self, query: &str) -> Result<Arc<Vec<f32>>, EmbedError> {
        let key = query.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(vector) = self.query_vectors.as_ref().and_then(|cache| cache.get(&key)) {
            metrics::counter!("docent_cache_hits_total", "cache" => "query_embedding").increment(1);
            return Ok(vector);
        }
        metrics::counter!("docent_cache_misses_total", "cache" => "query_embedding").increment(1);
        let mut vectors = self.embedder.embed(std::slice::from_ref(&query.to_owned()), EmbedKind::Query).await?;
        let vector = vectors.pop().ok_or_else(|| EmbedError::Inference("the embedder returned no vector".into()))?;
        let vector = Arc::new(vector);
        if let Some(cache) = &self.query_vectors {
            cache.insert(key, Arc::clone(&vector));
        }
        Ok(vector)
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    pub fn index(&self) -> &Arc<dyn VectorIndex> {
        &self.index
    }

    /// What shapes the results besides the index: the settings and whether a reranker runs.
    pub fn describe(&self) -> String {
        format!("{:?} reranker={}", self.settings, self.reranker.is_some())
    }

    #[tracing::instrument(name = "retrieve.hybrid", skip_all, fields(mode = ?request.mode))]
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, RetrieveError> {
        let started = Instant::now();
        let vector = match request.mode {
            SearchMode::Bm25 => None,
            SearchMode::Hybrid | SearchMode::Dense => Some(self.query_vector(&request.query).await?),
        };
        let embedded = Instant::now();
        let k = request.k.unwrap_or(self.settings.k);
        let fetch = if self.reranker.is_some() { k.max(self.settings.rerank_candidates) } else { k };
        let query = IndexQuery {
            text: request.query,
            vector: vector.as_ref().map(|v| v.as_ref().clone()),
            k: fetch,
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
        let mut hits = self.index.search(&query).await?;
        if let Some(reranker) = &self.reranker {
            hits = rerank(reranker.as_ref(), &query.text, hits).await;
        }
        hits.truncate(k);
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
            query_vector: vector,
        })
    }
}

/// `hits` ordered by the reranker's scores (which become their `score`); on failure the fused
/// order is kept and the failure logged and counted.
#[tracing::instrument(name = "retrieve.rerank", skip_all, fields(candidates = hits.len()))]
async fn rerank(reranker: &dyn Reranker, query: &str, mut hits: Vec<IndexHit>) -> Vec<IndexHit> {
    let texts: Vec<String> = hits.iter().map(|h| h.text.clone()).collect();
    match reranker.rerank(query, &texts).await {
        Ok(scores) => {
            for (hit, score) in hits.iter_mut().zip(scores) {
                hit.score = score;
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        }
        Err(err) => {
            metrics::counter!("docent_rerank_failures_total").increment(1);
            tracing::warn!(error = %err, "reranking failed; keeping the fused order");
        }
    }
    hits
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
