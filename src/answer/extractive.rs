//! The offline generator: picks the sentences of the retrieved chunks that best answer the
//! question (embedding similarity plus lexical overlap), cites each, and scores how well the
//! book supports an answer at all — below the calibrated threshold the question is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::citations::Citation;
use super::text::{Terms, content_terms, overlap, sentences};
use crate::embed::{EmbedError, EmbedKind, Embedder};
use crate::retrieve::SearchHit;

/// Sentence embeddings kept between questions (chunks repeat across questions).
const CACHE_LIMIT: usize = 20_000;

/// Analysed chunk texts kept between questions (S3-FIFO, `quick_cache`).
const ANALYSED_LIMIT: usize = 4096;

/// A chunk's text as the scorer reads it: its sentences with their content words, and the
/// content words of the whole chunk. Kept per distinct text, because splitting and stemming
/// the sentences of four chunks on every question was a tenth of a chat turn's CPU.
struct Analysed {
    sentences: Vec<(String, Terms)>,
    terms: Terms,
}

impl Analysed {
    fn of(text: &str) -> Self {
        let sentences = sentences(text)
            .into_iter()
            .map(|s| {
                let terms = content_terms(&s);
                (s, terms)
            })
            .collect();
        Self { sentences, terms: content_terms(text) }
    }
}

/// Tunables, calibrated on the squad-dev set (see `tests/answers/calibration.rs`).
#[derive(Debug, Clone, Copy)]
pub struct ExtractiveParams {
    /// Retrieved chunks the sentences are drawn from.
    pub chunks: usize,
    /// Sentences in an answer.
    pub sentences: usize,
    /// Support below this is refused as out of scope.
    pub refuse_below: f32,
}

impl Default for ExtractiveParams {
    fn default() -> Self {
        Self { chunks: 4, sentences: 2, refuse_below: 0.36 }
    }
}

/// How strongly the retrieved text supports an answer (each in 0–1).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Signals {
    /// Best chunk cosine to the question.
    pub top_cosine: f32,
    /// Best sentence cosine to the question.
    pub sentence_cosine: f32,
    /// Fraction of the question's content words found in the retrieved chunks.
    pub coverage: f32,
    /// Combined support: what the threshold and the confidence are taken from.
    pub support: f32,
}

/// An extractive answer before it is shaped for the caller.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Chosen sentences with their `[n]` markers; empty when nothing clears the threshold.
    pub text: String,
    pub citations: Vec<Citation>,
    pub signals: Signals,
    pub supported: bool,
}

#[derive(Clone)]
struct Candidate {
    hit: usize,
    position: usize,
    text: String,
    cosine: f32,
    score: f32,
}

pub struct Extractive {
    embedder: Arc<dyn Embedder>,
    params: ExtractiveParams,
    /// The refusal threshold in force (f32 bits): `params.refuse_below` until the book's
    /// background raises it (`super::background`).
    threshold: AtomicU32,
    cache: Mutex<HashMap<String, Arc<Vec<f32>>>>,
    analysed: quick_cache::sync::Cache<String, Arc<Analysed>>,
}

impl std::fmt::Debug for Extractive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractive").field("embedder", &self.embedder).field("params", &self.params).finish()
    }
}

impl Extractive {
    pub fn new(embedder: Arc<dyn Embedder>, params: ExtractiveParams) -> Self {
        let analysed = quick_cache::sync::Cache::new(ANALYSED_LIMIT);
        let threshold = AtomicU32::new(params.refuse_below.to_bits());
        Self { embedder, params, threshold, cache: Mutex::new(HashMap::new()), analysed }
    }

    /// Support below this is refused: the calibrated floor, or the book's adaptive threshold.
    pub fn threshold(&self) -> f32 {
        f32::from_bits(self.threshold.load(Ordering::Relaxed))
    }

    pub(super) fn set_threshold(&self, threshold: f32) {
        self.threshold.store(threshold.to_bits(), Ordering::Relaxed);
    }

    /// `text` split and stemmed, from the cache when seen before.
    fn analyse(&self, text: &str) -> Arc<Analysed> {
        if let Some(found) = self.analysed.get(text) {
            return found;
        }
        let analysed = Arc::new(Analysed::of(text));
        self.analysed.insert(text.to_owned(), Arc::clone(&analysed));
        analysed
    }

    pub fn params(&self) -> ExtractiveParams {
        self.params
    }

    /// Answers `question` from `hits` (best first). `vector` is the question's embedding when
    /// the caller has it (retrieval computed it); otherwise the question is embedded here.
    pub async fn draft(&self, question: &str, hits: &[SearchHit], vector: Option<&[f32]>) -> Result<Draft, EmbedError> {
        self.draft_with_threshold(question, hits, vector, self.threshold()).await
    }

