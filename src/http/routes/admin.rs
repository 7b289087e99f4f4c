//! Admin-only reads across owners: `GET /api/v1/audit` (paginated, `?action=`),
//! `GET /api/v1/admin/conversations`, `GET /api/v1/admin/users` and
//! `PATCH /api/v1/admin/users/role` (`{"email", "role"}`).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::audit::AuditPage;
use crate::access::{Actor, AuditContext, Role};
use crate::http::guard::AdminCaller;
use crate::http::openapi::Problem;
use crate::http::openapi::schemas::{AdminConversationList, UserList};
use crate::http::routes::documents::MAX_PAGE;
use crate::http::{ApiError, AppJson, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(conversations))
        .routes(routes!(users))
        .routes(routes!(set_role))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only entries of this action, e.g. `auth.signin` or `key.create`.
    action: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Entries per page, 1-200 (50 when absent).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Paging {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Items per page, 1-200 (50 when absent).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

impl Paging {
    fn window(&self) -> Result<(i64, i64), ApiError> {
        let (page, per_page) = (self.page.unwrap_or(1), self.per_page.unwrap_or(50));
        if !(1..=MAX_PAGE).contains(&page) || !(1..=200).contains(&per_page) {
            return Err(ApiError::validation("page", "page is 1-1000000 and per_page is 1-200"));
        }
        Ok((page, per_page))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[schema(example = "reader@example.com")]
    email: String,
    #[schema(value_type = Role)]
    role: String,
}

const PAGING_422: &str = "`page` or `per_page` out of range (`validation_failed`).";

/// The audit log, newest first.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries.", body = AuditPage),
        (status = 422, description = "An unknown `action`, or `page`/`per_page` out of range (`validation_failed`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
async fn audit(
    State(app): State<AppState>,
    _: AdminCaller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let (page, per_page) = Paging { page: q.page, per_page: q.per_page }.window()?;
    let page = app.access.audit_page(q.action.as_deref(), page, per_page).await?;
    Ok(Json(page))
}

/// Every owner's conversations, most recently updated first.
#[utoipa::path(
    get, path = "/api/v1/admin/conversations", tag = "admin",
    params(Paging),
    responses(
        (status = 200, description = "A page of conversations.", body = AdminConversationList),
        (status = 422, description = PAGING_422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
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

/// The accounts.
#[utoipa::path(
    get, path = "/api/v1/admin/users", tag = "admin",
    params(Paging),
    responses(
        (status = 200, description = "A page of accounts.", body = UserList),
        (status = 422, description = PAGING_422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
async fn users(
    State(app): State<AppState>,
    _: AdminCaller,
    Query(paging): Query<Paging>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (page, per_page) = paging.window()?;
    let users = app.access.accounts(page, per_page).await?;
    Ok(Json(json!({ "users": users, "page": page, "per_page": per_page })))
}

/// Makes an account a reader or an admin.
#[utoipa::path(
    patch, path = "/api/v1/admin/users/role", tag = "admin",
    request_body = RoleBody,
    responses(
        (status = 204, description = "The role is set."),
        (status = 404, description = "No account with this e-mail address.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["admin"]), ("session" = [])),
)]
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
