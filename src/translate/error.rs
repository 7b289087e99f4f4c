//! [`TranslateError`]: every way a translation request can fail, mapped to problems once in
//! `http/routes/chapters.rs`.

use std::sync::Arc;

use super::verify::Rejection;
use crate::access::QuotaError;
use crate::db::DbError;
use crate::llm::LlmError;

#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// No chapter (Markdown document) with this id. → 404
    #[error("no chapter {0}")]
    ChapterNotFound(String),
    /// The reader never asked for this translation, or their request expired. → 404
    #[error(
        "you have no translation of chapter {chapter} into {language}; POST /api/v1/chapters/{chapter}/translations to request one"
    )]
    NotRequested { chapter: String, language: String },
    /// The chapter changed since and its new version is not translated yet. → 404
    #[error(
        "chapter {chapter} changed since it was translated into {language}; POST /api/v1/chapters/{chapter}/translations to translate the new version"
    )]
    Outdated { chapter: String, language: String },
    /// No chat model is configured. → 503 `translation_unavailable`
    #[error(
        "chapter translations need a chat model: set DOCENT_LLM_PROVIDER to cohere, openai or anthropic, with its API key (COHERE_API_KEY, OPENAI_API_KEY or ANTHROPIC_API_KEY)"
    )]
    Unavailable,
    /// The model's output for a section failed verification on every attempt. → 502
    #[error("section {section} of the chapter could not be translated faithfully: {rejection}")]
    Unfaithful { section: usize, rejection: Rejection },
    /// The chat model failed (after the resilient chain's retries and fallbacks). → 502/503/504
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The caller's daily token budget is spent. → 429
    #[error(transparent)]
    Quota(#[from] QuotaError),
    #[error(transparent)]
    Store(#[from] DbError),
    /// The translation task died.
    #[error("the translation task failed: {0}")]
    Task(String),
    /// A translation this request waited for (started by another request) failed.
    #[error(transparent)]
    Shared(Arc<TranslateError>),
}

impl TranslateError {
    /// Label for the `outcome` of `docent_translation_requests_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::ChapterNotFound(_) | Self::NotRequested { .. } | Self::Outdated { .. } => "not_found",
            Self::Unavailable => "unavailable",
            Self::Unfaithful { .. } => "unfaithful",
            Self::Llm(_) => "llm_error",
            Self::Quota(_) => "quota_exceeded",
            Self::Store(_) | Self::Task(_) => "error",
            Self::Shared(inner) => inner.outcome(),
        }
    }
}
