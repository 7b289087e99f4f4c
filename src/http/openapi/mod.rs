//! The API description: an OpenAPI 3.1 document generated from the same declarations as the
//! router, served at `GET /openapi.json` and browsable at `GET /docs` (Swagger UI, vendored in
//! `assets/api-docs/` and compiled into the binary, so it works offline).
//!
//! Every feature router is a [`utoipa_axum::router::OpenApiRouter`] whose routes are added with
//! `routes!(handler, …)`: the method and path come from the handler's `#[utoipa::path]`
//! annotation, so a route cannot be served without being described. [`crate::http::app`] splits
//! the merged router into the axum router and the document, then [`finish`] adds what the
//! middleware stack answers on every route ([`responses`]) and the security schemes.
//!
//! # Adding a route
//! 1. Annotate the handler with `#[utoipa::path(get, path = "/api/v1/…", tag = "…",
//!    params(…), request_body = …, responses(…), security(…))]`: list the success responses and
//!    the errors the handler itself returns (404, 409, 422 from its own validation, 502…)
//!    with `body = Problem, content_type = "application/problem+json"`. The shared ones (400,
//!    401, 403, 408, 413, 415, 422 for bodies, 429, 500) are attached for you.
//! 2. Derive `utoipa::ToSchema` on the request and response types (`IntoParams` on query
//!    structs); bodies built with `json!` get a schema type in [`schemas`].
//! 3. Register it in the feature's `router()` with `.routes(routes!(handler))` (handlers of one
//!    path with different methods go in one `routes!`), and the feature router in
//!    [`crate::http::routes::api`]. A new tag goes in [`ApiDoc`]'s `tags`.
//!
//! `tests/api_docs` fails when a route the server answers is missing from the document.

pub mod responses;
pub mod schemas;
pub mod ui;

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::http::limits::RateLimitPolicy;

pub use schemas::Problem;

/// The document's fixed parts: info, tags, security schemes. Paths come from the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Docent API",
        description = "Ask questions about a book and get answers grounded in cited passages; manage the book, \
                       accounts and API keys.\n\nErrors are RFC 9457 problems (`application/problem+json`) with \
                       a stable `code` and the `request_id` also sent as `X-Request-Id`. Authenticate with an API \
                       key (`Authorization: Bearer dk_…`) or the `docent_session` cookie from sign-in (send its \
                       `csrf_token` as `X-CSRF-Token` on unsafe requests); without either, readers chat \
                       anonymously when `DOCENT_ALLOW_ANONYMOUS` is on.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "chat", description = "Questions and answers, as JSON or server-sent events."),
        (name = "search", description = "Retrieval over the book without an answer."),
        (name = "conversations", description = "The caller's conversations."),
        (name = "chapters", description = "The book's chapters and their translations (signed-in readers)."),
        (name = "documents", description = "The book's documents and ingestion jobs (`ingest` scope)."),
        (name = "auth", description = "Accounts and sessions."),
        (name = "keys", description = "API keys (`admin` scope)."),
        (name = "admin", description = "Audit log, users and every conversation (`admin` scope)."),
        (name = "health", description = "Liveness, readiness and the state of each dependency."),
        (name = "metrics", description = "Prometheus metrics."),
        (name = "api-docs", description = "This document and its browsable rendering."),
    ),
    components(schemas(Problem, schemas::FieldError)),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("dk_<id>_<secret>")
            .description(Some("An API key from `docent keys create` or `POST /api/v1/keys`; its scopes (chat, ingest, admin) decide what it may do."))
            .build();
        components.add_security_scheme("api_key", SecurityScheme::Http(bearer));
        let session = ApiKeyValue::with_description(
            crate::http::access::SESSION_COOKIE,
            "The session cookie set by sign-up and sign-in. Unsafe requests also need `X-CSRF-Token` (or an allowed `Origin`). Readers may do what the chat scope allows; admins everything.",
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(session)));
    }
}

/// Completes the document split off the router: the shared error responses on every operation
/// they apply to.
pub fn finish(mut openapi: OpenApi, limits: &RateLimitPolicy) -> OpenApi {
    responses::register(&mut openapi);
    responses::attach(&mut openapi, limits);
    openapi
}
