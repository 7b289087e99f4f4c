//! The book's chapters and their translations. Listing and reading a chapter's Markdown is open
//! to whoever may chat (readers, chat keys, anonymous visitors when allowed); translations belong
//! to signed-in readers only: anonymous → 401, an API key (no reader account) → 403. A reader
//! sees only translations they requested (another reader's answers 404, like a missing one).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, AuditContext, Principal, QuotaError, Subject, audit};
use crate::http::guard::ChatCaller;
use crate::http::{ApiError, AppJson, AppState};
use crate::llm::LlmError;
use crate::translate::{Delivered, Language, TranslateError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/chapters", get(list))
        .route("/api/v1/chapters/{id}", get(show))
        .route("/api/v1/chapters/{id}/translations", post(translate))
        .route("/api/v1/chapters/{id}/translations/{language}", get(translation))
}

/// A signed-in reader: translations are recorded per reader account.
#[derive(Debug, Clone)]
pub struct Reader {
    pub user_id: String,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::User { id, .. } => Ok(Self { user_id: id }),
            Principal::Anonymous { .. } => Err(ApiError::Unauthenticated),
            Principal::ApiKey { .. } => Err(ApiError::Forbidden(
                "translations are kept per reader account: sign in; API keys cannot request or read them".into(),
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TranslationBody {
    language: String,
}

/// A translation as the API returns it.
#[derive(Debug, Serialize)]
struct TranslationResponse {
    chapter_id: String,
    language: String,
    content: String,
    from_cache: bool,
    model: String,
    translated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<Delivered> for TranslationResponse {
    fn from(d: Delivered) -> Self {
        let r = d.record;
        Self {
            chapter_id: r.chapter_id.clone(),
            language: r.language.clone(),
            content: r.content.clone(),
            from_cache: d.from_cache,
            model: r.model.clone(),
            translated_at: r.created_at,
            expires_at: d.expires_at,
        }
    }
}

async fn list(State(app): State<AppState>, _: ChatCaller) -> Result<Json<serde_json::Value>, ApiError> {
    let chapters = app.db.chapters().await.map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({ "chapters": chapters })))
}

/// The chapter's Markdown: JSON by default, the raw source with `Accept: text/markdown`.
async fn show(
    State(app): State<AppState>,
    _: ChatCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let chapter = app.db.chapter(&id).await.map_err(ApiError::internal)?;
    let chapter = chapter.ok_or_else(|| ApiError::NotFound(format!("no chapter {id}")))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if accept.contains("text/markdown") {
        return Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], chapter.content).into_response());
    }
    let body = serde_json::json!({
        "id": chapter.id, "title": chapter.title, "format": chapter.format, "url": chapter.url,
        "content": chapter.content, "updated_at": chapter.updated_at,
    });
    Ok(Json(body).into_response())
}

async fn translate(
    State(app): State<AppState>,
    reader: Reader,
    subject: Subject,
    audit: AuditContext,
    Path(id): Path<String>,
    AppJson(body): AppJson<TranslationBody>,
) -> Result<Json<TranslationResponse>, ApiError> {
    let language = Language::parse(&body.language).map_err(|m| ApiError::validation("language", m))?;
    let delivered = app.translations.request(&reader.user_id, &subject, &id, &language).await?;
    let details = serde_json::json!({ "language": language.as_str(), "from_cache": delivered.from_cache });
    app.access.audit(&audit, Actor::user(&reader.user_id), audit::TRANSLATION_REQUEST, Some(&id), details).await?;
    Ok(Json(delivered.into()))
}

async fn translation(
    State(app): State<AppState>,
    reader: Reader,
    Path((id, language)): Path<(String, String)>,
) -> Result<Json<TranslationResponse>, ApiError> {
    let language = Language::parse(&language).map_err(|m| ApiError::validation("language", m))?;
    let delivered = app.translations.read(&reader.user_id, &id, &language).await?;
    Ok(Json(delivered.into()))
}

impl From<TranslateError> for ApiError {
    fn from(err: TranslateError) -> Self {
        match err {
            TranslateError::Quota(quota) => quota.into(),
            other => problem(&other),
        }
    }
}

fn problem(err: &TranslateError) -> ApiError {
    match err {
        TranslateError::ChapterNotFound(_) | TranslateError::NotRequested { .. } => ApiError::NotFound(err.to_string()),
        TranslateError::Outdated { .. } => {
            ApiError::Coded { status: StatusCode::NOT_FOUND, code: "translation_outdated", detail: err.to_string() }
        }
        TranslateError::Unavailable => {
            ApiError::Unavailable { code: "translation_unavailable", detail: err.to_string() }
        }
        TranslateError::Unfaithful { section, .. } => {
            tracing::error!(error = %err, "translation refused");
            let detail = format!(
                "the language model did not keep the code, links and markup of section {section} intact, even when \
                 asked twice; nothing was saved, try again later"
            );
            ApiError::Coded { status: StatusCode::BAD_GATEWAY, code: "translation_failed", detail }
        }
        TranslateError::Llm(llm) => upstream(llm),
        TranslateError::Shared(inner) => problem(inner),
        TranslateError::Quota(QuotaError::Exceeded { .. }) => {
            ApiError::TooManyRequests { code: "quota_exceeded", detail: err.to_string(), retry_after_secs: 60 }
        }
        TranslateError::Quota(_) | TranslateError::Store(_) | TranslateError::Task(_) => {
            ApiError::internal(anyhow::anyhow!("{err}"))
        }
    }
}

/// A provider failure as 502/503/504; what went wrong upstream is logged, never sent.
fn upstream(err: &LlmError) -> ApiError {
    tracing::error!(error = %err, kind = err.kind(), "translation model failed");
    match err.http_status() {
        504 => ApiError::GatewayTimeout("The language model did not answer in time.".into()),
        503 => ApiError::Unavailable {
            code: "upstream_unavailable",
            detail: "The language model is unavailable right now; try again shortly.".into(),
        },
        _ => ApiError::BadGateway("The language model failed to answer.".into()),
    }
}
