//! Coalescing of concurrent dense scans: searches that need a full scan while another scan is
//! running wait in a queue and are scanned together in the next pass (`scan::top_n_many`).
//!
//! A lone scan of the matrix is bound by memory bandwidth, not arithmetic, so sixteen
//! concurrent searches scanning separately stream the matrix sixteen times and time-share the
//! cores. In one pass they stream it once, scoring each row against up to eight queries per
//! instruction sequence (`half::dot_many`). One pass runs at a time; a large one splits its
//! rows over the index's threads (measured on 2 cores, 32k rows: a pass for 16 queries takes
//! 5.2 ms on one thread and 2.8 ms on two, and the idle share of the machine under 16
//! concurrent searches fell from 23% to 13%). On CPUs with AMX the pass runs on tiles over
//! the int8 rows (`scan_amx`), on one thread at this size: 0.7 ms for one query, 1.0 ms for
//! three, 1.9 ms for sixteen; on CPUs with AVX2 but not AVX-512 it runs `scan_avx2`.
//! The first search to find the queue empty dispatches it; whoever arrives before the pass
//! starts rides along (the same scheme as the query embeddings, `embed::coalesce`). The
//! dispatcher yields once before taking the queue: the searches of one embedding pass get
//! their vectors at the same instant but arrive here one lexical search apart, and under
//! sixteen concurrent cold searches the yield took a pass from 3.9 to 6.4 queries on average
//! (1,107 → 1,169 searches/s, the same minutes).
//!
//! Consistency: each waiting search holds its own read guard of the state, and a writer cannot
//! take the lock while any read guard is alive, so every guard in one batch sees the same
//! state; the pass reads through the first one and hands each search its guard back.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedRwLockReadGuard, Semaphore, oneshot};

use super::dense::{DenseState, RowFilter};
use crate::index::IndexError;

type Guard = OwnedRwLockReadGuard<DenseState>;

/// A search's candidates and its guard, returned together.
pub type Scanned = (Vec<(i64, f32)>, Guard);

/// One search waiting for the next pass.
struct Pending {
    guard: Guard,
    vector: Vec<f32>,
    n: usize,
    filter: RowFilter,
    reply: oneshot::Sender<Scanned>,
}

/// The queue and the one-pass-at-a-time gate.
pub struct ScanQueue {
    pending: Mutex<Vec<Pending>>,
    gate: Arc<Semaphore>,
}

impl std::fmt::Debug for ScanQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanQueue").finish_non_exhaustive()
    }
}

impl ScanQueue {
    /// A queue running one pass at a time.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { pending: Mutex::default(), gate: Arc::new(Semaphore::new(1)) })
    }

    /// Scans for `vector` (the best `n` rows within `filter`, which must be
    /// [`RowFilter::batchable`]) together with whatever other searches are waiting.
    pub async fn scan(
        self: &Arc<Self>,
        guard: Guard,
        vector: Vec<f32>,
        n: usize,
        filter: RowFilter,
        threads: usize,
    ) -> Result<Scanned, IndexError> {
        let (reply, answer) = oneshot::channel();
        let first = {
            let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            pending.push(Pending { guard, vector, n, filter, reply });
            pending.len() == 1
        };
        if first {
            let queue = Arc::clone(self);
            tokio::spawn(async move { queue.dispatch(threads).await });
        }
        answer.await.map_err(|_| IndexError::Task("the dense scan was dropped".into()))
    }

    /// Waits for the gate, then scans everything queued on the blocking pool.
    async fn dispatch(self: Arc<Self>, threads: usize) {
        let Ok(permit) = Arc::clone(&self.gate).acquire_owned().await else { return };
        // Searches whose question vectors arrived together (one embedding pass delivers them
        // all at once) reach this queue one lexical search apart; yielding once lets those
        // already woken on this worker join the pass instead of the next one.
        tokio::task::yield_now().await;
        let batch: Vec<Pending> = {
            let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::take(&mut *pending)
        };
        if batch.is_empty() {
            return;
        }
        tokio::task::spawn_blocking(move || {
            run(batch, threads);
            drop(permit);
        });
    }
}

/// One pass for the whole batch; a lone search uses the single-query scan (which is itself a
/// pass of one on tiles).
fn run(batch: Vec<Pending>, threads: usize) {
    metrics::histogram!("docent_dense_scan_batch_queries").record(batch.len() as f64);
    let results = match batch.as_slice() {
        [one] => vec![one.guard.search(&one.vector, one.n, one.filter, threads)],
        many => {
            let queries: Vec<(&[f32], usize, RowFilter)> =
                many.iter().map(|p| (p.vector.as_slice(), p.n, p.filter)).collect();
            many[0].guard.search_many(&queries, threads)
        }
    };
    for (pending, found) in batch.into_iter().zip(results) {
        let _ = pending.reply.send((found, pending.guard));
    }
}
