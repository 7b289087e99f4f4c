//! Extractors that hand handlers the caller and enforce scopes: [`Principal`] (anyone),
//! [`ChatCaller`] (chat scope, or anonymous when `DOCENT_ALLOW_ANONYMOUS`), [`IngestCaller`],
//! [`AdminCaller`], [`SignedIn`] (a session user), and [`AuditContext`]. Unauthenticated → 401,
//! authenticated without the scope → 403, both problem+json.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::access::{ClientIp, SessionCsrf};
use super::middleware::RequestId;
use super::{ApiError, AppState};
use crate::access::{AuditContext, Principal, Role, Scope};

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("no principal in the request: the access middleware did not run"))
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuditContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(AuditContext {
            ip: parts.extensions.get::<ClientIp>().map(|c| c.0),
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        })
    }
}

/// Checks `scope`; anonymous callers pass only when `anonymous_ok`.
fn require(principal: &Principal, scope: Scope, anonymous_ok: bool) -> Result<(), ApiError> {
    match principal {
        Principal::Anonymous { .. } if anonymous_ok => Ok(()),
        Principal::Anonymous { .. } => Err(ApiError::Unauthenticated),
        p if p.has_scope(scope) => Ok(()),
        _ => Err(ApiError::Forbidden(format!("this operation needs the {scope} scope"))),
    }
}

macro_rules! scoped_caller {
    ($(#[$doc:meta])* $name:ident, $scope:expr, $anonymous_ok:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                let principal = Principal::from_request_parts(parts, state).await?;
                let anonymous_ok: fn(&AppState) -> bool = $anonymous_ok;
                require(&principal, $scope, anonymous_ok(state))?;
                Ok(Self(principal))
            }
        }
    };
}

scoped_caller!(
    /// May chat, search and keep conversations.
    ChatCaller,
    Scope::Chat,
    |state| state.settings.access.allow_anonymous
);
scoped_caller!(
    /// May add, list and delete documents and read ingestion jobs.
    IngestCaller,
    Scope::Ingest,
    |_| false
);
scoped_caller!(
    /// May manage keys and users and read the audit log and every conversation.
    AdminCaller,
    Scope::Admin,
    |_| false
);

/// A user signed in with a session cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub role: Role,
    pub session: SessionCsrf,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let session = parts.extensions.get::<SessionCsrf>().cloned();
        match (parts.extensions.get::<Principal>(), session) {
            (Some(Principal::User { id, role }), Some(session)) => {
                Ok(Self { user_id: id.clone(), role: *role, session })
            }
            _ => Err(ApiError::Unauthenticated),
        }
    }
}
