//! `GET /openapi.json` (the OpenAPI 3.1 document of this server), `GET /docs` (Swagger UI) and
//! `GET /docs/{asset}` (its files). Mounted unless `DOCENT_API_DOCS__ENABLED=false`; see
//! [`crate::http::openapi`] for how the document is built.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::openapi::{Problem, ui};
use crate::http::{ApiError, AppState};

/// The serialised document, in request extensions (set by [`crate::http::app`]).
#[derive(Debug, Clone)]
pub struct ApiDocument(pub Arc<Bytes>);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json)).routes(routes!(docs)).routes(routes!(docs_asset))
}

/// The OpenAPI 3.1 document describing every route of this server.
#[utoipa::path(
    get, path = "/openapi.json", tag = "api-docs",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object, content_type = "application/json")),
)]
async fn openapi_json(Extension(document): Extension<ApiDocument>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, Bytes::clone(&document.0)).into_response()
}

/// The browsable API documentation (Swagger UI), working offline.
#[utoipa::path(
    get, path = "/docs", tag = "api-docs",
    responses((status = 200, description = "The Swagger UI page.", body = String, content_type = "text/html")),
)]
async fn docs() -> Response {
    ui::page()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct AssetPath {
    /// `swagger-ui-bundle.js`, `swagger-ui.css` or `docs.js`.
    #[param(example = "swagger-ui.css")]
    asset: String,
}

/// A script or style sheet of the docs page (gzip-encoded when accepted; `ETag` revalidation).
#[utoipa::path(
    get, path = "/docs/{asset}", tag = "api-docs",
    params(AssetPath),
    responses(
        (status = 200, description = "The file.", content((String = "text/javascript"), (String = "text/css"))),
        (status = 304, description = "The copy named by `If-None-Match` is current."),
        (status = 404, description = "No such file.", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn docs_asset(Path(AssetPath { asset }): Path<AssetPath>, headers: HeaderMap) -> Result<Response, ApiError> {
    ui::asset(&asset, &headers).ok_or_else(|| ApiError::NotFound(format!("no docs asset {asset}")))
}
