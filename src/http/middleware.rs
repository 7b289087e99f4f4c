//! Cross-cutting request handling: request ids, the access log, request metrics, problem
//! rendering, the matched route, security headers and CORS.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::config::Settings;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The matched route template (e.g. `/api/v1/documents/{id}`), in response extensions.
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub String);

/// Accepts a client's `X-Request-Id` when it is 1–128 visible safe characters.
fn valid_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| s.to_owned())
}

/// Outermost middleware: assigns the request id, runs the request in a span carrying it,
/// renders error bodies as problems, echoes the id and writes one access-log line.
pub async fn request_context(mut req: Request, next: Next) -> Response {
    let id =
        req.headers().get(&REQUEST_ID).and_then(valid_request_id).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let header_value = HeaderValue::from_str(&id).expect("request ids are visible ASCII");
    req.headers_mut().insert(REQUEST_ID, header_value.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let span = tracing::info_span!("http.request", request_id = %id, method = %method);
    let started = Instant::now();
    let in_flight = InFlight::enter();
    let response = next.run(req).instrument(span.clone()).await;
    let route = response.extensions().get::<MatchedRoute>().map_or("unmatched".to_owned(), |r| r.0.clone());
    let mut response = super::problem::render(response, &id).await;
    response.headers_mut().insert(REQUEST_ID, header_value);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    drop(in_flight);
    record_request(&method, &route, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(target: "docent::http", request_id = %id, method = %method, route = %route, status, latency_ms, "request completed")
    });
    response
}

/// Counts a request in `docent_http_requests_in_flight` until dropped (also when the client
/// goes away and the request future is cancelled).
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::gauge!("docent_http_requests_in_flight").increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("docent_http_requests_in_flight").decrement(1.0);
    }
}

/// Records the request in the HTTP metrics. Labels are bounded: the method is one of the
/// standard ones or `other`, the route is the matched template (never the raw path) or
/// `unmatched`, the status is a class (`2xx`…).
fn record_request(method: &Method, route: &str, status: u16, elapsed: std::time::Duration) {
    let method = match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("docent_http_requests_total", "method" => method, "route" => route.to_owned(), "status_class" => class)
        .increment(1);
    metrics::histogram!("docent_http_request_duration_seconds", "method" => method, "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

/// Route-level middleware: copies the matched route template into the response.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(MatchedRoute(route));
    }
    response
}

/// Security headers set on every response that does not set its own.
pub fn security_headers(settings: &Settings) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'")),
        (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
    ];
    if settings.secure_cookies() {
        headers
            .push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains")));
    }
    headers
}

/// CORS for the configured exact origins; `None` when no origin is configured (same-origin only).
pub fn cors(settings: &Settings) -> Option<CorsLayer> {
    let origins = &settings.security.cors_origins;
    if origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            REQUEST_ID,
            HeaderName::from_static("x-csrf-token"),
        ])
        .expose_headers([
            REQUEST_ID,
            header::RETRY_AFTER,
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return Some(base.allow_origin(AllowOrigin::any()));
    }
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(base.allow_origin(AllowOrigin::list(list)).allow_credentials(true))
}
