//! Conversations and their messages, always reached through their owner: a conversation of
//! another owner is indistinguishable from one that does not exist.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::turns::{MessageRow, TurnWrite};
use super::{Db, DbError};
use crate::on_pool;

/// Who a conversation belongs to: `anonymous` (a session cookie), `user` or `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: &'static str,
    pub id: String,
}

impl Owner {
    pub fn anonymous(id: impl Into<String>) -> Self {
        Self { kind: "anonymous", id: id.into() }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ConversationRecord {
    pub id: String,
    #[serde(skip)]
    pub owner_kind: String,
    #[serde(skip)]
    pub owner_id: String,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConversationRecord {
    /// A conversation of `owner` starting now.
    pub fn new(id: &str, owner: &Owner, title: &str) -> Self {
        let now = Utc::now();
        Self {
            id: id.to_owned(),
            owner_kind: owner.kind.to_owned(),
            owner_id: owner.id.clone(),
            title: Some(title.to_owned()),
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MessageRecord {
    pub id: String,
    #[serde(skip)]
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    /// The citations shown with an assistant message (`[]` for the reader's own).
    #[schema(value_type = Vec<crate::answer::Citation>)]
    pub citations: Json<serde_json::Value>,
    pub status: Option<String>,
    pub provider: Option<String>,
    pub latency_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub conversation_id: &'a str,
    pub role: &'a str,
    pub content: &'a str,
    pub citations: serde_json::Value,
    pub status: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub latency_ms: Option<i32>,
}

impl<'a> NewMessage<'a> {
    /// A reader's message: no citations, status, provider or latency.
    pub fn user(id: &'a str, conversation_id: &'a str, content: &'a str) -> Self {
        Self {
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
}

const CONVERSATION_COLUMNS: &str = "id, owner_kind, owner_id, title, created_at, updated_at";
const MESSAGE_COLUMNS: &str = "id, conversation_id, role, content, citations, status, provider, latency_ms, created_at";

impl Db {
    pub async fn create_conversation(&self, owner: &Owner, title: &str) -> Result<ConversationRecord, DbError> {
        let record = ConversationRecord::new(&uuid::Uuid::now_v7().to_string(), owner, title);
        on_pool!(self, write "conversations.create_conversation", pool => sqlx::query(
            "INSERT INTO conversations (id, owner_kind, owner_id, title, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&record.id).bind(&record.owner_kind).bind(&record.owner_id).bind(&record.title)
        .bind(record.created_at).bind(record.updated_at)
        .execute(pool).await.map(|_| ()))?;
        Ok(record)
    }

    /// Creates a conversation together with its first message, in one transaction (one
    /// commit instead of two on the path of every new chat).
    pub async fn start_conversation(
        &self,
        owner: &Owner,
        title: &str,
        first: NewMessage<'_>,
    ) -> Result<ConversationRecord, DbError> {
        let record = ConversationRecord::new(first.conversation_id, owner, title);
        let first = MessageRow::new(first, record.created_at);
        self.write_turns(&[TurnWrite::Start { conversation: record.clone(), first }]).await?;
        Ok(record)
    }

    /// The conversation if it exists and belongs to `owner`.
    pub async fn conversation_of(&self, owner: &Owner, id: &str) -> Result<Option<ConversationRecord>, DbError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND owner_kind = $2 AND owner_id = $3"
        );
        Ok(
            on_pool!(self, "conversations.conversation_of", pool => sqlx::query_as(&sql).bind(id).bind(owner.kind).bind(&owner.id).fetch_optional(pool).await?),
        )
    }

    /// The owner's conversations, most recently active first.
    pub async fn conversations_of(&self, owner: &Owner, limit: i64) -> Result<Vec<ConversationRecord>, DbError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE owner_kind = $1 AND owner_id = $2 \
             ORDER BY updated_at DESC LIMIT $3"
        );
        Ok(
            on_pool!(self, "conversations.conversations_of", pool => sqlx::query_as(&sql).bind(owner.kind).bind(&owner.id).bind(limit).fetch_all(pool).await?),
        )
    }

    /// Deletes the owner's conversation (and by cascade its messages). Returns whether it existed.
    pub async fn delete_conversation(&self, owner: &Owner, id: &str) -> Result<bool, DbError> {
        let done = on_pool!(self, write "conversations.delete_conversation", pool => sqlx::query(
            "DELETE FROM conversations WHERE id = $1 AND owner_kind = $2 AND owner_id = $3",
        )
        .bind(id).bind(owner.kind).bind(&owner.id).execute(pool).await?.rows_affected());
        Ok(done > 0)
    }

    /// Moves every conversation of `from` to `to` (an anonymous reader's history to the account
    /// they signed in with). Returns how many moved.
    pub async fn transfer_conversations(&self, from: &Owner, to: &Owner) -> Result<u64, DbError> {
        Ok(on_pool!(self, write, pool => sqlx::query(
            "UPDATE conversations SET owner_kind = $1, owner_id = $2 WHERE owner_kind = $3 AND owner_id = $4",
        )
        .bind(to.kind).bind(&to.id).bind(from.kind).bind(&from.id).execute(pool).await?.rows_affected()))
    }

    /// Every owner's conversations, most recently active first (for admins).
    pub async fn all_conversations(&self, offset: i64, limit: i64) -> Result<Vec<ConversationRecord>, DbError> {
        let sql =
            format!("SELECT {CONVERSATION_COLUMNS} FROM conversations ORDER BY updated_at DESC, id LIMIT $1 OFFSET $2");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(limit).bind(offset).fetch_all(pool).await?))
    }

    pub async fn conversation_count(&self) -> Result<i64, DbError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM conversations").fetch_one(pool).await?))
    }

    /// Appends a message and marks the conversation active.
    pub async fn append_message(&self, message: NewMessage<'_>) -> Result<(), DbError> {
        self.write_turns(&[TurnWrite::Append(MessageRow::new(message, Utc::now()))]).await
    }

    /// A conversation's messages, oldest first.
    pub async fn messages_of(&self, conversation_id: &str) -> Result<Vec<MessageRecord>, DbError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY created_at, id");
        Ok(
            on_pool!(self, "conversations.messages_of", pool => sqlx::query_as(&sql).bind(conversation_id).fetch_all(pool).await?),
        )
    }
}
