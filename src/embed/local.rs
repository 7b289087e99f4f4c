//! [`LocalEmbedder`]: all-MiniLM-L6-v2 run in-process on the CPU.
//!
//! Loads a Hugging Face folder (`config.json`, `tokenizer.json`,
//! `model.safetensors`, optionally `sentence_bert_config.json` for
//! `max_seq_length`) and runs the hand-written BERT of `super::bert` on a
//! dedicated rayon pool of `threads` threads, plus one more thread for the passes of
//! questions on AMX (in f32 they take the pool); the one-job gate below keeps the two from
//! running at once, so matmuls and element-wise kernels never oversubscribe the cores.
//!
//! [`Embedder::embed`] never blocks the async runtime: tokenisation and every
//! batch run on that pool and are awaited through a oneshot channel (a lone question,
//! a few dozen tokens, is tokenised on the caller's thread in microseconds). A fair
//! one-permit semaphore admits one pool job at a time, so a short query waits
//! for at most one in-flight batch of a long ingestion, not for all of it.
//! Inputs are sorted by token length before batching so a batch holds similar
//! lengths (the forward pass packs tokens, so there is no padding at all).
//! Single queries arriving together are embedded in one pass (`coalesce`): on a thread of
//! their own on AMX, on the pool in f32 (see [`LocalEmbedder::embed_query`]). Loading the
//! folder is `load`.

use super::bert::Bert;
use super::coalesce::{self, QueryQueue};
use super::{EmbedError, EmbedKind, Embedder, Precision};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenizers::Tokenizer;
use tokio::sync::Semaphore;

/// Identifier recorded by the index for vectors from this embedder.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Default model folder, relative to the working directory.
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";

/// sentence-transformers' `max_seq_length` for MiniLM, used when the folder has
/// no `sentence_bert_config.json`.
const DEFAULT_MAX_TOKENS: usize = 256;

mod load;
use load::{load_err, load_model, load_tokenizers, read_max_tokens};

