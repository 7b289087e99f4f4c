//! Admin-only reads across owners: `GET /api/v1/audit` (paginated, `?action=`),
//! `GET /api/v1/admin/conversations`, `GET /api/v1/admin/users` and
//! `PATCH /api/v1/admin/users/role` (`{"email", "role"}`).

use axum::extract::{Query, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::access::audit::AuditPage;
use crate::access::{Actor, AuditContext, Role};
use crate::http::guard::AdminCaller;
use crate::http::{ApiError, AppJson, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/admin/conversations", get(conversations))
        .route("/api/v1/admin/users", get(users))
        .route("/api/v1/admin/users/role", patch(set_role))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    action: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Paging {
    page: Option<i64>,
    per_page: Option<i64>,
}

impl Paging {
    fn window(&self) -> Result<(i64, i64), ApiError> {
        let (page, per_page) = (self.page.unwrap_or(1), self.per_page.unwrap_or(50));
        if page < 1 || !(1..=200).contains(&per_page) {
            return Err(ApiError::validation("page", "page starts at 1 and per_page is 1-200"));
        }
        Ok((page, per_page))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    email: String,
    role: String,
}

async fn audit(
    State(app): State<AppState>,
    _: AdminCaller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let page = app.access.audit_page(q.action.as_deref(), q.page.unwrap_or(1), q.per_page.unwrap_or(50)).await?;
    Ok(Json(page))
}

async fn conversations(
    State(app): State<AppState>,
    _: AdminCaller,
    Query(paging): Query<Paging>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (page, per_page) = paging.window()?;
    let found = app.db.all_conversations((page - 1) * per_page, per_page).await.map_err(ApiError::internal)?;
    let total = app.db.conversation_count().await.map_err(ApiError::internal)?;
    let conversations: Vec<_> = found
        .into_iter()
        .map(|c| {
            let owner = json!({ "kind": c.owner_kind, "id": if c.owner_kind == "anonymous" { None } else { Some(&c.owner_id) } });
            json!({ "id": c.id, "title": c.title, "owner": owner, "created_at": c.created_at, "updated_at": c.updated_at })
        })
        .collect();
    Ok(Json(json!({ "conversations": conversations, "page": page, "per_page": per_page, "total": total })))
}

async fn users(
    State(app): State<AppState>,
    _: AdminCaller,
    Query(paging): Query<Paging>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (page, per_page) = paging.window()?;
    let users = app.access.accounts(page, per_page).await?;
    Ok(Json(json!({ "users": users, "page": page, "per_page": per_page })))
}

async fn set_role(
    State(app): State<AppState>,
    AdminCaller(admin): AdminCaller,
    audit: AuditContext,
    AppJson(body): AppJson<RoleBody>,
) -> Result<axum::http::StatusCode, ApiError> {
    let role: Role = body.role.parse().map_err(|e: String| ApiError::validation("role", e))?;
    app.access.set_role(&body.email, role, &audit, Actor::of(&admin)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
