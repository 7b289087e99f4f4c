//! Translating one chapter's Markdown: protect it, cut it into pieces within the budget,
//! translate a few pieces at a time through the chat model chain (the answers' resilience:
//! deadlines, retries, breaker, fallbacks), verify and restore each piece — a rejected piece is
//! asked for once more, then fails the whole chapter — and reassemble behind the front matter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use tracing::Instrument;

use super::error::TranslateError;
use super::language::Language;
use super::protect::{CLOSE, OPEN, Protected};
use super::sections::{Piece, pieces};
use super::verify::{Rejection, restore};
use crate::llm::{ChatModel, ChatResponse, Usage};

/// Calls per piece before its translation is given up as unfaithful.
pub const ATTEMPTS: usize = 2;

/// How the chapter is cut and how many pieces are in flight at once.
#[derive(Debug, Clone)]
pub struct Translator {
    pub terms: Arc<Vec<String>>,
    pub section_chars: usize,
    pub parallel_sections: usize,
}

/// Tokens spent so far by one translation, successful or not.
#[derive(Debug, Default)]
pub struct Meter {
    prompt: AtomicU64,
    completion: AtomicU64,
}

impl Meter {
    fn add(&self, usage: Option<Usage>) {
        let usage = usage.unwrap_or_default();
        self.prompt.fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        self.completion.fetch_add(usage.completion_tokens, Ordering::Relaxed);
    }

    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt.load(Ordering::Relaxed),
            completion_tokens: self.completion.load(Ordering::Relaxed),
        }
    }
}

/// One translation call's job.
struct Job<'a> {
    number: usize,
    piece: &'a Piece,
    spans: &'a [String],
    language: &'a Language,
    llm: &'a dyn ChatModel,
    meter: &'a Meter,
}

impl Translator {
    /// The translated chapter; tokens spent are added to `meter` even when it fails.
    pub async fn translate(
        &self,
        llm: &dyn ChatModel,
        source: &str,
        language: &Language,
        meter: &Meter,
    ) -> Result<String, TranslateError> {
        let protected = Protected::new(source, &self.terms);
        let pieces = pieces(&protected.lines, self.section_chars);
        tracing::debug!(sections = pieces.len(), placeholders = protected.spans.len(), "chapter cut into sections");
        // Boxed and collected first: the stream then holds no closure borrowing the pieces.
        let calls: Vec<BoxFuture<'_, Result<String, TranslateError>>> = pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                translate_piece(Job { number: i + 1, piece, spans: &protected.spans, language, llm, meter }).boxed()
            })
            .collect();
        let parts: Vec<String> =
            futures::stream::iter(calls).buffered(self.parallel_sections.max(1)).try_collect().await?;
        Ok(protected.front_matter + &parts.join("\n"))
    }
}

/// One piece, translated and restored (or passed through when it holds no prose).
async fn translate_piece(job: Job<'_>) -> Result<String, TranslateError> {
    let span = tracing::info_span!("translate.section", section = job.number, chars = job.piece.text.len());
    async move {
        let (prefix, core, suffix) = edges(&job.piece.text);
        if !has_prose(core) {
            metrics::counter!("docent_translation_sections_total", "outcome" => "skipped").increment(1);
            let restored = restore(core, job.piece, job.spans).map_err(|rejection| unfaithful(&job, rejection))?;
            return Ok(format!("{prefix}{restored}{suffix}"));
        }
        let mut last = Rejection::Truncated;
        for attempt in 1..=ATTEMPTS {
            let response = job.llm.chat(super::prompt::request(core, job.language)).await?;
            job.meter.add(response.usage);
            match check(&response, &job) {
                Ok(restored) => {
                    metrics::counter!("docent_translation_sections_total", "outcome" => "translated").increment(1);
                    return Ok(format!("{prefix}{restored}{suffix}"));
                }
                Err(rejection) => {
                    metrics::counter!("docent_translation_sections_total", "outcome" => "rejected").increment(1);
                    tracing::warn!(attempt, %rejection, "translated section rejected");
                    last = rejection;
                }
            }
        }
        Err(unfaithful(&job, last))
    }
    .instrument(span)
    .await
}

fn check(response: &ChatResponse, job: &Job<'_>) -> Result<String, Rejection> {
    let reason = response.finish_reason.as_deref().unwrap_or_default().to_ascii_lowercase();
    if matches!(reason.as_str(), "length" | "max_tokens") {
        return Err(Rejection::Truncated);
    }
    restore(&response.text, job.piece, job.spans)
}

fn unfaithful(job: &Job<'_>, rejection: Rejection) -> TranslateError {
    TranslateError::Unfaithful { section: job.number, rejection }
}

/// (leading blank lines, the core sent to the model, trailing whitespace).
pub(super) fn edges(text: &str) -> (&str, &str, &str) {
    let start = text.len() - text.trim_start_matches(['\n', '\r']).len();
    let end = text.trim_end().len().max(start);
    (&text[..start], &text[start..end], &text[end..])
}

/// Whether any letter is left once the placeholders are taken out.
fn has_prose(text: &str) -> bool {
    let mut in_token = false;
    text.chars().any(|c| {
        if c == OPEN || c == CLOSE {
            in_token = c == OPEN;
            return false;
        }
        !in_token && c.is_alphabetic()
    })
}
