//! Text embedders: turn chunks and queries into dense vectors.
//!
//! The [`Embedder`] trait is the small, object-safe seam the indexer and the
//! retriever use (as `Arc<dyn Embedder>`). [`local::LocalEmbedder`] runs
//! `sentence-transformers/all-MiniLM-L6-v2` in-process on the CPU from a local
//! Hugging Face folder (`config.json`, `tokenizer.json`, `model.safetensors`);
//! nothing is ever downloaded at build or run time (`make model` fetches the
//! folder once, see `scripts/fetch-model.sh`). Remote embedders (Cohere-style
//! APIs) can implement the same trait later.

mod amx;
mod attention;
mod avx2;
mod bert;
mod buffers;
mod coalesce;
mod kernels;
mod linear;
pub mod local;
pub mod remote;
#[cfg(test)]
mod tests;
mod weights;

use std::path::PathBuf;

/// Whether a text is a search query or a document chunk.
///
/// Symmetric models such as MiniLM ignore it; asymmetric remote models
/// (Cohere's `input_type`, E5's `query:` prefix) need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedKind {
    /// A user question, embedded at search time.
    Query,
    /// A chunk of a book, embedded at indexing time.
    Document,
}

/// Arithmetic of the local embedder's dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bf16 on CPUs with AMX-BF16 (several times the f32 speed), f32 elsewhere.
    #[default]
    Auto,
    /// f32 arithmetic everywhere. On AVX2 CPUs the dense layers' weights are stored in f16 and
    /// widened as they are loaded (half the bytes to stream; the embedding fixture's worst
    /// cosine to the reference is 0.9999995, as with f32 weights).
    F32,
    /// bf16 inputs and weights with f32 sums, on AMX tiles; refused on CPUs without AMX.
    Bf16,
}

impl Precision {
    /// `Auto` resolved for this machine; an error names the setting when `Bf16` cannot run.
    pub fn resolve(self) -> Result<Self, EmbedError> {
        match self {
            Self::Auto if crate::amx::available() => Ok(Self::Bf16),
            Self::Auto | Self::F32 => Ok(Self::F32),
            Self::Bf16 if crate::amx::available() => Ok(Self::Bf16),
            Self::Bf16 => Err(EmbedError::Unsupported(
                "DOCENT_EMBED__PRECISION=bf16 needs a CPU with AMX-BF16 and a Linux kernel that grants \
                 its tile state; this machine has neither (accepted values: auto, f32, bf16)"
                    .to_owned(),
            )),
        }
    }

    /// The lowercase name used in settings and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
        }
    }
}

/// Boxed error used as the `source` of load and inference failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while loading a model or embedding text.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model folder (or one of its files) is not there.
    #[error(
        "embedding model not found in {dir}: run `make model` to fetch it, \
         or set DOCENT_MODEL_DIR to a folder holding config.json, tokenizer.json \
         and model.safetensors"
    )]
    ModelMissing {
        /// The folder that was searched.
        dir: PathBuf,
    },
    /// A model file exists but could not be read or understood.
    #[error("failed to load embedding model file {path}: {what}")]
    Load {
        /// The offending file.
        path: PathBuf,
        /// What was being loaded.
        what: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The requested configuration cannot run on this machine.
    #[error("{0}")]
    Unsupported(String),
    /// Tokenisation or the forward pass failed.
    #[error("embedding inference failed: {0}")]
    Inference(String),
    /// A remote embedding service failed (for future remote embedders).
    #[error("remote embedder failed: {0}")]
    Remote(String),
}

/// A text embedder; implementations must be cheap to share as `Arc<dyn Embedder>`.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Stable model identifier recorded by the index, e.g. "sentence-transformers/all-MiniLM-L6-v2".
    fn model_id(&self) -> &str;
    /// Length of every returned vector.
    fn dimension(&self) -> usize;
    /// Max input tokens (256 for MiniLM: sentence-transformers' max_seq_length), inputs longer are truncated.
    fn max_tokens(&self) -> usize;
    /// Token count with the model's own tokenizer (no special tokens), used by the chunker.
    fn count_tokens(&self, text: &str) -> usize;
    /// Embeds `texts`, returning one vector per text in the same order.
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError>;
}
