//! Grounded answers: rewrite the question from the conversation, retrieve, generate (the
//! offline extractive generator, or a chat model chain streaming its tokens as they come, see
//! [`stream`]), verify every citation, and refuse what the book does not support.
//! Nothing here knows about HTTP.

pub mod background;
pub mod chat;
pub mod citations;
pub mod eval;
pub mod extractive;
pub mod followup;
pub mod guard;
pub mod llm;
pub mod rewrite;
pub mod selection;
pub mod stream;
pub mod text;

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use citations::Citation;
pub use extractive::{Extractive, ExtractiveParams, Signals};
pub use selection::SelectionSource;
pub use stream::AnswerStream;

use crate::db::turns::TurnLog;
use crate::db::{Db, DbError};
use crate::embed::EmbedError;
use crate::index::IndexFilter;
use crate::llm::{ChatMessage, LlmError, Usage};
use crate::retrieve::{RetrieveError, Retriever, SearchHit, SearchRequest};

/// A question's embedding, when retrieval computed one.
pub type QueryVector = Option<Arc<Vec<f32>>>;

/// Chunks retrieved per question (the generator reads the best few).
const RETRIEVE_K: usize = 8;

pub const REFUSAL: &str = "I couldn't find this in the book, so I can't answer it reliably. \
     Try rephrasing the question, or ask about something the book covers.";

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Retrieve(#[from] RetrieveError),
    #[error("embedding the answer candidates failed")]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Every chat provider failed and the extractive fallback is off. → 502/503/504.
    #[error(transparent)]
    Llm(#[from] LlmError),
}

/// Where the answer may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// The whole book (the default without a selection).
    Book,
    /// Only the selected passage (the default with one).
    Selection,
    /// The selected passage and its chapter.
    Chapter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    Answered,
    OutOfScope,
    InsufficientContext,
}

impl AnswerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStatus::Answered => "answered",
            AnswerStatus::OutOfScope => "out_of_scope",
            AnswerStatus::InsufficientContext => "insufficient_context",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConfidenceLevel {
    High,
    Medium,
    Low,
}

/// A question with its context.
#[derive(Debug, Clone, Default)]
pub struct AnswerRequest {
    pub message: String,
    /// Earlier turns, oldest first.
    pub history: Vec<ChatMessage>,
    pub selected_text: Option<String>,
    pub selection_source: Option<SelectionSource>,
    pub mode: Option<AnswerMode>,
    /// Chapter to restrict retrieval to (`mode: chapter`).
    pub chapter: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct AnswerTimings {
    pub retrieve: f64,
    pub generate: f64,
    pub total: f64,
}

/// A grounded answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub confidence: f32,
    pub confidence_level: ConfidenceLevel,
    pub status: AnswerStatus,
    /// Which generator wrote it ("extractive" today).
    pub provider: String,
    /// The query retrieval ran with (after follow-up rewriting).
    #[serde(skip)]
    pub retrieval_query: String,
    #[serde(skip)]
    pub signals: Signals,
    pub timings_ms: AnswerTimings,
    /// Tokens the chat model reported (absent for extractive answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One step of a streamed answer.
#[derive(Debug, Clone)]
pub enum AnswerEvent {
    Delta(String),
    Citation(Citation),
    Done(Box<Answer>),
}

/// Answers questions about the book; cheap to clone.
#[derive(Debug, Clone)]
pub struct AnswerService {
    retriever: Retriever,
    db: Db,
    /// Where turns' questions and answers are written (committed in groups).
    turns: TurnLog,
    extractive: Arc<Extractive>,
    llm: Option<llm::LlmGenerator>,
    /// Whether the extractive generator answers when the chat model chain fails.
    extractive_fallback: bool,
    /// Earlier question/answer pairs given to the model and the follow-up rewriter.
    history_turns: usize,
}

impl AnswerService {
    pub fn new(retriever: Retriever, db: Db, params: ExtractiveParams) -> Self {
        let extractive = Arc::new(Extractive::new(retriever.embedder().clone(), params));
        let turns = TurnLog::new(db.clone());
        Self { retriever, db, turns, extractive, llm: None, extractive_fallback: true, history_turns: 5 }
    }

