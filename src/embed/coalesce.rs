//! Coalescing of concurrent query embeddings: questions that arrive while the model is busy
//! wait in a queue and are embedded together in the next forward pass.
//!
//! The model runs one job at a time (see `local`), so without this sixteen concurrent
//! searches run sixteen one-query forward passes back to back. Packed into one pass they
//! share every weight-matrix read and keep the matrix kernels on their efficient path.
//! The first caller to find the queue empty dispatches it (on a spawned task, so a caller
//! that goes away cannot strand the others); whoever arrives before the dispatch is
//! admitted rides along, whoever arrives after starts the next batch. Hand-written because
//! it is twenty lines over a `Mutex<Vec<_>>` and a oneshot per caller; a batching crate
//! would bring its own executor assumptions.

use std::sync::Mutex;

use tokio::sync::oneshot;

use super::EmbedError;

/// Where one caller's vector is delivered.
pub type Reply = oneshot::Sender<Result<Vec<f32>, EmbedError>>;

/// Queries waiting for the next forward pass, as the model's token ids (each caller
/// tokenises its own question before queueing it, so the pass thread only runs the model).
#[derive(Debug, Default)]
pub struct QueryQueue {
    pending: Mutex<Vec<(Vec<u32>, Reply)>>,
}

impl QueryQueue {
    /// Enqueues the token ids `ids`; returns true when the caller found the queue empty and
    /// must dispatch it.
    pub fn push(&self, ids: Vec<u32>, reply: Reply) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.push((ids, reply));
        pending.len() == 1
    }

    /// Everything queued so far, leaving the queue empty for the next batch.
    pub fn take(&self) -> Vec<(Vec<u32>, Reply)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Delivers one batch's outcome to its callers, in order.
pub fn deliver(replies: Vec<Reply>, outcome: Result<Vec<Vec<f32>>, EmbedError>) {
    match outcome {
        Ok(vectors) => {
            for (reply, vector) in replies.into_iter().zip(vectors) {
                let _ = reply.send(Ok(vector));
            }
        }
        Err(err) => {
            let message = err.to_string();
            for reply in replies {
                let _ = reply.send(Err(EmbedError::Inference(message.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_caller_of_a_batch_dispatches_and_the_batch_keeps_arrival_order() {
        let queue = QueryQueue::default();
        let (a, _ra) = oneshot::channel();
        let (b, _rb) = oneshot::channel();
        assert!(queue.push(vec![101, 1], a));
        assert!(!queue.push(vec![101, 2], b));
        let batch: Vec<Vec<u32>> = queue.take().into_iter().map(|(ids, _)| ids).collect();
        assert_eq!(batch, [[101, 1], [101, 2]]);
        let (c, _rc) = oneshot::channel();
        assert!(queue.push(vec![101, 3], c), "an arrival after the take starts a new batch");
    }

    #[test]
    fn a_failed_batch_tells_every_caller() {
        let (a, mut ra) = oneshot::channel();
        let (b, mut rb) = oneshot::channel();
        deliver(vec![a, b], Err(EmbedError::Inference("boom".into())));
        assert!(ra.try_recv().unwrap().is_err());
        assert!(rb.try_recv().unwrap().is_err());
    }
}
