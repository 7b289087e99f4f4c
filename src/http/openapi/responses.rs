//! The error responses the middleware stack can give on (almost) any route, declared once as
//! `components/responses` and attached to every operation they apply to by [`attach`], so a
//! handler's annotation lists only what the handler itself answers (success, 404, 409, …).
//!
//! What applies where follows the stack in [`crate::http::app`]: an invalid `Authorization`
//! header is refused with 401 everywhere but `/health*`; scoped routes answer 403 without the
//! scope; unsafe methods answer 403 to a cross-site request; counted routes answer 429; routes
//! with a body answer 400/413/415/422 to a malformed, large, mistyped or invalid one; routes
//! with query parameters answer 400 to an unparsable query; every route may time out (408) or
//! fail (500). A status a handler declares itself is left as the handler wrote it.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};

use crate::http::limits::RateLimitPolicy;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// `(component name, status, description)` of each shared problem response.
const SHARED: &[(&str, u16, &str)] = &[
    (
        "BadRequest",
        400,
        "The body is not valid JSON (`malformed_json`), or the query string cannot be parsed (`bad_request`).",
    ),
    (
        "Unauthenticated",
        401,
        "No valid credentials: the API key in `Authorization` is unknown, revoked or expired (`invalid_credentials`), or the route needs a caller and none was presented (`unauthenticated`).",
    ),
    (
        "Forbidden",
        403,
        "The caller lacks the scope this route needs (`forbidden`), or an unsafe request authenticated by the session cookie came without an allowed `Origin` or the `X-CSRF-Token` (`csrf_rejected`).",
    ),
    ("RequestTimeout", 408, "The request took longer than `DOCENT_SERVER__REQUEST_TIMEOUT_SECS` (`request_timeout`)."),
    ("PayloadTooLarge", 413, "The body is larger than `DOCENT_SERVER__BODY_LIMIT_BYTES` (`payload_too_large`)."),
    ("UnsupportedMediaType", 415, "The body is not sent as `application/json` (`unsupported_media_type`)."),
    (
        "ValidationFailed",
        422,
        "The body is well-formed JSON but a field is missing, unknown, mistyped or out of range (`validation_failed`); `errors` names the fields.",
    ),
    (
        "RateLimited",
        429,
        "The caller's or the route's rate limit is spent (`rate_limited`); retry after `Retry-After` seconds.",
    ),
    (
        "InternalError",
        500,
        "The server failed; the cause is logged under the `request_id`, never sent (`internal_error`).",
    ),
];

/// Registers the shared problem responses under `components/responses`.
pub fn register(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, status, description) in SHARED {
        components.responses.insert((*name).to_owned(), RefOr::T(problem_response(*status, description)));
    }
}

/// A problem+json response; 429 also documents its headers.
pub fn problem_response(status: u16, description: &str) -> Response {
    let content = Content::new(Some(Ref::from_schema_name("Problem")));
    let mut response = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content);
    if status == 429 {
        response = response
            .header("Retry-After", integer_header("Seconds to wait before retrying."))
            .header("X-RateLimit-Limit", integer_header("Requests allowed per minute."))
            .header("X-RateLimit-Remaining", integer_header("Requests left in the window."))
            .header("X-RateLimit-Reset", integer_header("Seconds until the full allowance is back."));
    }
    response.build()
}

fn integer_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new().schema(Some(Object::with_type(Type::Integer))).description(Some(description)).build()
}

/// Adds the shared responses that apply to each operation of `openapi`.
pub fn attach(openapi: &mut OpenApi, limits: &RateLimitPolicy) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation.as_mut() {
                attach_to(operation, path, method, limits);
            }
        }
    }
}

fn attach_to(operation: &mut Operation, path: &str, method: &str, limits: &RateLimitPolicy) {
    let public = path.starts_with("/health");
    let has_body = operation.request_body.is_some();
    let has_query =
        operation.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    let scoped = operation.security.iter().flatten().any(|s| *s != Default::default());
    let unsafe_method = method != "get";
    let wanted = [
        ("BadRequest", "400", has_body || has_query),
        ("Unauthenticated", "401", !public),
        ("Forbidden", "403", !public && (scoped || unsafe_method)),
        ("RequestTimeout", "408", true),
        ("PayloadTooLarge", "413", has_body),
        ("UnsupportedMediaType", "415", has_body),
        ("ValidationFailed", "422", has_body),
        ("RateLimited", "429", !limits.is_exempt(path)),
        ("InternalError", "500", true),
    ];
    let responses = &mut operation.responses.responses;
    for (name, status, applies) in wanted {
        if applies && !responses.contains_key(status) {
            responses.insert(status.to_owned(), RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}
