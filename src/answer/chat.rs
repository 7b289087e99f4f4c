//! A chat turn inside a conversation: load the owner's conversation (or start one), record the
//! question, answer it with the earlier turns as context (streamed or whole), record the answer.
//!
//! The question's write runs beside the answer rather than before it: it is queued on the
//! [`TurnLog`](crate::db::turns::TurnLog), which commits concurrent turns' writes together
//! (so a reader who leaves cannot cut it short), while retrieval and generation start; the
//! answer is recorded only once the question is. On SQLite writers take turns, so a burst of
//! fifty new questions used to hold the fiftieth reader's first words behind forty-nine
//! transactions; now no reader waits on another's write before the answer starts. A failed
//! question write fails the turn (an error event, nothing recorded for the answer). The turn's
//! `done` comes only after the question is stored, so a follow-up sent after `done` always
//! finds its conversation; one sent between `meta` and `done` may race the first write.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use futures::future::{BoxFuture, Shared};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use super::{Answer, AnswerError, AnswerEvent, AnswerRequest, AnswerService};
use crate::db::DbError;
use crate::db::conversations::{ConversationRecord, NewMessage, Owner};
use crate::db::turns::{MessageRow, TurnWrite};
use crate::llm::{ChatMessage, Role};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Absent, or another owner's. → 404.
    #[error("no conversation {0}")]
    ConversationNotFound(String),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The question's write failed; the answer is not recorded either.
    #[error("recording the question failed")]
    QuestionNotRecorded(#[source] Arc<DbError>),
}

/// The question's write in flight, awaited (by any clone) before the answer is recorded.
type Saving = Shared<BoxFuture<'static, Result<(), Arc<DbError>>>>;

/// A started turn: the question's write is under way, the answer's id reserved.
#[derive(Clone)]
pub struct Turn {
    pub conversation_id: String,
    pub message_id: String,
    history: Vec<ChatMessage>,
    saving: Saving,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("conversation_id", &self.conversation_id)
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// A finished turn.
#[derive(Debug, Clone)]
pub struct ChatReply {
    pub conversation_id: String,
    pub message_id: String,
    pub answer: Answer,
}

impl AnswerService {
    /// Opens (or creates) the owner's conversation and starts recording the question.
    pub async fn begin_turn(
        &self,
        owner: &Owner,
        conversation_id: Option<&str>,
        message: &str,
    ) -> Result<Turn, ChatError> {
        let (conversation_id, history, saving) = match conversation_id {
            Some(id) => {
                let conversation = self.db.conversation_of(owner, id).await?;
                let conversation = conversation.ok_or_else(|| ChatError::ConversationNotFound(id.to_owned()))?;
                let history = self.history(id).await?;
                let saving = self.save_question(None, &conversation.id, message);
                (conversation.id, history, saving)
            }
            None => {
                // A new conversation and its first question: one transaction.
                let id = new_id();
                let title: String = message.chars().take(80).collect();
                let saving = self.save_question(Some((owner.clone(), title)), &id, message);
                (id, Vec::new(), saving)
            }
        };
        Ok(Turn { conversation_id, message_id: new_id(), history, saving })
    }

    /// Queues the question's write: with `new` (owner, title) it also creates the conversation.
    fn save_question(&self, new: Option<(Owner, String)>, conversation_id: &str, message: &str) -> Saving {
        let id = new_id();
        let question = NewMessage::user(&id, conversation_id, message);
        let write = match new {
            Some((owner, title)) => {
                let conversation = ConversationRecord::new(conversation_id, &owner, &title);
                TurnWrite::Start { first: MessageRow::new(question, conversation.created_at), conversation }
            }
            None => TurnWrite::Append(MessageRow::new(question, Utc::now())),
        };
        self.turns.submit(write).map(|written| written.map_err(Arc::new)).boxed().shared()
    }

    /// Answers the turn's question and records the answer.
    pub async fn finish_turn(&self, turn: Turn, request: AnswerRequest) -> Result<ChatReply, ChatError> {
        let (conversation_id, message_id) = (turn.conversation_id.clone(), turn.message_id.clone());
        let mut events = self.stream_turn(turn, request).await?;
        while let Some(event) = events.next().await {
            if let AnswerEvent::Done(answer) = event? {
                return Ok(ChatReply { conversation_id, message_id, answer: *answer });
            }
        }
        Err(ChatError::Answer(AnswerError::Llm(crate::llm::LlmError::Malformed {
            provider: "answer".into(),
            message: "the answer stream ended without an answer".into(),
        })))
    }

    /// Answers the turn's question as a stream of events; the answer is recorded when its
    /// `Done` event passes (a reader who leaves early cancels it, and nothing is recorded).
    pub async fn stream_turn(
        &self,
        turn: Turn,
        mut request: AnswerRequest,
    ) -> Result<BoxStream<'static, Result<AnswerEvent, ChatError>>, ChatError> {
        let started = Instant::now();
        request.history = turn.history.clone();
        let events = self.answer_stream(request).await?;
        let service = self.clone();
        Ok(events
            .then(move |event| {
                let (service, turn) = (service.clone(), turn.clone());
                async move {
                    if let Ok(AnswerEvent::Done(answer)) = &event {
                        service.record(&turn, answer, started).await?;
                    }
                    Ok(event?)
                }
            })
            .boxed())
    }

    async fn record(&self, turn: &Turn, answer: &Answer, started: Instant) -> Result<(), ChatError> {
        turn.saving.clone().await.map_err(ChatError::QuestionNotRecorded)?;
        let citations = serde_json::to_value(&answer.citations).unwrap_or_default();
        let answer = NewMessage {
            id: &turn.message_id,
            conversation_id: &turn.conversation_id,
            role: "assistant",
            content: &answer.answer,
            citations,
            status: Some(answer.status.as_str()),
            provider: Some(&answer.provider),
            latency_ms: Some(started.elapsed().as_millis().min(i32::MAX as u128) as i32),
        };
        self.turns.submit(TurnWrite::Append(MessageRow::new(answer, Utc::now()))).await?;
        Ok(())
    }

    async fn history(&self, conversation_id: &str) -> Result<Vec<ChatMessage>, ChatError> {
        let messages = self.db.messages_of(conversation_id).await?;
        let skip = messages.len().saturating_sub(self.history_turns * 2);
        let turn = |m: &crate::db::conversations::MessageRecord| ChatMessage {
            role: if m.role == "user" { Role::User } else { Role::Assistant },
            content: m.content.clone(),
        };
        Ok(messages.iter().skip(skip).map(turn).collect())
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
