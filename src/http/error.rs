//! `ApiError`, the one error type at the HTTP edge, and `Problem`, its RFC 9457 rendering.
//!
//! Handlers return `ApiError`; its `IntoResponse` puts a [`Problem`] in the response extensions
//! and [`super::problem::render_problems`] writes the body with the request id. 5xx causes are
//! logged here and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A field-level validation failure, listed in 422 bodies.
#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication is required")]
    Unauthenticated,
    /// Credentials were presented and are wrong (sign-in, API key).
    #[error("{0}")]
    InvalidCredentials(String),
    #[error("cross-site request refused: send an allowed Origin or the X-CSRF-Token from sign-in or /api/v1/auth/me")]
    CsrfRejected,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than the configured limit (DOCENT_SERVER__BODY_LIMIT_BYTES)")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    Validation { detail: String, errors: Vec<FieldError> },
    #[error("{detail}")]
    TooManyRequests { code: &'static str, detail: String, retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    #[error("{0}")]
    BadGateway(String),
    #[error("{detail}")]
    Unavailable { code: &'static str, detail: String },
    #[error("{0}")]
    GatewayTimeout(String),
    /// A failure with a feature's own stable code (e.g. `translation_failed`, 502).
    #[error("{detail}")]
    Coded { status: StatusCode, code: &'static str, detail: String },
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        ApiError::Validation { detail: format!("{field}: {message}"), errors: vec![FieldError { field, message }] }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidCredentials(_) => StatusCode::UNAUTHORIZED,
            ApiError::CsrfRejected => StatusCode::FORBIDDEN,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Coded { status, .. } => *status,
        }
    }

    /// The stable machine-readable code clients can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials(_) => "invalid_credentials",
            ApiError::CsrfRejected => "csrf_rejected",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::TooManyRequests { code, .. }
            | ApiError::Unavailable { code, .. }
            | ApiError::Coded { code, .. } => code,
            ApiError::Internal(_) => "internal_error",
            ApiError::BadGateway(_) => "upstream_error",
            ApiError::GatewayTimeout(_) => "upstream_timeout",
        }
    }
}

/// An RFC 9457 problem, without the request id (added when the body is written).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub title: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        Problem { status, code, title, detail: detail.into(), errors: Vec::new() }
    }

    /// The problem for an error response that carried none (404 from routing, 408 from the
    /// timeout layer, …).
    pub fn for_status(status: StatusCode, detail: Option<String>) -> Self {
        let (code, default) = match status.as_u16() {
            400 => ("bad_request", "The request could not be understood."),
            404 => ("not_found", "No such resource."),
            405 => ("method_not_allowed", "This method is not allowed on this resource; see the Allow header."),
            408 => ("request_timeout", "The request took too long and was abandoned."),
            413 => ("payload_too_large", "The request body is larger than the limit."),
            415 => ("unsupported_media_type", "This content type is not supported here."),
            422 => ("validation_failed", "The request is well-formed but invalid."),
            429 => ("rate_limited", "Too many requests."),
            503 => ("service_unavailable", "The service is unavailable."),
            s if s >= 500 => ("internal_error", "The server failed to handle the request."),
            _ => ("error", "The request failed."),
        };
        let detail = match detail {
            Some(d) if status.is_client_error() && !d.trim().is_empty() => d,
            _ => default.to_owned(),
        };
        Problem::new(status, code, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let mut headers = Vec::new();
        let problem = match self {
            ApiError::Internal(err) => {
                tracing::error!(error = ?err, code, "request failed");
                Problem::for_status(status, None)
            }
            ApiError::Validation { detail, errors } => Problem { errors, ..Problem::new(status, code, detail) },
            ApiError::TooManyRequests { retry_after_secs, ref detail, .. } => {
                headers.push((header::RETRY_AFTER, HeaderValue::from(retry_after_secs)));
                Problem::new(status, code, detail.clone())
            }
            other => {
                if status.is_server_error() {
                    tracing::error!(error = %other, code, "request failed");
                }
                Problem::new(status, code, other.to_string())
            }
        };
        let mut response = problem.into_response();
        for (name, value) in headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