    /// Like [`Extractive::draft`] with another refusal threshold (0 never refuses).
    pub async fn draft_with_threshold(
        &self,
        question: &str,
        hits: &[SearchHit],
        vector: Option<&[f32]>,
        refuse_below: f32,
    ) -> Result<Draft, EmbedError> {
        let hits = &hits[..hits.len().min(self.params.chunks)];
        let analysed: Vec<Arc<Analysed>> = hits.iter().map(|hit| self.analyse(&hit.text)).collect();
        let candidates = self.score_sentences(question, hits, &analysed, vector).await?;
        let signals = signals(question, hits, &analysed, &candidates);
        let supported = signals.support >= refuse_below;
        if !supported {
            return Ok(Draft { text: String::new(), citations: Vec::new(), signals, supported });
        }
        let mut chosen = pick(candidates.clone(), self.params.sentences);
        attach_code(&mut chosen, &candidates);
        chosen.sort_by_key(|c| (c.hit, c.position));
        let mut text = Vec::new();
        let mut citations: Vec<Citation> = Vec::new();
        for c in &chosen {
            let n = match citations.iter().find(|cit| cit.chunk_id == hits[c.hit].chunk_id) {
                Some(existing) if existing.quote.len() + c.text.len() < 400 => existing.n,
                _ => {
                    citations.push(Citation::from_hit(citations.len() + 1, &hits[c.hit], &c.text));
                    citations.len()
                }
            };
            text.push(format!("{} [{n}]", c.text));
        }
        Ok(Draft { text: text.join(" "), citations, signals, supported })
    }

    /// Every sentence of `hits`, scored against the question.
    async fn score_sentences(
        &self,
        question: &str,
        hits: &[SearchHit],
        analysed: &[Arc<Analysed>],
        vector: Option<&[f32]>,
    ) -> Result<Vec<Candidate>, EmbedError> {
        let mut candidates: Vec<Candidate> = Vec::new();
        for (h, chunk) in analysed.iter().enumerate() {
            for (position, (text, _)) in chunk.sentences.iter().enumerate() {
                candidates.push(Candidate { hit: h, position, text: text.clone(), cosine: 0.0, score: 0.0 });
            }
        }
        let texts: Vec<String> = candidates.iter().map(|c| c.text.clone()).collect();
        let vectors = self.embed_cached(&texts).await?;
        let query = match vector {
            Some(vector) => vector.to_vec(),
            None => self.embedder.embed(&[question.to_owned()], EmbedKind::Query).await?.pop().unwrap_or_default(),
        };
        let terms = content_terms(question);
        for (c, v) in candidates.iter_mut().zip(&vectors) {
            c.cosine = dot(&query, v);
            let lexical = overlap(&terms, &analysed[c.hit].sentences[c.position].1);
            let chunk = hits[c.hit].cosine.unwrap_or(0.0);
            c.score = 0.5 * c.cosine + 0.35 * lexical + 0.15 * chunk - 0.02 * c.hit as f32;
        }
        Ok(candidates)
    }

    async fn embed_cached(&self, texts: &[String]) -> Result<Vec<Arc<Vec<f32>>>, EmbedError> {
        let missing: Vec<String> = {
            let cache = self.cache.lock().expect("cache lock");
            let mut missing: Vec<String> = texts.iter().filter(|t| !cache.contains_key(*t)).cloned().collect();
            missing.dedup();
            missing
        };
        let hits = texts.len().saturating_sub(missing.len());
        metrics::counter!("docent_cache_hits_total", "cache" => "sentence_embeddings").increment(hits as u64);
        metrics::counter!("docent_cache_misses_total", "cache" => "sentence_embeddings")
            .increment(missing.len() as u64);
        let fresh =
            if missing.is_empty() { Vec::new() } else { self.embedder.embed(&missing, EmbedKind::Document).await? };
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() + fresh.len() > CACHE_LIMIT {
            cache.clear();
        }
        for (text, vector) in missing.into_iter().zip(fresh) {
            cache.insert(text, Arc::new(vector));
        }
        Ok(texts.iter().map(|t| cache.get(t).cloned().unwrap_or_default()).collect())
    }
}

/// A fenced code block (documentation books): never an answer sentence on its own.
fn is_code(text: &str) -> bool {
    text.starts_with("```") || text.starts_with("~~~")
}

/// A chosen sentence that introduces a code block ("…set it like this:") carries the block
/// that follows it in the same chunk, so the answer shows the command or config it names.
fn attach_code(chosen: &mut [Candidate], all: &[Candidate]) {
    for c in chosen.iter_mut().filter(|c| c.text.ends_with(':')) {
        let next = all.iter().find(|o| o.hit == c.hit && o.position == c.position + 1 && is_code(&o.text));
        if let Some(block) = next {
            c.text = format!("{} {}", c.text, block.text);
        }
    }
}

/// The best `n` prose sentences, skipping near-duplicates (same text).
fn pick(mut candidates: Vec<Candidate>, n: usize) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut chosen: Vec<Candidate> = Vec::new();
    for c in candidates {
        if chosen.len() == n {
            break;
        }
        if !is_code(&c.text) && !chosen.iter().any(|k| k.text == c.text) {
            chosen.push(c);
        }
    }
    chosen
}

fn signals(question: &str, hits: &[SearchHit], analysed: &[Arc<Analysed>], candidates: &[Candidate]) -> Signals {
    let top_cosine = hits.iter().filter_map(|h| h.cosine).fold(0.0_f32, f32::max);
    let sentence_cosine = candidates.iter().map(|c| c.cosine).fold(0.0_f32, f32::max);
    // The share of the question's content words found in any of the chunks.
    let question = content_terms(question);
    let found = question.iter().filter(|t| analysed.iter().any(|a| a.terms.contains(*t))).count();
    let coverage = if question.is_empty() { 0.0 } else { found as f32 / question.len() as f32 };
    let support = (0.4 * top_cosine + 0.3 * sentence_cosine + 0.3 * coverage).clamp(0.0, 1.0);
    Signals { top_cosine, sentence_cosine, coverage, support }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
