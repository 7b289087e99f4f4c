//! One router per feature, each an [`OpenApiRouter`] so its routes and their OpenAPI
//! description come from the same `routes!` declarations; [`api`] merges them.

pub mod admin;
pub mod api_docs;
pub mod auth;
pub mod chapters;
pub mod chat;
pub mod conversations;
pub mod documents;
pub mod health;
pub mod keys;
pub mod metrics;
pub mod search;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Settings;
use crate::http::AppState;
use crate::http::openapi::ApiDoc;

/// Every feature's routes on the public port, with their description. `/metrics` is here
/// unless metrics are off or served on the admin listener; `/openapi.json` and `/docs` unless
/// `DOCENT_API_DOCS__ENABLED=false`.
pub fn api(settings: &Settings) -> OpenApiRouter<AppState> {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(search::router())
        .merge(documents::router())
        .merge(chat::router())
        .merge(conversations::router())
        .merge(auth::router())
        .merge(keys::router())
        .merge(admin::router())
        .merge(chapters::router());
    if settings.metrics.enabled && settings.metrics.addr.is_none() {
        api = api.merge(metrics::router());
    }
    if settings.api_docs.enabled {
        api = api.merge(api_docs::router());
    }
    api
}
