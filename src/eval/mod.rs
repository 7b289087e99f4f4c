//! Quality evaluation on a question set (the format of `shared/eval/squad-dev/questions.jsonl`:
//! `{"question", "answers": [...], "answerable": bool, ...}` per line). Retrieval: for each
//! answerable question, hit@k = a top-k result's text contains a gold answer (case- and
//! whitespace-insensitive), plus mean reciprocal rank — for hybrid, BM25-only and dense-only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::SearchMode;
use crate::retrieve::{RetrieveError, Retriever, SearchRequest};

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub question: String,
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default = "yes")]
    pub answerable: bool,
    #[serde(default)]
    pub chapter: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a question object: {message}")]
    Parse { path: String, line: usize, message: String },
    #[error(transparent)]
    Retrieve(#[from] RetrieveError),
}

/// Reads a JSONL question file; blank lines are ignored.
pub fn read_questions(path: &Path) -> Result<Vec<Question>, EvalError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| EvalError::Read { path: path.display().to_string(), source })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| EvalError::Parse {
                path: path.display().to_string(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Results of one retrieval mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    pub mode: SearchMode,
    /// `hit@k` for each requested k, in order.
    pub hits: Vec<(usize, f64)>,
    pub mrr: f64,
    pub p50_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrievalReport {
    pub questions: usize,
    pub modes: Vec<ModeReport>,
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Rank (1-based) of the first result containing a gold answer.
fn first_hit(texts: &[String], answers: &[String]) -> Option<usize> {
    let answers: Vec<String> = answers.iter().map(|a| normalise(a)).filter(|a| !a.is_empty()).collect();
    texts
        .iter()
        .position(|t| {
            let t = normalise(t);
            answers.iter().any(|a| t.contains(a.as_str()))
        })
        .map(|p| p + 1)
}

/// Evaluates the answerable questions in every mode.
pub async fn evaluate_retrieval(
    retriever: &Retriever,
    questions: &[Question],
    ks: &[usize],
) -> Result<RetrievalReport, EvalError> {
    let answerable: Vec<&Question> = questions.iter().filter(|q| q.answerable && !q.answers.is_empty()).collect();
    let depth = ks.iter().copied().max().unwrap_or(10).max(10);
    let mut modes = Vec::new();
    for mode in [SearchMode::Hybrid, SearchMode::Bm25, SearchMode::Dense] {
        let mut ranks = Vec::with_capacity(answerable.len());
        let mut latencies = Vec::with_capacity(answerable.len());
        for q in &answerable {
            let request = SearchRequest { query: q.question.clone(), k: Some(depth), mode, ..Default::default() };
            let found = retriever.search(request).await?;
            latencies.push(found.timings_ms.total);
            let texts: Vec<String> = found.results.into_iter().map(|h| h.text).collect();
            ranks.push(first_hit(&texts, &q.answers));
        }
        modes.push(summarise(mode, &ranks, &mut latencies, ks));
    }
    Ok(RetrievalReport { questions: answerable.len(), modes })
}

fn summarise(mode: SearchMode, ranks: &[Option<usize>], latencies: &mut [f64], ks: &[usize]) -> ModeReport {
    let n = ranks.len().max(1) as f64;
    let hits = ks.iter().map(|&k| (k, ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n)).collect();
    let mrr = ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / n;
    latencies.sort_by(f64::total_cmp);
    let p50_ms = latencies.get(latencies.len() / 2).copied().unwrap_or(0.0);
    ModeReport { mode, hits, mrr, p50_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_ignores_case_and_whitespace() {
        let texts = vec!["nothing here".to_owned(), "The  Normans were\nin FRANCE".to_owned()];
        assert_eq!(first_hit(&texts, &["in france".to_owned()]), Some(2));
        assert_eq!(first_hit(&texts, &["Italy".to_owned()]), None);
    }

    #[test]
    fn mrr_and_hit_rates_follow_the_ranks() {
        let report =
            summarise(SearchMode::Hybrid, &[Some(1), Some(2), None, Some(5)], &mut [1.0, 2.0, 3.0, 4.0], &[1, 5]);
        assert_eq!(report.hits, vec![(1, 0.25), (5, 0.75)]);
        assert!((report.mrr - (1.0 + 0.5 + 0.2) / 4.0).abs() < 1e-9);
    }
}
