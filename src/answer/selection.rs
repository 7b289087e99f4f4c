//! Questions about a selected passage: answer from the passage alone (`selection`) or from the
//! passage and its chapter (`chapter`). A passage that is verified to occur in the book is cited
//! at its real location; any other passage is answered as user-supplied text, never cited.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::citations::{self, renumber};
use super::text::{normalize_ws, words};
use super::{Answer, AnswerError, AnswerMode, AnswerRequest, AnswerService, AnswerStatus, followup, level, timings};
use crate::db::Db;
use crate::index::IndexFilter;
use crate::retrieve::SearchHit;

/// Fewer words than this cannot answer anything.
const MIN_WORDS: usize = 5;
/// Chunk id of a passage that could not be found in the book.
const USER_SUPPLIED: &str = "user-selection";

pub const TOO_LITTLE: &str = "The selected passage doesn't say enough to answer this. \
     Try selecting more text, or ask with mode \"chapter\" to include the rest of the chapter.";

/// Where the reader says the passage comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionSource {
    pub document_id: Option<String>,
    pub url: Option<String>,
    pub start: Option<usize>,
    pub end: Option<usize>,
}

pub(super) async fn answer(
    service: &AnswerService,
    request: &AnswerRequest,
    started: Instant,
) -> Result<Answer, AnswerError> {
    let selected = normalize_ws(request.selected_text.as_deref().unwrap_or_default());
    let located = match &request.selection_source {
        Some(source) => locate(service.db(), source, &selected).await?,
        None => None,
    };
    let mode = request.mode.unwrap_or(AnswerMode::Selection);
    let passage = passage_hit(&selected, located.as_ref());
    let query = followup::retrieval_query(&request.message, &request.history);
    let mut hits = vec![passage];
    let mut vector = None;
    if mode != AnswerMode::Selection {
        let chapter = request.chapter.clone().or_else(|| located.as_ref().and_then(|h| h.chapter.clone()));
        let filter = IndexFilter { chapter, document_id: None };
        let (retrieved, query_vector) = service.retrieve(&query, filter).await?;
        hits.extend(retrieved);
        vector = query_vector;
    }
    let retrieved = Instant::now();
    let vector = vector.as_deref().map(Vec::as_slice);
    let draft = service.extractive().draft_with_threshold(&query, &hits, vector, 0.0).await?;
    let related = draft.signals.sentence_cosine >= 0.2 || draft.signals.coverage >= 0.34;
    let mut answer = if words(&selected).len() < MIN_WORDS || !related {
        insufficient(query.clone())
    } else {
        let mut checked = hits.clone();
        checked.extend(located.clone());
        let verified = citations::verify(draft.citations, &checked);
        let kept = verified.into_iter().filter(|c| c.chunk_id != USER_SUPPLIED).collect();
        let (text, citations) = renumber(&draft.text, kept);
        let confidence = (draft.signals.support * 100.0).round() / 100.0;
        Answer {
            answer: text,
            citations,
            confidence,
            confidence_level: level(confidence),
            status: AnswerStatus::Answered,
            provider: "extractive".into(),
            retrieval_query: query.clone(),
            signals: draft.signals,
            timings_ms: Default::default(),
            usage: None,
        }
    };
    answer.timings_ms = timings(started, retrieved);
    Ok(answer)
}

fn insufficient(retrieval_query: String) -> Answer {
    Answer {
        answer: TOO_LITTLE.to_owned(),
        citations: Vec::new(),
        confidence: 0.0,
        confidence_level: super::ConfidenceLevel::Low,
        status: AnswerStatus::InsufficientContext,
        provider: "extractive".into(),
        retrieval_query,
        signals: Default::default(),
        timings_ms: Default::default(),
        usage: None,
    }
}

/// The passage as a retrieved chunk: at its real location when verified, else user-supplied.
fn passage_hit(selected: &str, located: Option<&SearchHit>) -> SearchHit {
    match located {
        Some(hit) => SearchHit { text: selected.to_owned(), ..hit.clone() },
        None => SearchHit {
            chunk_id: USER_SUPPLIED.into(),
            document_id: String::new(),
            title: "Selected text".into(),
            heading_path: String::new(),
            url: None,
            text: selected.to_owned(),
            score: 1.0,
            page: None,
            cosine: None,
            chapter: None,
        },
    }
}

/// The chunk of the named document where `selected` occurs (whitespace-normalised), if any.
pub async fn locate(db: &Db, source: &SelectionSource, selected: &str) -> Result<Option<SearchHit>, AnswerError> {
    let Some(document_id) = document_of(db, source).await? else { return Ok(None) };
    let Some(doc) = db.document(&document_id).await? else { return Ok(None) };
    if selected.is_empty() || !normalize_ws(&doc.content).contains(selected) {
        return Ok(None);
    }
    let head: String = selected.chars().take(60).collect();
    let chunks = db.chunks_of(&document_id).await?;
    let Some(chunk) = chunks.iter().find(|c| normalize_ws(&c.text).contains(&head)) else { return Ok(None) };
    Ok(Some(SearchHit {
        chunk_id: chunk.id.clone(),
        document_id: doc.id.clone(),
        title: doc.title.clone(),
        heading_path: chunk.heading_path.clone(),
        url: chunk.url.clone(),
        text: chunk.text.clone(),
        score: 1.0,
        page: chunk.page.map(|p| p as u32),
        cosine: None,
        chapter: doc.chapter.clone(),
    }))
}

/// The document named by id, or the one whose URL the given URL starts with.
async fn document_of(db: &Db, source: &SelectionSource) -> Result<Option<String>, AnswerError> {
    if let Some(id) = &source.document_id {
        return Ok(Some(id.clone()));
    }
    let Some(url) = source.url.as_deref().map(|u| u.split('#').next().unwrap_or(u).trim_end_matches('/')) else {
        return Ok(None);
    };
    let docs = db.documents(crate::db::documents::Page { offset: 0, limit: 10_000 }).await?;
    Ok(docs
        .into_iter()
        .find(|d| d.url.as_deref().is_some_and(|u| !u.is_empty() && url.ends_with(u.trim_end_matches('/'))))
        .map(|d| d.id))
}
