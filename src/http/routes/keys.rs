//! API keys for admins: `POST`/`GET /api/v1/keys`, `DELETE /api/v1/keys/{id}`,
//! `GET /api/v1/keys/{id}/usage`. The key itself is in the creation response only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::keys::{KeyUsage, NewKey, parse_expires_in, parse_scopes, reveal};
use crate::access::{Actor, AuditContext, Principal, audit};
use crate::http::guard::AdminCaller;
use crate::http::openapi::Problem;
use crate::http::openapi::schemas::{CreatedKey, KeyList};
use crate::http::{ApiError, AppJson, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke)).routes(routes!(usage))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    /// At least one of `chat`, `ingest`, `admin`.
    #[schema(value_type = Vec<crate::access::Scope>, min_items = 1, example = json!(["chat"]))]
    scopes: Vec<String>,
    /// A lifetime like `90d`: a number and `m`, `h`, `d` or `w` (1 minute to 10 years); absent
    /// for a key that does not expire.
    #[schema(pattern = "^[0-9]{1,6}[mhdw]$", example = "90d")]
    expires_in: Option<String>,
}

/// Creates an API key; its secret is in this response only.
#[utoipa::path(
    post, path = "/api/v1/keys", tag = "keys",
    request_body = CreateBody,
    responses((status = 201, description = "The key, with its secret.", body = CreatedKey)),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
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

/// Every API key, revoked ones included, without secrets.
#[utoipa::path(
    get, path = "/api/v1/keys", tag = "keys",
    responses((status = 200, description = "The keys.", body = KeyList)),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
async fn list(State(app): State<AppState>, _: AdminCaller) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({ "keys": app.access.list_keys().await? })))
}

/// Revokes a key: it stops working at once.
#[utoipa::path(
    delete, path = "/api/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such key.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
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

/// A key's requests and tokens so far.
#[utoipa::path(
    get, path = "/api/v1/keys/{id}/usage", tag = "keys",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The usage.", body = KeyUsage),
        (status = 404, description = "No such key.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
async fn usage(
    State(app): State<AppState>,
    _: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<KeyUsage>, ApiError> {
    Ok(Json(app.access.key_usage(&id).await?))
}
