//! Answer-quality evaluation over a question file (JSON lines with `question`, `answers` and
//! `answerable`, read by [`crate::eval::read_questions`]), as `docent eval answers` reports it
//! against the ingested book.

use serde::Serialize;

use super::{AnswerError, AnswerRequest, AnswerService, AnswerStatus};
use crate::eval::Question;

/// Rates over the answerable and the unanswerable questions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub questions: usize,
    pub answerable: usize,
    /// Answered, and the answer contains a gold answer (case-insensitive).
    pub contains_gold: f64,
    /// Answerable questions refused or judged insufficient.
    pub false_refusal: f64,
    /// Unanswerable questions refused.
    pub refused_unanswerable: f64,
    pub mean_latency_ms: f64,
    pub p50_latency_ms: f64,
    /// Support below this was refused.
    pub refusal_threshold: f32,
    /// The book's background support, when the threshold was measured from it.
    pub background_support: Option<f32>,
}

/// Asks every question and tallies the outcomes.
pub async fn evaluate(service: &AnswerService, questions: &[Question]) -> Result<EvalReport, AnswerError> {
    let (mut gold, mut false_refusals, mut refused) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::with_capacity(questions.len());
    for q in questions {
        let answer = service.answer(AnswerRequest { message: q.question.clone(), ..Default::default() }).await?;
        latencies.push(answer.timings_ms.total);
        let answered = answer.status == AnswerStatus::Answered;
        if q.answerable {
            let text = answer.answer.to_lowercase();
            gold += usize::from(answered && q.answers.iter().any(|g| text.contains(&g.to_lowercase())));
            false_refusals += usize::from(!answered);
        } else {
            refused += usize::from(!answered);
        }
    }
    let answerable = questions.iter().filter(|q| q.answerable).count();
    let rate = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let mean_latency_ms = latencies.iter().sum::<f64>() / latencies.len().max(1) as f64;
    latencies.sort_by(f64::total_cmp);
    let p50_latency_ms = latencies.get(latencies.len().saturating_sub(1) / 2).copied().unwrap_or_default();
    Ok(EvalReport {
        questions: questions.len(),
        answerable,
        contains_gold: rate(gold, answerable),
        false_refusal: rate(false_refusals, answerable),
        refused_unanswerable: rate(refused, questions.len() - answerable),
        mean_latency_ms,
        p50_latency_ms,
        refusal_threshold: service.extractive().threshold(),
        background_support: None,
    })
}