/// Files that must be in the model folder.
const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Tuning knobs of [`LocalEmbedder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEmbedderOptions {
    /// Inference threads (the size of the dedicated pool); 0 means all cores.
    pub threads: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Arithmetic of the dense layers.
    pub precision: Precision,
}

impl Default for LocalEmbedderOptions {
    fn default() -> Self {
        Self { threads: 0, batch_size: 16, precision: Precision::Auto }
    }
}

/// The model folder: `$DOCENT_MODEL_DIR` if set, else [`DEFAULT_MODEL_DIR`].
pub fn default_model_dir() -> PathBuf {
    std::env::var_os("DOCENT_MODEL_DIR").map_or_else(|| PathBuf::from(DEFAULT_MODEL_DIR), PathBuf::from)
}

/// State shared with the pool's jobs.
struct Inner {
    model: Bert,
    /// Adds special tokens and truncates to `max_tokens`.
    encoder: Tokenizer,
    /// No truncation, for [`Embedder::count_tokens`].
    counter: Tokenizer,
    pool: rayon::ThreadPool,
    threads: usize,
    /// One thread, for the coalesced question passes (see [`LocalEmbedder::embed_query`]).
    solo: rayon::ThreadPool,
    /// `Auto` resolved: what the dense layers actually run in.
    precision: Precision,
}

/// all-MiniLM-L6-v2 (or another mean-pooled BERT sentence-transformer) on the CPU.
pub struct LocalEmbedder {
    inner: Arc<Inner>,
    gate: Arc<Semaphore>,
    queries: Arc<QueryQueue>,
    dir: PathBuf,
    max_tokens: usize,
    batch_size: usize,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("model_id", &MINILM_MODEL_ID)
            .field("dir", &self.dir)
            .field("threads", &self.inner.threads)
            .field("batch_size", &self.batch_size)
            .field("precision", &self.inner.precision)
            .finish_non_exhaustive()
    }
}

impl LocalEmbedder {
    /// Loads the model folder `dir`; fails with [`EmbedError::ModelMissing`]
    /// when a required file is absent.
    pub fn load(dir: &Path, opts: LocalEmbedderOptions) -> Result<Self, EmbedError> {
        if REQUIRED_FILES.iter().any(|f| !dir.join(f).is_file()) {
            return Err(EmbedError::ModelMissing { dir: dir.to_owned() });
        }
        let precision = opts.precision.resolve()?;
        let model = load_model(dir, precision)?;
        let max_tokens = read_max_tokens(dir)?.min(model.max_positions());
        let (encoder, counter) = load_tokenizers(dir, max_tokens)?;
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("docent-embed-{i}"))
            .build()
            .map_err(|e| load_err(dir, "inference thread pool", e))?;
        let solo = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "docent-embed-q".to_owned())
            .build()
            .map_err(|e| load_err(dir, "question thread", e))?;
        tracing::info!(dir = %dir.display(), threads, max_tokens, precision = precision.as_str(), "loaded local embedder");
        let inner = Inner { model, encoder, counter, pool, threads, solo, precision };
        Ok(Self {
            inner: Arc::new(inner),
            gate: Arc::new(Semaphore::new(1)),
            queries: Arc::default(),
            dir: dir.to_owned(),
            max_tokens,
            batch_size: opts.batch_size.max(1),
        })
    }

    /// Embeds `texts` on the calling thread's behalf, blocking until done
    /// (for CLIs and benchmarks; async code should use [`Embedder::embed`]).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.inner.pool.install(|| self.inner.embed_all(texts, self.batch_size))
    }

    /// The arithmetic the dense layers run in (`Auto` resolved for this machine).
    pub fn precision(&self) -> Precision {
        self.inner.precision
    }

    /// Token ids of `text` as the model sees it: with `[CLS]`/`[SEP]`, truncated
    /// to [`Embedder::max_tokens`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        self.inner.encode(text)
    }

    /// Runs `job` on the inference pool once the gate admits it.
    async fn run<R, F>(&self, job: F) -> Result<R, EmbedError>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R, EmbedError> + Send + 'static,
    {
        run_gated(Arc::clone(&self.inner), Arc::clone(&self.gate), job).await
    }

    /// One query, embedded together with whatever other queries are waiting (`coalesce`).
    ///
    /// On AMX (bf16) the pass runs on one thread (`Inner::solo`), still behind the one-job
    /// gate. A pass of questions is a few hundred tokens: split over two threads it finished
    /// only 10–15% sooner than on one (the halves of every step are a few dozen microseconds,
    /// and each split costs a wake-up and a join) for 40–50% more CPU time (`bench/qpass.rs`,
    /// eight and sixteen questions). Under concurrent searches the CPU is the bound, so the
    /// second core does more good serving the requests' other work. In f32 (no AMX) a pass is
    /// eight to ten times longer and the requests' work is a small part of the machine's: on one
    /// thread the question thread was the bound with a third of the other core idle, so
    /// there the pass takes every inference thread (16 concurrent cold searches on a 2-core
    /// Zen 3: 301–328 against 240–270 searches/s, interleaved).
    ///
    /// The caller tokenises its question here, on its own thread, before queueing the ids:
    /// the pass is the bound of a cold search under load, and tokenising was ~2% of its time.
    async fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let ids = self.inner.encode(text)?;
        let (reply, vector) = tokio::sync::oneshot::channel();
        if self.queries.push(ids, reply) {
            let (inner, gate, queue) = (Arc::clone(&self.inner), Arc::clone(&self.gate), Arc::clone(&self.queries));
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await;
                let (questions, replies): (Vec<Vec<u32>>, Vec<_>) = queue.take().into_iter().unzip();
                if questions.is_empty() {
                    return;
                }
                let (started, count) = (std::time::Instant::now(), questions.len());
                let outcome = match permit {
                    Ok(permit) => {
                        let pool = inner.question_pool();
                        run_on_pool(inner, permit, pool, move |inner| inner.embed_questions(&questions)).await
                    }
                    Err(_) => Err(EmbedError::Inference("embedder is shutting down".to_owned())),
                };
                record_embed(count, started.elapsed());
                coalesce::deliver(replies, outcome);
            });
        }
        vector.await.map_err(|_| EmbedError::Inference("query embedding was dropped".to_owned()))?
    }
}

/// Waits for the one-job gate, then runs `job` on the inference pool.
async fn run_gated<R, F>(inner: Arc<Inner>, gate: Arc<Semaphore>, job: F) -> Result<R, EmbedError>
where
    R: Send + 'static,
    F: FnOnce(&Inner) -> Result<R, EmbedError> + Send + 'static,
{
    let permit =
        gate.acquire_owned().await.map_err(|_| EmbedError::Inference("embedder is shutting down".to_owned()))?;
    run_on_pool(inner, permit, Pool::All, job).await
}

/// Which of the embedder's thread pools a job runs on.
#[derive(Debug, Clone, Copy)]
enum Pool {
    /// All inference threads.
    All,
    /// The one question thread.
    Solo,
}

/// Runs `job` on the chosen pool, releasing `permit` when it ends.
async fn run_on_pool<R, F>(
    inner: Arc<Inner>,
    permit: tokio::sync::OwnedSemaphorePermit,
    pool: Pool,
    job: F,
) -> Result<R, EmbedError>
where
    R: Send + 'static,
    F: FnOnce(&Inner) -> Result<R, EmbedError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let pool_inner = Arc::clone(&inner);
    let pool = match pool {
        Pool::All => &inner.pool,
        Pool::Solo => &inner.solo,
    };
    pool.spawn(move || {
        let result = catch_unwind(AssertUnwindSafe(|| job(&pool_inner)));
        drop(permit);
        let _ = tx.send(result);
    });
    match rx.await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(EmbedError::Inference("inference thread panicked".to_owned())),
        Err(_) => Err(EmbedError::Inference("inference job was dropped".to_owned())),
    }
}

/// Indices of `ids` sorted by sequence length (stable).
fn by_length(ids: &[Vec<u32>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    order
}

impl Inner {
    /// Token ids of one text, with special tokens, truncated.
    fn encode(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc = self.encoder.encode_fast(text, true);
        enc.map(|e| e.get_ids().to_vec()).map_err(|e| EmbedError::Inference(format!("tokenizer: {e}")))
    }

    /// Token ids of every text, in parallel on the current pool.
    fn tokenize(&self, texts: &[String]) -> Result<Vec<Vec<u32>>, EmbedError> {
        texts.par_iter().map(|t| self.encode(t)).collect()
    }

    /// Tokenises, sorts by length and embeds `texts` batch by batch; must run
    /// on `self.pool`.
    fn embed_all(&self, texts: &[String], batch_size: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids = self.tokenize(texts)?;
        let mut out = vec![Vec::new(); texts.len()];
        for batch in by_length(&ids).chunks(batch_size) {
            let seqs: Vec<Vec<u32>> = batch.iter().map(|&i| ids[i].clone()).collect();
            for (&i, v) in batch.iter().zip(self.forward(&seqs)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// One forward pass; must run on `self.pool`.
    fn forward(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.model.encode(seqs, self.threads).map_err(EmbedError::Inference)
    }

    /// Where passes of questions run: on bf16 tiles, the one question thread; in f32, every
    /// inference thread.
    fn question_pool(&self) -> Pool {
        match self.precision {
            Precision::Bf16 => Pool::Solo,
            _ => Pool::All,
        }
    }

    /// Questions (token ids) in one pass; must run on the pool [`Inner::question_pool`] names.
    fn embed_questions(&self, questions: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let threads = match self.question_pool() {
            Pool::Solo => 1,
            Pool::All => self.threads,
        };
        self.model.encode(questions, threads).map_err(EmbedError::Inference)
    }
}

#[async_trait::async_trait]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        MINILM_MODEL_ID
    }

    fn dimension(&self) -> usize {
        self.inner.model.hidden_size()
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn count_tokens(&self, text: &str) -> usize {
        match self.inner.counter.encode_fast(text, false) {
            Ok(enc) => enc.len(),
            Err(e) => {
                // WordPiece cannot really fail; over-estimate rather than panic.
                tracing::warn!(error = %e, "token count failed, estimating");
                text.len().div_ceil(3)
            }
        }
    }

    /// MiniLM is symmetric, so `kind` does not change the vectors; single queries are
    /// coalesced with concurrent ones into one forward pass.
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        if let (EmbedKind::Query, [text]) = (kind, texts) {
            return Ok(vec![self.embed_query(text).await?]);
        }
        let start = std::time::Instant::now();
        let owned = texts.to_vec();
        if texts.len() <= self.batch_size {
            // One pool job (a query, a small batch): no extra round trip.
            let batch_size = self.batch_size;
            let out = self.run(move |inner| inner.embed_all(&owned, batch_size)).await?;
            record_embed(texts.len(), start.elapsed());
            return Ok(out);
        }
        // Large inputs: one pool job per batch, so other callers interleave.
        let mut ids = self.run(move |inner| inner.tokenize(&owned)).await?;
        let mut out = vec![Vec::new(); texts.len()];
        for batch in by_length(&ids).chunks(self.batch_size) {
            let seqs: Vec<Vec<u32>> = batch.iter().map(|&i| std::mem::take(&mut ids[i])).collect();
            let vectors = self.run(move |inner| inner.forward(&seqs)).await?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        record_embed(texts.len(), start.elapsed());
        Ok(out)
    }
}

/// One embedding call in the metrics: its latency and how many texts it carried.
fn record_embed(texts: usize, elapsed: std::time::Duration) {
    tracing::debug!(texts, ?elapsed, "embedded");
    metrics::histogram!("docent_embed_duration_seconds", "embedder" => "local").record(elapsed.as_secs_f64());
    metrics::histogram!("docent_embed_batch_size", "embedder" => "local").record(texts as f64);
}
