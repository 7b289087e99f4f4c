//! Writes every error response as `application/problem+json` with the request id: problems
//! raised by handlers ([`Problem`] in the response extensions) and bare error responses from
//! routing and layers (404, 405 with its `Allow` header kept, 408, 413, plain-text rejections).
//! Error responses with a designed JSON body (the health reports) pass through unchanged.
//! Every problem written here is counted in `docent_errors_total{code}`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;

use super::error::Problem;

const PROBLEM_JSON: &str = "application/problem+json";
/// Largest plain-text rejection body reused as a 4xx `detail`.
const MAX_DETAIL_BYTES: usize = 4096;

/// Turns any error response into a problem+json body carrying `request_id`.
pub async fn render(response: Response, request_id: &str) -> Response {
    let status = response.status();
    let problem = match response.extensions().get::<Problem>().cloned() {
        Some(problem) => problem,
        None if status.as_u16() >= 400 && is_bare(&response) => {
            let (parts, body) = response.into_parts();
            let detail = text_detail(status, &parts.headers, body).await;
            return write(Response::from_parts(parts, Body::empty()), Problem::for_status(status, detail), request_id);
        }
        None => return response,
    };
    write(response, problem, request_id)
}

/// An error response without a designed body: empty or plain text (from routing, layers and
/// extractor rejections). JSON bodies such as `/health`'s 503 report are left as they are.
fn is_bare(response: &Response) -> bool {
    match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.as_bytes().starts_with(b"text/plain"),
    }
}

async fn text_detail(status: StatusCode, headers: &axum::http::HeaderMap, body: Body) -> Option<String> {
    let is_text = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !status.is_client_error() || !is_text {
        return None;
    }
    let bytes = http_body_util::Limited::new(body, MAX_DETAIL_BYTES).collect().await.ok()?.to_bytes();
    String::from_utf8(bytes.to_vec()).ok()
}

fn write(response: Response, problem: Problem, request_id: &str) -> Response {
    metrics::counter!("docent_errors_total", "code" => problem.code).increment(1);
    let mut body = serde_json::json!({
        "type": format!("urn:docent:problem:{}", problem.code),
        "title": problem.title,
        "status": problem.status.as_u16(),
        "detail": problem.detail,
        "code": problem.code,
        "request_id": request_id,
    });
    if !problem.errors.is_empty() {
        body["errors"] = serde_json::to_value(&problem.errors).unwrap_or_default();
    }
    let (mut parts, _) = response.into_parts();
    parts.status = problem.status;
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(problem);
    Response::from_parts(parts, Body::from(body.to_string()))
}
