//! Grounded answers: rewrite the question from the conversation, retrieve, generate (the
//! offline extractive generator today; an LLM chain can take its place behind
//! [`AnswerService`]), verify every citation, and refuse what the book does not support.
//! Nothing here knows about HTTP.

pub mod chat;
pub mod citations;
pub mod eval;
pub mod extractive;
pub mod followup;
pub mod llm;
pub mod selection;
pub mod text;

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use citations::Citation;
pub use extractive::{Extractive, ExtractiveParams, Signals};
pub use selection::SelectionSource;

use crate::db::{Db, DbError};
use crate::embed::EmbedError;
use crate::index::IndexFilter;
use crate::llm::{ChatMessage, Usage};
use crate::retrieve::{RetrieveError, Retriever, SearchHit, SearchRequest};

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
}

/// Where the answer may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// The whole book (the default without a selection).
    Book,
    /// Only the selected passage (the default with one).
    Selection,
    /// The selected passage and its chapter.
    Chapter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AnswerTimings {
    pub retrieve: f64,
    pub generate: f64,
    pub total: f64,
}

/// A grounded answer.
#[derive(Debug, Clone, Serialize)]
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
    /// LLM tokens spent writing it; `None` for extractive answers (nothing to charge).
    #[serde(skip)]
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
    extractive: Arc<Extractive>,
    llm: Option<llm::LlmGenerator>,
}

impl AnswerService {
    pub fn new(retriever: Retriever, db: Db, params: ExtractiveParams) -> Self {
        let extractive = Arc::new(Extractive::new(retriever.embedder().clone(), params));
        Self { retriever, db, extractive, llm: None }
    }

    /// Writes answers with `model` (e.g. a [`crate::llm::resilience::build_chain`] chain); the
    /// extractive generator still gates refusals and answers when the model fails.
    pub fn with_chat_model(mut self, model: Arc<dyn crate::llm::ChatModel>) -> Self {
        self.llm = Some(llm::LlmGenerator::new(model));
        self
    }

    /// Answers one question.
    #[tracing::instrument(name = "answer", skip_all)]
    pub async fn answer(&self, request: AnswerRequest) -> Result<Answer, AnswerError> {
        let started = Instant::now();
        if request.selected_text.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            return selection::answer(self, &request, started).await;
        }
        let query = followup::retrieval_query(&request.message, &request.history);
        let filter = IndexFilter { chapter: request.chapter.clone(), document_id: None };
        let hits = self.retrieve(&query, filter).await?;
        let retrieved = Instant::now();
        let mut draft = self.extractive.draft(&query, &hits).await?;
        let (mut provider, mut usage) = ("extractive".to_owned(), None);
        if let (Some(llm), true) = (&self.llm, draft.supported) {
            (provider, usage) = self.rewrite_with_llm(llm, &mut draft, &request, &hits).await;
        }
        let mut answer = shape(draft, &hits, query);
        answer.provider = provider;
        answer.usage = usage;
        answer.timings_ms = timings(started, retrieved);
        Ok(answer)
    }

    /// Answers one question as a sequence of events: text deltas, citations, then the whole answer.
    pub async fn answer_events(&self, request: AnswerRequest) -> Result<Vec<AnswerEvent>, AnswerError> {
        let answer = self.answer(request).await?;
        Ok(events(answer))
    }

    /// Whether answers may be written by an LLM (and so spend the caller's token quota).
    pub fn generates_with_llm(&self) -> bool {
        self.llm.is_some()
    }

    /// Replaces the draft with the model's answer; returns the provider that wrote it and the
    /// tokens the model reported spending.
    async fn rewrite_with_llm(
        &self,
        llm: &llm::LlmGenerator,
        draft: &mut extractive::Draft,
        request: &AnswerRequest,
        hits: &[SearchHit],
    ) -> (String, Option<Usage>) {
        let context = &hits[..hits.len().min(self.extractive.params().chunks)];
        match llm.generate(&request.message, &request.history, context).await {
            Ok(llm::Generated { text: Some(text), citations, usage }) => {
                draft.text = text;
                draft.citations = citations;
                (llm.name().to_owned(), usage)
            }
            Ok(llm::Generated { text: None, usage, .. }) => {
                draft.supported = false;
                (llm.name().to_owned(), usage)
            }
            Err(err) => {
                tracing::warn!(error = %err, "chat model failed; answering extractively");
                ("extractive".to_owned(), None)
            }
        }
    }

    async fn retrieve(&self, query: &str, filter: IndexFilter) -> Result<Vec<SearchHit>, AnswerError> {
        let request = SearchRequest { query: query.to_owned(), k: Some(RETRIEVE_K), filter, ..Default::default() };
        Ok(self.retriever.search(request).await?.results)
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
