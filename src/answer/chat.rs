//! A chat turn inside a conversation: load the owner's conversation (or start one), record the
//! question, answer it with the earlier turns as context (streamed or whole), record the answer.

use std::time::Instant;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::{Answer, AnswerError, AnswerEvent, AnswerRequest, AnswerService};
use crate::db::DbError;
use crate::db::conversations::{NewMessage, Owner};
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
}

/// A started turn: the question is recorded, the answer's id reserved.
#[derive(Debug, Clone)]
pub struct Turn {
    pub conversation_id: String,
    pub message_id: String,
    history: Vec<ChatMessage>,
}

/// A finished turn.
#[derive(Debug, Clone)]
pub struct ChatReply {
    pub conversation_id: String,
    pub message_id: String,
    pub answer: Answer,
}

impl AnswerService {
    /// Opens (or creates) the owner's conversation and records the question.
    pub async fn begin_turn(
        &self,
        owner: &Owner,
        conversation_id: Option<&str>,
        message: &str,
    ) -> Result<Turn, ChatError> {
        let user_message = new_id();
        let (conversation_id, history) = match conversation_id {
            Some(id) => {
                let conversation = self.db.conversation_of(owner, id).await?;
                let conversation = conversation.ok_or_else(|| ChatError::ConversationNotFound(id.to_owned()))?;
                let history = self.history(id).await?;
                self.db.append_message(question(&user_message, &conversation.id, message)).await?;
                (conversation.id, history)
            }
            None => {
                // A new conversation and its first question: one transaction.
                let title: String = message.chars().take(80).collect();
                let id = new_id();
                self.db.start_conversation(owner, &title, question(&user_message, &id, message)).await?;
                (id, Vec::new())
            }
        };
        Ok(Turn { conversation_id, message_id: new_id(), history })
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
        let citations = serde_json::to_value(&answer.citations).unwrap_or_default();
        self.db
            .append_message(NewMessage {
                id: &turn.message_id,
                conversation_id: &turn.conversation_id,
                role: "assistant",
                content: &answer.answer,
                citations,
                status: Some(answer.status.as_str()),
                provider: Some(&answer.provider),
                latency_ms: Some(started.elapsed().as_millis().min(i32::MAX as u128) as i32),
            })
            .await?;
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

/// The row of a reader's question.
fn question<'a>(id: &'a str, conversation_id: &'a str, content: &'a str) -> NewMessage<'a> {
    NewMessage {
        id,
        conversation_id,
        role: "user",
        content,
        citations: serde_json::json!([]),
        status: None,
        provider: None,
        latency_ms: None,
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
