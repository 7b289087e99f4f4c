//! The anonymous reader session: a random id in the `docent_anon` cookie, set when absent, that
//! owns the reader's conversations. The access middleware ([`super::access`]) sets the cookie and
//! the anonymous [`crate::access::Principal`]; this extractor reads it from there.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::db::conversations::Owner;

pub const COOKIE: &str = "docent_anon";

/// The caller's anonymous identity; `new_cookie` is set when the cookie was absent or invalid.
#[derive(Debug, Clone)]
pub struct AnonSession {
    pub owner: Owner,
    new_cookie: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for AnonSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(crate::access::Principal::Anonymous { session }) = parts.extensions.get() {
            return Ok(Self { owner: Owner::anonymous(session.clone()), new_cookie: None });
        }
        if let Some(id) = cookie_value(&parts.headers) {
            return Ok(Self { owner: Owner::anonymous(id), new_cookie: None });
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let secure = if state.settings.secure_cookies() { "; Secure" } else { "" };
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}");
        Ok(Self { owner: Owner::anonymous(id), new_cookie: HeaderValue::from_str(&cookie).ok() })
    }
}

impl AnonSession {
    /// `response` with the Set-Cookie header when the session is new.
    pub fn attach(&self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        if let Some(cookie) = &self.new_cookie {
            response.headers_mut().append(header::SET_COOKIE, cookie.clone());
        }
        response
    }
}

/// The session id from the Cookie headers, if well-formed (64 hex digits).
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(_, value)| value.to_ascii_lowercase())
}
