//! The book's chapters and their translations. Listing and reading a chapter's Markdown is open
//! to whoever may chat (readers, chat keys, anonymous visitors when allowed); translations belong
//! to signed-in readers only: anonymous → 401, an API key (no reader account) → 403. A reader
//! sees only translations they requested (another reader's answers 404, like a missing one).

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Actor, AuditContext, Principal, QuotaError, Subject, audit};
use crate::db::chapters::ChapterSummary;
use crate::http::guard::ChatCaller;
use crate::http::openapi::Problem;
use crate::http::{ApiError, AppJson, AppState};
use crate::llm::LlmError;
use crate::translate::{Delivered, Language, TranslateError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(translate))
        .routes(routes!(translation))
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

/// `POST /api/v1/chapters/{id}/translations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationBody {
    /// The target language as a BCP 47 tag, e.g. `ur`, `fr-CA`, `zh-Hans`.
    #[schema(example = "ur")]
    language: String,
}

/// A translation as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranslationResponse {
    chapter_id: String,
    /// The canonical BCP 47 tag.
    language: String,
    /// The translated Markdown: code, links, markup and glossary terms as in the source.
    content: String,
    /// Whether it was already translated for this chapter version (no tokens spent).
    from_cache: bool,
    /// The model that translated it.
    model: String,
    translated_at: DateTime<Utc>,
    /// Until when this reader may read it again with `GET …/translations/{language}`.
    expires_at: DateTime<Utc>,
}

/// `GET /api/v1/chapters`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChapterList {
    chapters: Vec<ChapterSummary>,
}

/// `GET /api/v1/chapters/{id}` as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChapterContent {
    id: String,
    title: String,
    /// `markdown`, `mdx` or `text`.
    format: String,
    url: Option<String>,
    /// The chapter's source.
    content: String,
    updated_at: DateTime<Utc>,
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

/// The book's chapters (ingested Markdown, MDX and text pages) in book order.
#[utoipa::path(
    get, path = "/api/v1/chapters", tag = "chapters",
    responses((status = 200, description = "The chapters.", body = ChapterList)),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
async fn list(State(app): State<AppState>, _: ChatCaller) -> Result<Json<ChapterList>, ApiError> {
    let chapters = app.db.chapters().await.map_err(ApiError::internal)?;
    Ok(Json(ChapterList { chapters }))
}

/// The chapter's Markdown: JSON by default, the raw source with `Accept: text/markdown`.
#[utoipa::path(
    get, path = "/api/v1/chapters/{id}", tag = "chapters",
    params(("id" = String, Path, description = "The chapter's (document's) id.")),
    responses(
        (status = 200, description = "The chapter.", content(
            (ChapterContent = "application/json"),
            (String = "text/markdown"),
        )),
        (status = 404, description = "No such chapter.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
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
    let body = ChapterContent {
        id: chapter.id,
        title: chapter.title,
        format: chapter.format,
        url: chapter.url,
        content: chapter.content,
        updated_at: chapter.updated_at,
    };
    Ok(Json(body).into_response())
}

/// Translates a chapter for the signed-in reader, or hands them the translation already paid
/// for by another reader of the same chapter version.
#[utoipa::path(
    post, path = "/api/v1/chapters/{id}/translations", tag = "chapters",
    params(("id" = String, Path, description = "The chapter's id.")),
    request_body = TranslationBody,
    responses(
        (status = 200, description = "The translation.", body = TranslationResponse),
        (status = 404, description = "No such chapter.", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`translation_failed`: the model did not keep code, links or markup intact, or it failed.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`translation_unavailable`: no chat model is configured; or the provider is unavailable.", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The model did not answer in time.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])),
)]
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

/// The reader's own translation, while their request has not expired.
#[utoipa::path(
    get, path = "/api/v1/chapters/{id}/translations/{language}", tag = "chapters",
    params(
        ("id" = String, Path, description = "The chapter's id."),
        ("language" = String, Path, description = "A BCP 47 tag, e.g. `ur`."),
    ),
    responses(
        (status = 200, description = "The translation.", body = TranslationResponse),
        (status = 404, description = "Not requested by this reader, expired, or `translation_outdated` (the chapter changed since).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`language` is not a BCP 47 tag.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session" = [])),
)]
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
