//! The LLM generator: the retrieved passages are numbered in the prompt (`prompts/answer.md`),
//! the model answers with `[n]` markers, and each marker becomes a citation whose quote is the
//! passage sentence closest to the cited answer sentence — so quotes are always verbatim.

use std::sync::Arc;

use super::citations::Citation;
use super::text::{content_terms, overlap, sentences};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, GroundingDocument, LlmError, Usage};
use crate::retrieve::SearchHit;

const SYSTEM_PROMPT: &str = include_str!("../../prompts/answer.md");
/// What the model answers when the passages do not hold the answer.
const NOT_IN_BOOK: &str = "NOT_IN_BOOK";

/// What the model wrote: `None` when it found the answer not in the passages.
#[derive(Debug, Clone)]
pub struct Generated {
    pub text: Option<String>,
    pub citations: Vec<Citation>,
    /// Tokens the call spent, as the provider reported them (charged to the caller's quota).
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone)]
pub struct LlmGenerator {
    model: Arc<dyn ChatModel>,
}

impl LlmGenerator {
    pub fn new(model: Arc<dyn ChatModel>) -> Self {
        Self { model }
    }

    pub fn name(&self) -> &str {
        self.model.name()
    }

    pub async fn generate(
        &self,
        question: &str,
        history: &[ChatMessage],
        hits: &[SearchHit],
    ) -> Result<Generated, LlmError> {
        let response = self.model.chat(request(question, history, hits)).await?;
        let (text, usage) = (response.text.trim(), response.usage);
        if text.is_empty() || text.starts_with(NOT_IN_BOOK) {
            return Ok(Generated { text: None, citations: Vec::new(), usage });
        }
        Ok(Generated { text: Some(text.to_owned()), citations: cite(text, hits), usage })
    }
}

/// The chat request: the system prompt, the earlier turns, then the passages and the question.
pub fn request(question: &str, history: &[ChatMessage], hits: &[SearchHit]) -> ChatRequest {
    let mut messages = history.to_vec();
    messages.push(ChatMessage::user(render_user(question, hits)));
    let documents = hits
        .iter()
        .enumerate()
        .map(|(i, h)| GroundingDocument { id: (i + 1).to_string(), title: h.title.clone(), text: h.text.clone() })
        .collect();
    ChatRequest { system: SYSTEM_PROMPT.to_owned(), messages, documents, max_tokens: Some(512), temperature: Some(0.1) }
}

/// The user turn: numbered passages, then the question.
pub fn render_user(question: &str, hits: &[SearchHit]) -> String {
    let mut out = String::from("Passages:\n");
    for (i, hit) in hits.iter().enumerate() {
        let place = if hit.heading_path.is_empty() { &hit.title } else { &hit.heading_path };
        out.push_str(&format!("\n[{}] ({place})\n{}\n", i + 1, hit.text.trim()));
    }
    out.push_str(&format!("\nQuestion: {question}"));
    out
}

/// One citation per passage number used in `text`, quoting the passage sentence that best
/// matches the answer sentences carrying that marker.
fn cite(text: &str, hits: &[SearchHit]) -> Vec<Citation> {
    let mut citations: Vec<Citation> = Vec::new();
    for sentence in sentences(text) {
        let terms = content_terms(&sentence);
        for n in markers(&sentence).into_iter().filter(|n| (1..=hits.len()).contains(n)) {
            if citations.iter().any(|c| c.n == n) {
                continue;
            }
            let hit = &hits[n - 1];
            let best = sentences(&hit.text)
                .into_iter()
                .max_by(|a, b| overlap(&terms, &content_terms(a)).total_cmp(&overlap(&terms, &content_terms(b))));
            if let Some(quote) = best {
                citations.push(Citation::from_hit(n, hit, &quote));
            }
        }
    }
    citations.sort_by_key(|c| c.n);
    citations
}

/// The numbers of the `[n]` markers in `text`.
fn markers(text: &str) -> Vec<usize> {
    text.split('[').skip(1).filter_map(|rest| rest.split_once(']')?.0.trim().parse().ok()).collect()
}
