//! The answer as a stream of events. Extractive answers (and refusals, and selections) are
//! composed first and replayed; a chat model's text is forwarded delta by delta as the provider
//! streams it, through the [`StopFilter`], and only when the stream completes are the `[n]`
//! markers turned into verified citations and the whole answer sent as `Done`.
//!
//! Retries and fallbacks happen before the first token (in the provider chain); a failure after
//! it ends the stream with an error. Dropping the stream drops the provider's response body,
//! which closes the upstream connection: nothing keeps generating for a reader who left.

use std::collections::VecDeque;
use std::time::Instant;

use futures::stream::BoxStream;
use futures::{StreamExt, stream};

use super::guard::{Filtered, StopFilter};
use super::llm::{NOT_IN_BOOK, SYSTEM_PROMPT, cite};
use super::{
    Answer, AnswerError, AnswerEvent, AnswerRequest, AnswerService, AnswerStatus, citations, events, extractive, level,
    selection, shape, timings,
};
use crate::index::IndexFilter;
use crate::llm::{ChatStream, LlmError, StreamEvent, Usage, total_usage};
use crate::retrieve::SearchHit;

/// Events of one answer: deltas, citations, then `Done` (or an error).
pub type AnswerStream = BoxStream<'static, Result<AnswerEvent, AnswerError>>;

/// What a generation needs once the model has started answering.
struct Generation {
    provider: String,
    query: String,
    hits: Vec<SearchHit>,
    draft: extractive::Draft,
    /// Tokens spent before generation (rewriting the follow-up).
    usage: Option<Usage>,
    started: Instant,
    retrieved: Instant,
}

impl AnswerService {
    /// Answers one question as a stream; the model's tokens are forwarded as they arrive.
    pub async fn answer_stream(&self, request: AnswerRequest) -> Result<AnswerStream, AnswerError> {
        let started = Instant::now();
        if request.selected_text.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            return Ok(replay(selection::answer(self, &request, started).await?));
        }
        let history = self.recent(&request.history);
        let (query, rewrite_usage) = self.retrieval_query(&request.message, history).await;
        let filter = IndexFilter { chapter: request.chapter.clone(), document_id: None };
        let (hits, vector) = self.retrieve(&query, filter).await?;
        let retrieved = Instant::now();
        let draft = self.extractive.draft(&query, &hits, vector.as_deref().map(Vec::as_slice)).await?;
        let extractive = |draft: extractive::Draft, query: &str| {
            let mut answer = shape(draft, &hits, query.to_owned());
            answer.timings_ms = timings(started, retrieved);
            answer.usage = rewrite_usage;
            replay(answer)
        };
        let Some(llm) = self.llm.as_ref().filter(|_| draft.supported) else { return Ok(extractive(draft, &query)) };
        let context = llm.context(&hits).to_vec();
        match llm.stream(&request.message, history, &context).await {
            Ok((provider, upstream)) => {
                let generation =
                    Generation { provider, query, hits: context, draft, usage: rewrite_usage, started, retrieved };
                Ok(generate(upstream, generation))
            }
            Err(err) if self.extractive_fallback => {
                tracing::warn!(error = %err, "every chat provider failed; answering extractively");
                Ok(extractive(draft, &query))
            }
            Err(err) => Err(AnswerError::Llm(err)),
        }
    }

    /// The last `history_turns` question/answer pairs.
    fn recent<'a>(&self, history: &'a [crate::llm::ChatMessage]) -> &'a [crate::llm::ChatMessage] {
        &history[history.len().saturating_sub(self.history_turns * 2)..]
    }
}

/// A finished answer as events.
fn replay(answer: Answer) -> AnswerStream {
    stream::iter(events(answer).into_iter().map(Ok)).boxed()
}

struct Generating {
    upstream: ChatStream,
    filter: StopFilter,
    generation: Generation,
    usage: Option<Usage>,
    queue: VecDeque<Result<AnswerEvent, AnswerError>>,
    over: bool,
}

fn generate(upstream: ChatStream, generation: Generation) -> AnswerStream {
    let usage = generation.usage;
    let state = Generating {
        upstream,
        filter: StopFilter::new(SYSTEM_PROMPT, &[NOT_IN_BOOK]),
        generation,
        usage,
        queue: VecDeque::new(),
        over: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.queue.pop_front() {
                return Some((item, state));
            }
            if state.over {
                return None;
            }
            let next = state.upstream.next().await;
            state.step(next);
        }
    })
    .boxed()
}

impl Generating {
    fn step(&mut self, next: Option<Result<StreamEvent, LlmError>>) {
        match next {
            Some(Ok(StreamEvent::Delta(text))) => match self.filter.push(&text) {
                Filtered::Text(text) if !text.is_empty() => self.queue.push_back(Ok(AnswerEvent::Delta(text))),
                Filtered::Text(_) => {}
                Filtered::Tripped => self.complete(),
            },
            Some(Ok(StreamEvent::Usage(usage))) => self.usage = total_usage(self.usage, Some(usage)),
            Some(Ok(StreamEvent::Citation(_))) => {}
            Some(Ok(StreamEvent::Done { .. })) | None => self.complete(),
            Some(Err(err)) => {
                self.over = true;
                self.queue.push_back(Err(AnswerError::Llm(err)));
            }
        }
    }

    /// The model finished (or tripped the filter): flush, cite, verify, answer.
    fn complete(&mut self) {
        self.over = true;
        self.upstream = stream::empty().boxed();
        let rest = self.filter.finish();
        if !rest.is_empty() {
            self.queue.push_back(Ok(AnswerEvent::Delta(rest)));
        }
        let answer = self.answer();
        self.queue.extend(answer.citations.iter().cloned().map(|c| Ok(AnswerEvent::Citation(c))));
        self.queue.push_back(Ok(AnswerEvent::Done(Box::new(answer))));
    }

    fn answer(&mut self) -> Answer {
        let g = &mut self.generation;
        let text = self.filter.text().trim().to_owned();
        let refused = text.is_empty() || text.contains(NOT_IN_BOOK);
        if self.filter.tripped() && !refused {
            metrics::counter!("docent_answers_withheld_total").increment(1);
            tracing::warn!(provider = %g.provider, "answer withheld: it repeated the system prompt");
        }
        let mut answer = if refused || self.filter.tripped() {
            g.draft.supported = false;
            shape(g.draft.clone(), &g.hits, g.query.clone())
        } else {
            let kept = citations::verify(cite(&text, &g.hits), &g.hits);
            let confidence = (g.draft.signals.support * 100.0).round() / 100.0;
            Answer {
                answer: citations::drop_unknown_markers(&text, &kept),
                citations: kept,
                confidence,
                confidence_level: level(confidence),
                status: AnswerStatus::Answered,
                provider: String::new(),
                retrieval_query: g.query.clone(),
                signals: g.draft.signals,
                timings_ms: Default::default(),
                usage: None,
            }
        };
        answer.provider.clone_from(&g.provider);
        answer.usage = self.usage;
        answer.timings_ms = timings(g.started, g.retrieved);
        answer
    }
}
