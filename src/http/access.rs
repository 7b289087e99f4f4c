//! The access edge: [`resolve`] turns every request into a [`Principal`] before its handler runs
//! — `Authorization: Bearer dk_<id>_<secret>` (invalid → 401), else the `docent_session` cookie
//! (ended → no session), else the anonymous `docent_anon` cookie (set when absent) — and puts it
//! in the request extensions with the [`ClientIp`] and, for a session, the [`SessionCsrf`] data.
//! Unsafe methods authenticated by the session cookie must come from an allowed `Origin` or carry
//! the session's `X-CSRF-Token`. Bearer-key requests are exempt (no ambient credentials).

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::session::COOKIE as ANON_COOKIE;
use super::{ApiError, AppState};
use crate::access::sessions::{NewSession, constant_time_eq};
use crate::access::{AccessError, Principal};
use crate::config::Settings;

pub const SESSION_COOKIE: &str = "docent_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The client's address, in request extensions. Derived by [`client_ip`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The signed-in session behind a request, in request extensions (absent for keys and anonymous).
#[derive(Debug, Clone)]
pub struct SessionCsrf {
    pub session_id: String,
    pub csrf_token: String,
}

/// Middleware: resolves the principal, enforces CSRF, sets or clears cookies.
pub async fn resolve(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = super::client_ip::client_ip(&req, &app.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    if req.uri().path().starts_with("/health") {
        return next.run(req).await;
    }
    let mut cookies: Vec<HeaderValue> = Vec::new();
    let principal = match authenticate(&app, &mut req, &mut cookies).await {
        Ok(principal) => principal,
        Err(err) => return err.into_response(),
    };
    if let Some(session) = req.extensions().get::<SessionCsrf>()
        && !is_safe(req.method())
        && !csrf_allowed(&app.settings, req.headers(), session)
    {
        return ApiError::CsrfRejected.into_response();
    }
    req.extensions_mut().insert(principal);
    let mut response = next.run(req).await;
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn authenticate(
    app: &AppState,
    req: &mut Request,
    cookies: &mut Vec<HeaderValue>,
) -> Result<Principal, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        let token =
            token.ok_or(ApiError::InvalidCredentials("send the API key as Authorization: Bearer dk_…".into()))?;
        return app.access.authenticate_key(token).await.map_err(ApiError::from);
    }
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        match app.access.resolve_session(&token).await.map_err(ApiError::from)? {
            Some(session) => {
                let csrf = SessionCsrf { session_id: session.id, csrf_token: session.csrf_token };
                req.extensions_mut().insert(csrf);
                return Ok(Principal::User { id: session.user_id, role: session.role });
            }
            None => cookies.extend(clear_session_cookie(&app.settings)),
        }
    }
    let anon = cookie(req.headers(), ANON_COOKIE).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let session = match anon {
        Some(id) => id.to_ascii_lowercase(),
        None => {
            let id = hex::encode(rand::random::<[u8; 32]>());
            let secure = if app.settings.secure_cookies() { "; Secure" } else { "" };
            let cookie = format!("{ANON_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}");
            cookies.extend(HeaderValue::from_str(&cookie).ok());
            id
        }
    };
    Ok(Principal::Anonymous { session })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// An exact `Origin` listed in `CORS_ORIGINS` (`*` does not count), or the session's CSRF token.
fn csrf_allowed(settings: &Settings, headers: &HeaderMap, session: &SessionCsrf) -> bool {
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| settings.security.cors_origins.iter().any(|o| o != "*" && o == origin));
    let token_ok = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| constant_time_eq(t, &session.csrf_token));
    origin_ok || token_ok
}

/// The value of a cookie in the request's Cookie headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for a new session: HttpOnly, the configured SameSite, Secure when configured.
pub fn session_cookie(settings: &Settings, session: &NewSession) -> Option<HeaderValue> {
    use secrecy::ExposeSecret;
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite={}; Max-Age={max_age}{}",
        session.token.expose_secret(),
        settings.access.same_site.as_str(),
        if settings.secure_cookies() { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).ok()
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(settings: &Settings) -> Option<HeaderValue> {
    let cookie = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite={}; Max-Age=0{}",
        settings.access.same_site.as_str(),
        if settings.secure_cookies() { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).ok()
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::InvalidCredentials | AccessError::InvalidKey => ApiError::InvalidCredentials(err.to_string()),
            AccessError::Throttled { retry_after_secs } => {
                ApiError::TooManyRequests { code: "signin_throttled", detail: err.to_string(), retry_after_secs }
            }
            AccessError::EmailTaken => ApiError::Conflict(err.to_string()),
            AccessError::Invalid { field, message } => ApiError::validation(field, message),
            AccessError::KeyNotFound(_) | AccessError::UserNotFound(_) => ApiError::NotFound(err.to_string()),
            AccessError::Hash(_) | AccessError::Store(_) => ApiError::internal(err),
        }
    }
}
