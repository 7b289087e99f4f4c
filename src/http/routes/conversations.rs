//! The reader's conversations: list, read with messages, delete. Another reader's
//! conversation answers 404, exactly like a missing one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::http::session::AnonSession;
use crate::http::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", get(list))
        .route("/api/v1/conversations/{id}", get(read).delete(delete))
}

async fn list(State(app): State<AppState>, session: AnonSession) -> Result<Response, ApiError> {
    let conversations = app.db.conversations_of(&session.owner, 100).await.map_err(ApiError::internal)?;
    Ok(session.attach(Json(json!({ "conversations": conversations }))))
}

async fn read(State(app): State<AppState>, session: AnonSession, Path(id): Path<String>) -> Result<Response, ApiError> {
    let conversation = app.db.conversation_of(&session.owner, &id).await.map_err(ApiError::internal)?;
    let conversation = conversation.ok_or_else(|| not_found(&id))?;
    let messages = app.db.messages_of(&id).await.map_err(ApiError::internal)?;
    let mut body = serde_json::to_value(conversation).map_err(ApiError::internal)?;
    body["messages"] = serde_json::to_value(messages).map_err(ApiError::internal)?;
    Ok(session.attach(Json(body)))
}

async fn delete(
    State(app): State<AppState>,
    session: AnonSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !app.db.delete_conversation(&session.owner, &id).await.map_err(ApiError::internal)? {
        return Err(not_found(&id));
    }
    Ok(session.attach(StatusCode::NO_CONTENT))
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no conversation {id}"))
}
