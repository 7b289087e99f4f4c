//! Accounts: `POST /api/v1/auth/signup`, `/signin`, `/signout`, `GET`/`PATCH /api/v1/auth/me`.
//! Sign-up and sign-in set the `docent_session` cookie and return the account with its
//! `csrf_token`; they also move the anonymous reader's conversations to the account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::accounts::{AccountUpdate, Profile, SignedIn as Session, SigninContext, Signup};
use crate::access::sessions::{ClientInfo, NewSession};
use crate::access::{Actor, AuditContext, Principal, audit};
use crate::http::access::{clear_session_cookie, session_cookie};
use crate::http::guard::SignedIn;
use crate::http::openapi::Problem;
use crate::http::openapi::schemas::{Me, SessionStarted};
use crate::http::{ApiError, AppJson, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(signin))
        .routes(routes!(signout))
        .routes(routes!(me, update_me))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SignupBody {
    #[schema(format = Email, example = "reader@example.com")]
    email: String,
    /// 10-128 characters, not the e-mail address, not a commonly used password.
    #[schema(min_length = 10, max_length = 128)]
    password: String,
    name: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SigninBody {
    #[schema(example = "reader@example.com")]
    email: String,
    password: String,
}

/// Changes to the account; a password change needs `current_password` and ends every other
/// session.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MeBody {
    name: Option<String>,
    profile: Option<Profile>,
    current_password: Option<String>,
    new_password: Option<String>,
}

fn context(principal: &Principal, headers: &HeaderMap, audit: AuditContext) -> SigninContext {
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let anonymous = match principal {
        Principal::Anonymous { session } => Some(session.clone()),
        _ => None,
    };
    SigninContext { client: ClientInfo { ip: audit.ip, user_agent }, audit, anonymous }
}

/// The account and session as JSON, with the session cookie.
fn signed_in(app: &AppState, status: StatusCode, session: Session) -> Response {
    let body = json!({
        "user": session.account,
        "csrf_token": session.session.csrf_token,
        "expires_at": session.session.expires_at,
        "claimed_conversations": session.claimed_conversations,
    });
    with_cookie(app, &session.session, (status, Json(body)).into_response())
}

fn with_cookie(app: &AppState, session: &NewSession, mut response: Response) -> Response {
    if let Some(cookie) = session_cookie(&app.settings, session) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Creates a reader account and signs it in (sets the `docent_session` cookie).
#[utoipa::path(
    post, path = "/api/v1/auth/signup", tag = "auth",
    request_body = SignupBody,
    responses(
        (status = 201, description = "Signed up and in.", body = SessionStarted,
            headers(("Set-Cookie" = String, description = "The `docent_session` cookie."))),
        (status = 409, description = "The e-mail address is taken (`conflict`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
async fn signup(
    State(app): State<AppState>,
    (principal, audit): (Principal, AuditContext),
    headers: HeaderMap,
    AppJson(body): AppJson<SignupBody>,
) -> Result<Response, ApiError> {
    let ctx = context(&principal, &headers, audit);
    let request = Signup { email: body.email, password: body.password, name: body.name, profile: body.profile };
    let session = app.access.signup(request, &ctx).await?;
    Ok(signed_in(&app, StatusCode::CREATED, session))
}

/// Signs in with e-mail and password (sets the `docent_session` cookie).
#[utoipa::path(
    post, path = "/api/v1/auth/signin", tag = "auth",
    request_body = SigninBody,
    responses(
        (status = 200, description = "Signed in.", body = SessionStarted,
            headers(("Set-Cookie" = String, description = "The `docent_session` cookie."))),
        (status = 401, description = "Wrong e-mail or password (`invalid_credentials`).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for this account or address (`signin_throttled`), or the rate limit is spent (`rate_limited`).", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
    security(()),
)]
async fn signin(
    State(app): State<AppState>,
    (principal, audit): (Principal, AuditContext),
    headers: HeaderMap,
    AppJson(body): AppJson<SigninBody>,
) -> Result<Response, ApiError> {
    let ctx = context(&principal, &headers, audit);
    let session = app.access.signin(&body.email, body.password, &ctx).await?;
    Ok(signed_in(&app, StatusCode::OK, session))
}

/// Ends the session and clears its cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/signout", tag = "auth",
    responses(
        (status = 204, description = "Signed out.", headers(("Set-Cookie" = String, description = "Clears `docent_session`."))),
        (status = 401, description = "Not signed in with a session (`unauthenticated`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])),
)]
async fn signout(State(app): State<AppState>, user: SignedIn, audit: AuditContext) -> Result<Response, ApiError> {
    app.access.end_session(&user.session.session_id).await?;
    app.access.audit(&audit, Actor::user(&user.user_id), audit::SIGNOUT, Some(&user.user_id), json!({})).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = clear_session_cookie(&app.settings) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The signed-in account and the session's CSRF token.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The account.", body = Me),
        (status = 401, description = "Not signed in with a session (`unauthenticated`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])),
)]
async fn me(State(app): State<AppState>, user: SignedIn) -> Result<Json<serde_json::Value>, ApiError> {
    let account = app.access.account(&user.user_id).await?;
    Ok(Json(json!({ "user": account, "csrf_token": user.session.csrf_token })))
}

/// Updates the name, profile or password of the signed-in account.
#[utoipa::path(
    patch, path = "/api/v1/auth/me", tag = "auth",
    request_body = MeBody,
    responses(
        (status = 200, description = "The updated account; after a password change, a new session (cookie set).", body = Me),
        (status = 401, description = "Not signed in with a session, or a wrong `current_password`.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])),
)]
async fn update_me(
    State(app): State<AppState>,
    (user, principal, audit): (SignedIn, Principal, AuditContext),
    headers: HeaderMap,
    AppJson(body): AppJson<MeBody>,
) -> Result<Response, ApiError> {
    let ctx = context(&principal, &headers, audit);
    let update = AccountUpdate {
        name: body.name,
        profile: body.profile,
        current_password: body.current_password,
        new_password: body.new_password,
    };
    let (account, new_session) = app.access.update_account(&user.user_id, update, &ctx).await?;
    let Some(session) = new_session else {
        return Ok(Json(json!({ "user": account, "csrf_token": user.session.csrf_token })).into_response());
    };
    let body = json!({ "user": account, "csrf_token": session.csrf_token, "expires_at": session.expires_at });
    Ok(with_cookie(&app, &session, Json(body).into_response()))
}
