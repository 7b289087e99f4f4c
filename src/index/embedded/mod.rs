//! Embedded hybrid index: one SQLite file (`index.db`) plus in-memory BM25 postings and an
//! exact-scan matrix. No external service; rebuildable from the database.
//!
//! # Storage
//! `index.db` (see the `store` module) holds every chunk (id, document, chapter, text,
//! heading, payload JSON, little-endian f32 vector), the indexed version of each document
//! and the embedding model/dimension. WAL + `synchronous=FULL` make every replacement one
//! durable transaction; after a crash the previous committed state is intact and
//! [`VectorIndex::versions`] lets start-up reconcile. At open, the rows are read once to
//! fill both in-memory sides: the lexical postings (`lexical`: Okapi BM25 with the Snowball
//! English stemmer, computed as FTS5's `bm25()` does, sub-millisecond per query where FTS5
//! took 13–40 ms on the Python docs) and the dense matrix.
//!
//! # Dense side: exact scan instead of HNSW
//! At open, all vectors are loaded into one contiguous row-major matrix of f16
//! values ([`dense::DenseState`]); a query is a brute-force dot product over every
//! row (vectors and query are L2-normalised, so dot = cosine) with a bounded
//! heap for the top N (`scan` module). Rationale:
//! * a book collection is 10^3–10^5 chunks: 100k x 384 is 77 MB and scans in
//!   a few ms — exact, no recall loss, no tuning, no index build time, and
//!   trivially correct under per-document replacement and filters (a filter is
//!   an integer test in the loop, so filtered queries never lose recall, which
//!   is HNSW's weak spot);
//! * at 1M chunks x 384 dims the matrix is 768 MB of RAM. Measured with
//!   `bench/index_1m.rs` (release) on the 2-core dev VM at load ≈ 1.7: raw scan
//!   top-100 p50 90 ms on one thread, 46 ms on two; a scan filtered to one
//!   document is ~0.1 ms. (With f32 rows: 1.5 GB, p50 50 ms on two threads;
//!   writing 1M chunks through `replace_document` took 111 s, reopening 10 s.)
//!   On CPUs with AMX the int8 copy adds 388 MB and the scan reads it instead:
//!   p50 50 ms on one thread, 27 ms on two;
//!   That is acceptable next to an LLM call of seconds, but it is the ceiling of
//!   this design;
//! * beyond that: (int8 rows with an exact rescoring of the top candidates are
//!   in, on AMX: see below) an HNSW crate (e.g. `hnsw_rs`/`usearch`) for
//!   sub-millisecond ANN at the cost of recall/filter complexity, or the Qdrant
//!   backend of the same trait for scale-out.
//!
//! Rows are stored as f16 (`crate::half`: half the memory and bandwidth, cosines within
//! ~1e-5, rankings unchanged on the development book). Scans over at least 8,192 rows run on
//! the blocking pool, and concurrent ones are coalesced into one pass over the matrix
//! (`batch`). Where the CPU has AMX every batched scan, and every unfiltered or
//! chapter-filtered lone scan from 16k rows, runs on tiles over an int8 copy of the rows
//! (`scan_amx`: half the bytes of the f16 rows, then each query's candidates rescored
//! exactly on the f16 rows); on CPUs with AVX2 but neither AMX nor AVX-512 a batched pass
//! scores f16 rows against eight queries a step (`scan_avx2`); elsewhere a lone
//! scan from [`scan::PARALLEL_MIN_ROWS`] rows, and a pass whose work reaches it, is split
//! over up to 4 scoped threads. The text and payload of recently
//! returned rows are kept in memory (`rows`), so a warm search does not touch SQLite. Smaller scans and scans filtered to one document run inline. The matrix grows
//! with `Vec` growth; on glibc large reallocations are `mremap`s, so growth does not copy it.
//! The scan must be built optimised: in an unoptimised `dev` build of the
//! crate it is ~60x slower (100k rows: 480 ms vs 8 ms per query), so dev
//! profiles should give this crate `opt-level >= 2` or use `--release`.
//!
//! # Consistency invariant
//! `state: Arc<tokio::sync::RwLock<DenseState>>` guards *both* the in-memory
//! matrix and the visibility of committed SQLite writes:
//! * a search holds the read guard across the BM25 query, the dense scan and the
//!   final text/payload fetch, so everything it reads belongs to one state;
//! * a writer (serialised by `writer: Mutex`) runs its whole SQLite transaction
//!   (delete old rows, insert new rows, record version) *outside* the guard —
//!   uncommitted WAL writes are invisible to other connections — and prepares
//!   the in-memory `dense::DocUpdate`; only then it takes the write guard,
//!   commits and applies the update (swap-removes + appends: O(document size)).
//!
//! Hence a reader sees a document entirely at its old or entirely at its new
//! version, never a mix or duplicates (tested in `tests::concurrent_*`). Writes
//! run in a spawned task so that a caller dropping the future cannot cancel a
//! commit half-way between SQLite and memory.

