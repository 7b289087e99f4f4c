//! Retrieval index: the [`VectorIndex`] trait and the types shared by its backends.
//!
//! The relational database (SQLite or PostgreSQL) is the source of truth for
//! documents, chunks and their embeddings. A `VectorIndex` is a *derived*,
//! rebuildable structure answering three kinds of queries over chunks:
//!
//! * **dense** — cosine similarity between the query embedding and the chunk
//!   embeddings (vectors are L2-normalised, so cosine = dot product);
//! * **bm25** — lexical ranking of the query text;
//! * **hybrid** — both lists fused with reciprocal-rank fusion (RRF):
//!   `score = w_bm25 / (k + rank_bm25) + w_dense / (k + rank_dense)`, ranks
//!   1-based, a missing side contributing 0.
//!
//! Filters (`document_id`, `chapter`) are applied *inside* each side's ranking,
//! never by post-filtering a truncated list.
//!
//! The trait is object-safe (`Arc<dyn VectorIndex>`) and deliberately plain so
//! that a Qdrant backend (named dense vector + sparse/BM25 vector, server-side
//! RRF fusion, payload filters on `document_id`/`chapter`) can implement the same
//! semantics. The only backend today is [`embedded::EmbeddedIndex`]: one SQLite
//! file (`index.db`) as the durable store, with in-memory BM25 postings and an
//! exact-scan matrix built from it; see its module documentation for the rationale.
//!
//! Consistency contract every backend must honour:
//! * [`VectorIndex::replace_document`] is atomic: a concurrent search sees either
//!   the old or the new version of a document, never a mix, never duplicates.
//! * [`VectorIndex::versions`] reports the content version indexed per document,
//!   so start-up can reconcile against the database (reindex changed documents,
//!   delete vanished ones).
//! * [`VectorIndex::ensure_model`] records the embedding model on first use and
//!   refuses a different model or dimension afterwards
//!   ([`IndexError::ModelMismatch`], telling the operator to run
//!   `docent index rebuild`, which is [`VectorIndex::clear`] + reindex).

pub mod embedded;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use embedded::EmbeddedIndex;

/// Boxed error source, so backends are free to use any client library.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A retrieval index over book chunks (see the module documentation).
#[async_trait::async_trait]
pub trait VectorIndex: Send + Sync + std::fmt::Debug {
    /// Records `model_id`/`dimension` on first use; errors on a mismatch.
    async fn ensure_model(&self, model_id: &str, dimension: usize) -> Result<(), IndexError>;
    /// Atomically replaces every chunk of `document_id` with `chunks`.
    async fn replace_document(
        &self,
        document_id: &str,
        version: &str,
        chunks: Vec<IndexChunk>,
    ) -> Result<(), IndexError>;
    /// Removes a document and all its chunks (no error if absent).
    async fn delete_document(&self, document_id: &str) -> Result<(), IndexError>;
    /// Indexed content version per document id.
    async fn versions(&self) -> Result<HashMap<String, String>, IndexError>;
    /// Runs a query; hits are sorted by descending fused `score`.
    async fn search(&self, query: &IndexQuery) -> Result<Vec<IndexHit>, IndexError>;
    /// Chunk/document counts and the recorded model.
    async fn stats(&self) -> Result<IndexStats, IndexError>;
    /// Drops every chunk, document and the recorded model (for a rebuild).
    async fn clear(&self) -> Result<(), IndexError>;
    /// Cheap liveness check of the backing store.
    async fn health(&self) -> Result<(), IndexError>;
}

/// One chunk to index. `vector` must have the recorded dimension; it is
/// L2-normalised on the way in (a no-op for already normalised embeddings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexChunk {
    /// Globally unique chunk id (stable across re-indexing is recommended).
    pub id: String,
    /// Owning document; must equal the `document_id` passed to `replace_document`.
    pub document_id: String,
    /// Chapter identifier used by [`IndexFilter::chapter`].
    pub chapter: Option<String>,
    /// Chunk text (BM25-indexed, returned in hits).
    pub text: String,
    /// Free-form metadata (`title`, `heading_path`, `url`, `page`, ...). `title`
    /// and `heading_path` (string or array of strings) are also BM25-indexed.
    pub payload: serde_json::Value,
    /// Embedding of `text`.
    pub vector: Vec<f32>,
}

/// Which rankings a query uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25 and dense fused with RRF. Without a query vector it degrades to BM25.
    #[default]
    Hybrid,
    /// Lexical only.
    Bm25,
    /// Embedding only (requires `IndexQuery::vector`).
    Dense,
}

/// Restricts both rankings to matching chunks (conjunction of the set fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFilter {
    /// Only chunks of this document.
    pub document_id: Option<String>,
    /// Only chunks of this chapter.
    pub chapter: Option<String>,
}

