//! Schemas of the bodies handlers build with `json!` rather than a typed struct, and of the
//! RFC 9457 problem every error is written as. They describe the wire format only; the types
//! that are serialised directly (search results, answers, documents…) derive `ToSchema`
//! themselves, so their schema cannot drift from what is sent. Schemathesis checks every
//! response against these in `make test`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::accounts::Account;
use crate::access::keys::KeyInfo;
use crate::db::conversations::{ConversationRecord, MessageRecord};
use crate::db::documents::DocumentRecord;

/// An RFC 9457 problem (`application/problem+json`): the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:docent:problem:not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "no document 0191d5c8",
    "code": "not_found",
    "request_id": "0191d5c8-6f1e-7c3a-9b1e-2f4f2a1c9d10"
}))]
pub struct Problem {
    /// `urn:docent:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase, e.g. `Not Found`.
    pub title: String,
    /// The HTTP status code, repeated.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong, for a human. Never reveals internals on 5xx.
    pub detail: String,
    /// Stable machine-readable code to switch on, e.g. `validation_failed`, `rate_limited`.
    pub code: String,
    /// The request id, also in the `X-Request-Id` response header; quote it in bug reports.
    pub request_id: String,
    /// The fields that failed validation (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// One field that failed validation.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name, dotted for nested ones (`profile.background`).
    pub field: String,
    pub message: String,
}

/// `GET /health/live`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    #[schema(inline)]
    pub status: LiveStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LiveStatus {
    Alive,
}

/// `GET /health/ready`: `ready` (200), else `draining` or `database_unavailable` (503).
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(inline)]
    pub status: ReadyStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    Ready,
    Draining,
    DatabaseUnavailable,
}

/// A page of documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub documents: Vec<DocumentRecord>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// An upload accepted as a background ingestion job; poll `location`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAccepted {
    pub job_id: String,
    #[schema(inline)]
    pub status: Queued,
    /// `/api/v1/jobs/{job_id}`, also in the `Location` header.
    pub location: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Queued {
    Queued,
}

/// A document upload as a multipart form.
#[derive(Debug, Serialize, ToSchema)]
pub struct MultipartUpload {
    /// The file: Markdown, MDX, HTML, text or PDF.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
    /// `markdown`, `mdx`, `html`, `text` or `pdf`; guessed from the file name when absent.
    pub format: Option<String>,
    pub title: Option<String>,
    /// Where readers find the original (used in citation links).
    pub url: Option<String>,
    /// The document's path in the book, e.g. `guide/intro.md`; the file name when absent.
    pub path: Option<String>,
}

/// The caller's conversations, most recently updated first (at most 100).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationRecord>,
}

/// A conversation with its messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationWithMessages {
    #[serde(flatten)]
    pub conversation: ConversationRecord,
    pub messages: Vec<MessageRecord>,
}

/// Every owner's conversations (admin view).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminConversationList {
    pub conversations: Vec<OwnedConversation>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnedConversation {
    pub id: String,
    pub title: Option<String>,
    pub owner: ConversationOwner,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who owns a conversation: `anonymous` (no id is shown), `user` or `key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationOwner {
    pub kind: String,
    pub id: Option<String>,
}

/// A page of accounts (admin view).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<Account>,
    pub page: i64,
    pub per_page: i64,
}

/// The account just signed up or in; the `docent_session` cookie is set with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStarted {
    pub user: Account,
    /// Send as `X-CSRF-Token` on unsafe requests authenticated by the session cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    /// Conversations of the anonymous reader moved to the account.
    #[schema(minimum = 0)]
    pub claimed_conversations: u64,
}

/// The signed-in account. `expires_at` is present when a password change started a new
/// session (whose cookie is set with the response).
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: Account,
    pub csrf_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The API keys, revoked ones included; never their secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

/// A key just created, with its secret: shown this once only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    /// `dk_<id>_<secret>`: send as `Authorization: Bearer <key>`.
    pub key: String,
}

/// One server-sent event of a streamed answer (`text/event-stream`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatEvent {
    #[schema(inline)]
    pub event: ChatEventName,
    /// JSON text: `meta` `{conversation_id, message_id}`; `delta` `{text}`; `citation` a
    /// `Citation`; `done` a `ChatResponse`; `error` a `Problem`.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// The events in order: `meta`, `delta`…, `citation`…, then `done` or `error`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatEventName {
    Meta,
    Delta,
    Citation,
    Done,
    Error,
}
