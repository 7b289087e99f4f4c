//! Settings of the book's path to readers' questions: ingestion (chunk sizes, file limits),
//! the embedder (local model or remote provider) and retrieval (fusion, candidates, reranking).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedSettings {
    pub model_dir: PathBuf,
    pub threads: usize,
    pub batch_size: usize,
    pub precision: crate::embed::Precision,
    pub provider: EmbedProvider,
    /// Model of a remote embedder; `None` uses the provider's default.
    pub remote_model: Option<String>,
    /// Vector length of a remote embedder; `None` uses the default model's.
    pub dimension: Option<usize>,
}

/// Which embedder turns chunks and queries into vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedProvider {
    #[default]
    Local,
    Cohere,
    Openai,
}

/// What reorders the fused candidates before the top k are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RerankerKind {
    #[default]
    None,
    Cohere,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    pub base_url: Option<String>,
    pub max_tokens: usize,
    pub overlap_tokens: usize,
    pub max_file_bytes: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrieveSettings {
    pub k: usize,
    pub fusion: crate::index::FusionMethod,
    pub alpha: f32,
    pub rrf_k: f32,
    pub bm25_weight: f32,
    pub dense_weight: f32,
    pub candidates: usize,
    pub query_cache: usize,
    pub reranker: RerankerKind,
    pub rerank_model: String,
    pub rerank_candidates: usize,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        Self {
            model_dir: PathBuf::from("models/all-MiniLM-L6-v2"),
            threads: 0,
            batch_size: 16,
            precision: crate::embed::Precision::Auto,
            provider: EmbedProvider::Local,
            remote_model: None,
            dimension: None,
        }
    }
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self { base_url: None, max_tokens: 256, overlap_tokens: 32, max_file_bytes: 20 * 1024 * 1024 }
    }
}

impl Default for RetrieveSettings {
    fn default() -> Self {
        Self {
            k: 8,
            fusion: crate::index::FusionMethod::Convex,
            alpha: 0.5,
            rrf_k: 20.0,
            bm25_weight: 1.0,
            dense_weight: 0.6,
            candidates: 50,
            query_cache: 4096,
            reranker: RerankerKind::None,
            rerank_model: "rerank-v3.5".into(),
            rerank_candidates: 30,
        }
    }
}
