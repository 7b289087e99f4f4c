//! The caller's conversations (by [`crate::access::Principal::owner`]): list, read with
//! messages, delete. Another caller's conversation answers 404, exactly like a missing one;
//! admins see every conversation through `/api/v1/admin/conversations` only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::guard::ChatCaller;
use crate::http::openapi::Problem;
use crate::http::openapi::schemas::{ConversationList, ConversationWithMessages};
use crate::http::{ApiError, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(read, delete))
}

/// The caller's conversations, most recently updated first (at most 100).
#[utoipa::path(
    get, path = "/api/v1/conversations", tag = "conversations",
    responses((status = 200, description = "The conversations.", body = ConversationList)),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
async fn list(State(app): State<AppState>, ChatCaller(caller): ChatCaller) -> Result<Response, ApiError> {
    let conversations = app.db.conversations_of(&caller.owner(), 100).await.map_err(ApiError::internal)?;
    Ok(Json(json!({ "conversations": conversations })).into_response())
}

/// One of the caller's conversations with its messages, oldest first.
#[utoipa::path(
    get, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses(
        (status = 200, description = "The conversation.", body = ConversationWithMessages),
        (status = 404, description = "No such conversation of this caller.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
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

/// Deletes one of the caller's conversations and its messages.
#[utoipa::path(
    delete, path = "/api/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "The conversation's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such conversation of this caller.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
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
