//! The HTTP edge: shared state, the router with its middleware stack, the server loop.
//! Each feature has a `routes/<feature>.rs` with `pub fn router() -> OpenApiRouter<AppState>`;
//! the OpenAPI document is split off the merged routers (see [`openapi`]).

pub mod access;
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod guard;
pub mod limits;
pub mod middleware;
pub mod openapi;
mod problem;
pub mod routes;
pub mod server;
pub mod session;

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;
pub use extract::AppJson;

use crate::access::{QuotaService, RateLimiter};
use crate::answer::AnswerService;
use crate::config::Settings;
use crate::db::Db;
use crate::health::ServiceProbe;
use crate::index::VectorIndex;
use crate::ingest::jobs::JobRunner;
use crate::retrieve::Retriever;

/// State shared by every handler: one `Arc`, so the clone each extractor and middleware makes
/// is one reference count, not one per service. Reads go through `Deref`; a test that swaps a
/// service gets its own copy (`DerefMut` is copy-on-write).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Services {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub lifecycle: Arc<Lifecycle>,
    pub probes: Arc<Vec<Arc<dyn ServiceProbe>>>,
    pub index: Arc<dyn VectorIndex>,
    pub retriever: Retriever,
    pub jobs: JobRunner,
    pub answers: AnswerService,
    /// The resilient chat model chain (`None` when answers are extractive); shared by every
    /// feature that needs a language model.
    pub llm: Option<Arc<dyn crate::llm::ChatModel>>,
    pub access: crate::access::AccessService,
    /// Counts requests against the rate limits (in-process now; shared by replicas later).
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub rate_limits: Arc<limits::RateLimitPolicy>,
    pub trusted_proxies: Arc<client_ip::TrustedProxies>,
    pub quotas: QuotaService,
    /// Chapter translations and their shared cache.
    pub translations: crate::translate::TranslationService,
}

/// Whether the server is draining (shutting down): readiness answers 503 from then on.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// The complete application: feature routers plus `extra` (tests mount probes there; they are
/// not in the OpenAPI document), wrapped in the middleware stack every request goes through.
pub fn app(state: AppState, extra: Router<AppState>) -> Router {
    let settings = state.settings.clone();
    let (api, document) = routes::api(&settings).split_for_parts();
    let document = openapi::finish(document, &state.rate_limits);
    let document = routes::api_docs::ApiDocument(Arc::new(
        serde_json::to_vec(&document).expect("the OpenAPI document serialises").into(),
    ));
    let mut router = api
        .merge(extra)
        .layer(Extension(document))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::enforce))
        .route_layer(axum::middleware::from_fn(middleware::record_route))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::resolve))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(settings.server.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.server.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(panic_response));
    if let Some(cors) = middleware::cors(&settings) {
        router = router.layer(cors);
    }
    for (name, value) in middleware::security_headers(&settings) {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::PROXY_AUTHORIZATION,
        ]))
        .layer(axum::middleware::from_fn(middleware::request_context))
        .with_state(state)
}

/// The admin listener's application (`DOCENT_METRICS__ADDR`): `/metrics` only, with the same
/// request context, timeout and panic handling as the public stack.
pub fn admin_app(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    Router::from(routes::metrics::router())
        .route_layer(axum::middleware::from_fn(middleware::record_route))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(middleware::request_context))
        .with_state(state)
}

/// A handler panicked: log what happened, answer a 500 problem that reveals nothing.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = message, "handler panicked");
    error::Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR, None).into_response()
}
