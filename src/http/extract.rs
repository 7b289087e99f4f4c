//! `AppJson`: the JSON body extractor whose rejections are problems with the right status —
//! malformed JSON 400, wrong types or missing fields 422, wrong content type 415, too large 413.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};

#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(map_rejection(rejection)),
        }
    }
}

fn map_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(err) => {
            let text = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_else(|| err.body_text());
            let field = text.split_once(": ").map(|(f, _)| f.to_owned()).filter(|f| !f.contains(' '));
            let errors = field.map(|field| vec![FieldError { field, message: text.clone() }]).unwrap_or_default();
            ApiError::Validation { detail: text, errors }
        }
        JsonRejection::JsonSyntaxError(err) => ApiError::MalformedJson(format!(
            "the body is not valid JSON: {}",
            std::error::Error::source(&err).map(ToString::to_string).unwrap_or_else(|| err.body_text())
        )),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected a body with Content-Type: application/json".into())
        }
        JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
