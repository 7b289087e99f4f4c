//! API keys for admins: `POST`/`GET /api/v1/keys`, `DELETE /api/v1/keys/{id}`,
//! `GET /api/v1/keys/{id}/usage`. The key itself is in the creation response only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::access::keys::{KeyUsage, NewKey, parse_expires_in, parse_scopes, reveal};
use crate::access::{Actor, AuditContext, Principal, audit};
use crate::http::guard::AdminCaller;
use crate::http::{ApiError, AppJson, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route("/api/v1/keys/{id}", delete(revoke))
        .route("/api/v1/keys/{id}/usage", get(usage))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    scopes: Vec<String>,
    /// A lifetime like `90d`; absent for a key that does not expire.
    expires_in: Option<String>,
}

async fn create(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    audit: AuditContext,
    AppJson(body): AppJson<CreateBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let scopes = parse_scopes(body.scopes.iter().map(String::as_str))?;
    let expires_in = body.expires_in.as_deref().map(parse_expires_in).transpose()?;
    let created_by = match &admin {
        Principal::User { id, .. } => Some(id.clone()),
        _ => None,
    };
    let created = app.access.create_key(NewKey { name: body.name, scopes, expires_in, created_by }).await?;
    let details = json!({ "name": created.info.name, "scopes": created.info.scopes });
    app.access.audit(&audit, Actor::of(&admin), audit::KEY_CREATE, Some(&created.info.id), details).await?;
    let mut body = serde_json::to_value(&created.info).map_err(ApiError::internal)?;
    body["key"] = reveal(&created).into();
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(State(app): State<AppState>, _: AdminCaller) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({ "keys": app.access.list_keys().await? })))
}

async fn revoke(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.access.revoke_key(&id).await?;
    app.access.audit(&audit, Actor::of(&admin), audit::KEY_REVOKE, Some(&id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn usage(
    State(app): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<KeyUsage>, ApiError> {
    Ok(Json(app.access.key_usage(&id).await?))
}