/// How the two rankings are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionMethod {
    /// `α·dense + (1−α)·bm25` over min-max-normalised scores.
    #[default]
    Convex,
    /// Reciprocal-rank fusion.
    Rrf,
}

/// Fusion parameters (convex combination or reciprocal-rank fusion).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionParams {
    /// RRF rank constant `k` (default 60).
    pub k: f32,
    /// Weight of the BM25 list (default 1.0).
    pub bm25_weight: f32,
    /// Weight of the dense list (default 1.0).
    pub dense_weight: f32,
    /// Candidates taken from each side before fusion in hybrid mode (at least
    /// `IndexQuery::k`); single-side modes take exactly `k`.
    pub candidates: usize,
    /// Convex (default) or RRF.
    #[serde(default)]
    pub method: FusionMethod,
    /// Weight of the dense side in convex fusion (0–1; default 0.5).
    #[serde(default = "half")]
    pub alpha: f32,
}

fn half() -> f32 {
    0.5
}

impl Default for FusionParams {
    fn default() -> Self {
        Self { k: 60.0, bm25_weight: 1.0, dense_weight: 1.0, candidates: 100, method: FusionMethod::Convex, alpha: 0.5 }
    }
}

/// A search request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexQuery {
    /// User text (any characters; it is sanitised, never parsed as query syntax).
    pub text: String,
    /// Query embedding, required for `Dense`, used by `Hybrid` when present.
    pub vector: Option<Vec<f32>>,
    /// Number of hits to return (0 returns none).
    pub k: usize,
    /// Ranking mode.
    pub mode: SearchMode,
    /// Restriction applied on both sides.
    pub filter: IndexFilter,
    /// Fusion parameters.
    pub fusion: FusionParams,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexHit {
    /// Chunk id.
    pub chunk_id: String,
    /// Owning document.
    pub document_id: String,
    /// Chapter, if any.
    pub chapter: Option<String>,
    /// Chunk text.
    pub text: String,
    /// Chunk payload as indexed.
    pub payload: serde_json::Value,
    /// Fused RRF score (also set in single-side modes, from that side only).
    pub score: f32,
    /// Raw BM25 relevance (higher is better) when the chunk is in the BM25 list.
    pub bm25: Option<f32>,
    /// 1-based rank in the BM25 list.
    pub bm25_rank: Option<usize>,
    /// Cosine similarity to the query vector; set for *every* hit whenever a
    /// query vector was given (any mode), even if the chunk was not in the
    /// dense top list.
    pub cosine: Option<f32>,
    /// 1-based rank in the dense list.
    pub dense_rank: Option<usize>,
}

/// Size and model information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Number of indexed chunks.
    pub chunks: usize,
    /// Number of indexed documents.
    pub documents: usize,
    /// Recorded embedding model id.
    pub model: Option<String>,
    /// Recorded embedding dimension.
    pub dimension: Option<usize>,
}

/// Errors of index operations, carrying the location and operation.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The backing store failed (I/O, SQL, network...).
    #[error("index {location}: {operation} failed: {source}")]
    Storage {
        /// File path or URL of the store.
        location: String,
        /// What was being done.
        operation: &'static str,
        /// Underlying error.
        #[source]
        source: BoxError,
    },
    /// The index was built with another embedder.
    #[error(
        "index {location} was built with embedding model `{indexed_model}` (dimension \
         {indexed_dimension}) but the configured embedder is `{model}` (dimension \
         {dimension}); run `docent index rebuild`"
    )]
    ModelMismatch {
        /// File path or URL of the store.
        location: String,
        /// Model recorded in the index.
        indexed_model: String,
        /// Dimension recorded in the index.
        indexed_dimension: usize,
        /// Model requested now.
        model: String,
        /// Dimension requested now.
        dimension: usize,
    },
    /// Chunks were written before any model was recorded.
    #[error("index {location}: no embedding model recorded; call ensure_model first")]
    ModelNotSet {
        /// File path or URL of the store.
        location: String,
    },
    /// A vector has the wrong length.
    #[error("{what}: expected dimension {expected}, got {actual}")]
    Dimension {
        /// Which vector (chunk id or "query vector").
        what: String,
        /// Recorded dimension.
        expected: usize,
        /// Supplied dimension.
        actual: usize,
    },
    /// A chunk is malformed (wrong document, non-finite values, duplicate id...).
    #[error("invalid chunk `{chunk_id}`: {reason}")]
    InvalidChunk {
        /// Offending chunk id.
        chunk_id: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The query cannot be executed (e.g. dense mode without a vector).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The stored data is inconsistent; a rebuild is needed.
    #[error("index {location} is corrupt ({detail}); run `docent index rebuild`")]
    Corrupt {
        /// File path or URL of the store.
        location: String,
        /// What is wrong.
        detail: String,
    },
    /// A background (blocking) task panicked or was cancelled.
    #[error("index background task failed: {0}")]
    Task(String),
}
