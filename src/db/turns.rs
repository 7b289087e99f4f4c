//! Chat turns' writes, committed in groups. Every turn writes twice (the reader's question,
//! then the answer), and a burst of readers sends dozens of such writes at once: one
//! transaction each meant four round trips to the connection and a commit apiece, queued one
//! behind another at SQLite's single writer. [`TurnLog`] hands its writes to one task that
//! takes whatever has queued and stores it in one transaction: one multi-row `INSERT` per
//! table and one `UPDATE`, whatever the batch's size. A batch that fails is retried write by
//! write, so a bad write (an append to a conversation deleted meanwhile) fails alone. Each
//! caller waits for the commit that holds its own write, so "written" still means committed.
//!
//! Hand-written because it is a queue and a loop: a batching crate would add a dependency
//! for what `mpsc::Receiver::recv_many` already does.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tokio::sync::{mpsc, oneshot};

use super::conversations::{ConversationRecord, NewMessage};
use super::{Db, DbError};
use crate::on_pool;

/// Writes committed together at most (nine bound values a message: far below either
/// dialect's limit on parameters).
const MAX_BATCH: usize = 64;

/// One message row to insert, owned so it can wait in the queue.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    pub citations: serde_json::Value,
    pub status: Option<String>,
    pub provider: Option<String>,
    pub latency_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
}

impl MessageRow {
    pub fn new(message: NewMessage<'_>, created_at: DateTime<Utc>) -> Self {
        Self {
            id: message.id.to_owned(),
            conversation_id: message.conversation_id.to_owned(),
            role: message.role.to_owned(),
            content: message.content.to_owned(),
            citations: message.citations,
            status: message.status.map(str::to_owned),
            provider: message.provider.map(str::to_owned),
            latency_ms: message.latency_ms,
            created_at,
        }
    }
}

/// One write of a turn.
#[derive(Debug, Clone)]
pub enum TurnWrite {
    /// A new conversation with its first message.
    Start { conversation: ConversationRecord, first: MessageRow },
    /// A message appended to an existing conversation (which it marks as active).
    Append(MessageRow),
}

impl TurnWrite {
    fn message(&self) -> &MessageRow {
        match self {
            Self::Start { first, .. } => first,
            Self::Append(message) => message,
        }
    }
}

impl Db {
    /// Stores `writes` in one transaction: all of them, or none.
    pub async fn write_turns(&self, writes: &[TurnWrite]) -> Result<(), DbError> {
        let Some(active_at) = writes.iter().map(|w| w.message().created_at).max() else { return Ok(()) };
        let started: Vec<&ConversationRecord> = writes
            .iter()
            .filter_map(|w| match w {
                TurnWrite::Start { conversation, .. } => Some(conversation),
                TurnWrite::Append(_) => None,
            })
            .collect();
        let appended: Vec<&str> = writes
            .iter()
            .filter_map(|w| match w {
                TurnWrite::Append(m) => Some(m.conversation_id.as_str()),
                TurnWrite::Start { .. } => None,
            })
            .collect();
        let messages: Vec<&MessageRow> = writes.iter().map(TurnWrite::message).collect();
        on_pool!(self, write "conversations.write_turns", pool => {
            let mut tx = pool.begin().await?;
            if !started.is_empty() {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO conversations (id, owner_kind, owner_id, title, created_at, updated_at) ",
                );
                insert.push_values(&started, |mut row, c| {
                    row.push_bind(&c.id).push_bind(&c.owner_kind).push_bind(&c.owner_id).push_bind(&c.title)
                        .push_bind(c.created_at).push_bind(c.updated_at);
                });
                insert.build().execute(&mut *tx).await?;
            }
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO messages (id, conversation_id, role, content, citations, status, provider, latency_ms, created_at) ",
            );
            insert.push_values(&messages, |mut row, m| {
                row.push_bind(&m.id).push_bind(&m.conversation_id).push_bind(&m.role).push_bind(&m.content)
                    .push_bind(Json(&m.citations)).push_bind(&m.status).push_bind(&m.provider)
                    .push_bind(m.latency_ms).push_bind(m.created_at);
            });
            insert.build().execute(&mut *tx).await?;
            if !appended.is_empty() {
                let mut update = sqlx::QueryBuilder::new("UPDATE conversations SET updated_at = ");
                update.push_bind(active_at).push(" WHERE id IN (");
                let mut ids = update.separated(", ");
                for id in &appended {
                    ids.push_bind(*id);
                }
                update.push(")");
                update.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

struct Pending {
    write: TurnWrite,
    done: oneshot::Sender<Result<(), DbError>>,
}

/// The queue of turn writes and its writer task (started on the first write). Cheap to clone.
#[derive(Debug, Clone)]
pub struct TurnLog {
    db: Db,
    queue: Arc<OnceLock<mpsc::UnboundedSender<Pending>>>,
}

impl TurnLog {
    pub fn new(db: Db) -> Self {
        Self { db, queue: Arc::default() }
    }

    /// Queues `write` at once; the future resolves when the transaction holding it has
    /// committed. Dropping the future does not withdraw the write.
    pub fn submit(&self, write: TurnWrite) -> impl Future<Output = Result<(), DbError>> + Send + 'static {
        let queue = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(run(self.db.clone(), receiver));
            sender
        });
        let (done, written) = oneshot::channel();
        let queued = queue.send(Pending { write, done }).map_err(|_| writer_gone());
        async move {
            queued?;
            written.await.map_err(|_| writer_gone())?
        }
    }
}

fn writer_gone() -> DbError {
    DbError::Query(sqlx::Error::WorkerCrashed)
}

/// The writer: each pass commits everything that queued while the previous one was writing.
async fn run(db: Db, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!("docent_db_batch_size", "operation" => "conversations.write_turns")
            .record(batch.len() as f64);
        let (writes, waiters): (Vec<TurnWrite>, Vec<_>) = batch.drain(..).map(|p| (p.write, p.done)).unzip();
        match db.write_turns(&writes).await {
            Ok(()) => waiters.into_iter().for_each(|done| drop(done.send(Ok(())))),
            Err(err) if writes.len() == 1 => {
                if let Some(done) = waiters.into_iter().next() {
                    let _ = done.send(Err(err));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, writes = writes.len(), "a batch of turn writes failed; retrying each alone");
                for (write, done) in writes.into_iter().zip(waiters) {
                    let _ = done.send(db.write_turns(std::slice::from_ref(&write)).await);
                }
            }
        }
    }
}
