//! The caller's conversations (by [`crate::access::Principal::owner`]): list, read with
//! messages, delete. Another caller's conversation answers 404, exactly like a missing one;
//! admins see every conversation through `/api/v1/admin/conversations` only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::http::guard::ChatCaller;
use crate::http::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", get(list))
        .route("/api/v1/conversations/{id}", get(read).delete(delete))
}

async fn list(State(app): State<AppState>, ChatCaller(caller): ChatCaller) -> Result<Response, ApiError> {
    let conversations = app.db.conversations_of(&caller.owner(), 100).await.map_err(ApiError::internal)?;
    Ok(Json(json!({ "conversations": conversations })).into_response())
}

async fn read(
    State(app): State<AppState>,
    ChatCaller(caller): ChatCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let conversation = app.db.conversation_of(&caller.owner(), &id).await.map_err(ApiError::internal)?;
    let conversation = conversation.ok_or_else(|| not_found(&id))?;
    let messages = app.db.messages_of(&id).await.map_err(ApiError::internal)?;
    let mut body = serde_json::to_value(conversation).map_err(ApiError::internal)?;
    body["messages"] = serde_json::to_value(messages).map_err(ApiError::internal)?;
    Ok(Json(body).into_response())
}

async fn delete(
    State(app): State<AppState>,
    ChatCaller(caller): ChatCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !app.db.delete_conversation(&caller.owner(), &id).await.map_err(ApiError::internal)? {
        return Err(not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no conversation {id}"))
}