mod analysis;
mod batch;
mod dense;
mod freshness;
mod fusion;
mod lexical;
mod rows;
mod scan;
mod scan_amx;
mod scan_avx2;
mod search;
mod store;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_crash;
#[cfg(test)]
mod tests_eval;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tokio::sync::{Mutex, RwLock};

pub use dense::{DenseState, RowFilter};
pub use scan::{PARALLEL_MIN_ROWS, dot, normalize};

use crate::index::{IndexChunk, IndexError, IndexHit, IndexQuery, IndexStats, VectorIndex};
use store::Store;

/// The embedded index (see the module documentation). Cheap to share via `Arc`.
#[derive(Debug)]
pub struct EmbeddedIndex {
    inner: Arc<Inner>,
}

/// Shared state; `Arc`ed so writes can run in a detached task.
#[derive(Debug)]
struct Inner {
    store: Store,
    state: Arc<RwLock<DenseState>>,
    writer: Mutex<()>,
    threads: usize,
    /// The store generation `state` reflects; a different one in the file means another
    /// process (e.g. `docent ingest` beside a running server) wrote, and `state` is reloaded.
    generation: AtomicI64,
    /// Skips the generation query while the files are unchanged.
    freshness: freshness::Freshness,
    /// Concurrent full scans, coalesced into shared passes.
    scans: Arc<batch::ScanQueue>,
    /// Advanced (under the write guard) with every change of `state`: keys `rows`.
    epoch: AtomicU64,
    /// Recently returned rows, so warm searches skip the SQLite fetch.
    rows: rows::HotRows,
}

impl Inner {
    /// Records that `state` (whose write guard the caller holds) now reflects `generation`.
    fn advance(&self, generation: i64) {
        self.generation.store(generation, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl EmbeddedIndex {
    /// Opens or creates the index file at `path` (e.g. `<data_dir>/index.db`)
    /// and loads all vectors into memory.
    pub async fn open(path: &Path) -> Result<Self, IndexError> {
        let started = std::time::Instant::now();
        let store = Store::open(path).await?;
        let (state, generation) = write::load_consistent(&store).await?;
        tracing::info!(
            path = %path.display(),
            chunks = state.len(),
            dimension = state.dim(),
            memory_mb = state.memory_bytes() / (1 << 20),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded index opened"
        );
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        let inner = Inner {
            store,
            state: Arc::new(RwLock::new(state)),
            writer: Mutex::new(()),
            threads,
            generation: AtomicI64::new(generation),
            freshness: freshness::Freshness::new(path),
            scans: batch::ScanQueue::new(),
            epoch: AtomicU64::new(0),
            rows: rows::HotRows::new(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Runs a write operation in its own task so caller cancellation cannot
    /// interrupt it between the SQLite commit and the in-memory update.
    async fn detached<F, Fut>(&self, op: F) -> Result<(), IndexError>
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = Result<(), IndexError>> + Send + 'static,
    {
        tokio::spawn(op(self.inner.clone())).await.map_err(|e| IndexError::Task(e.to_string()))?
    }
}

#[async_trait::async_trait]
impl VectorIndex for EmbeddedIndex {
    async fn ensure_model(&self, model_id: &str, dimension: usize) -> Result<(), IndexError> {
        let model_id = model_id.to_owned();
        self.detached(move |inner| async move { inner.ensure_model(&model_id, dimension).await }).await
    }

    async fn replace_document(
        &self,
        document_id: &str,
        version: &str,
        chunks: Vec<IndexChunk>,
    ) -> Result<(), IndexError> {
        let (doc, version) = (document_id.to_owned(), version.to_owned());
        self.detached(move |inner| async move { inner.replace(&doc, Some(&version), chunks).await }).await
    }

    async fn delete_document(&self, document_id: &str) -> Result<(), IndexError> {
        let doc = document_id.to_owned();
        self.detached(move |inner| async move { inner.replace(&doc, None, Vec::new()).await }).await
    }

    async fn versions(&self) -> Result<HashMap<String, String>, IndexError> {
        Ok(self.inner.store.versions().await?.into_iter().collect())
    }

    async fn search(&self, query: &IndexQuery) -> Result<Vec<IndexHit>, IndexError> {
        self.inner.search(query).await
    }

    async fn stats(&self) -> Result<IndexStats, IndexError> {
        let (chunks, documents) = self.inner.store.counts().await?;
        let model = self.inner.store.model().await?;
        Ok(IndexStats {
            chunks: usize::try_from(chunks).unwrap_or_default(),
            documents: usize::try_from(documents).unwrap_or_default(),
            model: model.as_ref().map(|(m, _)| m.clone()),
            dimension: model.map(|(_, d)| d),
        })
    }

    async fn clear(&self) -> Result<(), IndexError> {
        self.detached(|inner| async move { inner.clear().await }).await
    }

    async fn health(&self) -> Result<(), IndexError> {
        self.inner.store.ping().await
    }
}