    /// Whether answers are written by a language model (and so spend tokens of a quota).
    pub fn generates_with_llm(&self) -> bool {
        self.llm.is_some()
    }

    /// Writes answers with `model` (e.g. a [`crate::llm::resilience::build_chain`] chain) under
    /// default limits; the extractive generator still gates refusals and answers when it fails.
    pub fn with_chat_model(self, model: Arc<dyn crate::llm::ChatModel>) -> Self {
        self.with_chat_model_limited(model, llm::LlmLimits::default(), true)
    }

    /// Like [`AnswerService::with_chat_model`] with explicit caps; without `extractive_fallback`
    /// a failure of the model is an [`AnswerError::Llm`].
    pub fn with_chat_model_limited(
        mut self,
        model: Arc<dyn crate::llm::ChatModel>,
        limits: llm::LlmLimits,
        extractive_fallback: bool,
    ) -> Self {
        self.llm = Some(llm::LlmGenerator::new(model, limits));
        self.extractive_fallback = extractive_fallback;
        self
    }

    /// Sets how many earlier question/answer pairs a follow-up is answered with.
    pub fn with_history_turns(mut self, turns: usize) -> Self {
        self.history_turns = turns;
        self
    }

    /// Answers one question (the streamed answer, collected).
    #[tracing::instrument(name = "answer", skip_all)]
    pub async fn answer(&self, request: AnswerRequest) -> Result<Answer, AnswerError> {
        use futures::StreamExt;
        let mut events = self.answer_stream(request).await?;
        while let Some(event) = events.next().await {
            if let AnswerEvent::Done(answer) = event? {
                return Ok(*answer);
            }
        }
        Err(AnswerError::Llm(LlmError::Malformed { provider: "answer".into(), message: "no answer produced".into() }))
    }

    /// The hits for `query`, with the query's vector when retrieval embedded it (so the
    /// support gate scores sentences against it instead of embedding the question again).
    async fn retrieve(&self, query: &str, filter: IndexFilter) -> Result<(Vec<SearchHit>, QueryVector), AnswerError> {
        let request = SearchRequest { query: query.to_owned(), k: Some(RETRIEVE_K), filter, ..Default::default() };
        let results = self.retriever.search(request).await?;
        Ok((results.results, results.query_vector))
    }

    pub(crate) fn extractive(&self) -> &Extractive {
        &self.extractive
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }
}

/// Turns a draft into an answer: verified citations, refusal text, confidence.
fn shape(draft: extractive::Draft, hits: &[SearchHit], retrieval_query: String) -> Answer {
    let confidence = (draft.signals.support * 100.0).round() / 100.0;
    let (answer, citations, status) = if draft.supported {
        let (text, kept) = citations::renumber(&draft.text, citations::verify(draft.citations, hits));
        (text, kept, AnswerStatus::Answered)
    } else {
        (REFUSAL.to_owned(), Vec::new(), AnswerStatus::OutOfScope)
    };
    Answer {
        answer,
        citations,
        confidence,
        confidence_level: level(confidence),
        status,
        provider: "extractive".into(),
        retrieval_query,
        signals: draft.signals,
        timings_ms: AnswerTimings::default(),
        usage: None,
    }
}

fn level(confidence: f32) -> ConfidenceLevel {
    if confidence >= 0.6 {
        ConfidenceLevel::High
    } else if confidence >= 0.45 {
        ConfidenceLevel::Medium
    } else {
        ConfidenceLevel::Low
    }
}

fn timings(started: Instant, retrieved: Instant) -> AnswerTimings {
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let now = Instant::now();
    AnswerTimings { retrieve: ms(retrieved - started), generate: ms(now - retrieved), total: ms(now - started) }
}

/// The events of a finished answer: one delta per sentence, the citations, then done.
pub fn events(answer: Answer) -> Vec<AnswerEvent> {
    let mut events: Vec<AnswerEvent> = Vec::new();
    let mut pieces = answer.answer.split_inclusive("] ").peekable();
    while let Some(piece) = pieces.next() {
        events.push(AnswerEvent::Delta(piece.to_owned()));
        if pieces.peek().is_none() {
            break;
        }
    }
    events.extend(answer.citations.iter().cloned().map(AnswerEvent::Citation));
    events.push(AnswerEvent::Done(Box::new(answer)));
    events
}
