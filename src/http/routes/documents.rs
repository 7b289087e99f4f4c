//! Operations on the book: upload a document (JSON or multipart) as a background job, poll the
//! job, list, read and delete documents. Every route needs the `ingest` (or `admin`) scope;
//! uploads and deletions are written to the audit log.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{Actor, AuditContext, audit};
use crate::db::documents::{DocumentRecord, Page};
use crate::db::jobs::JobRecord;
use crate::http::guard::IngestCaller;
use crate::http::openapi::Problem;
use crate::http::openapi::schemas::{DocumentList, MultipartUpload, UploadAccepted};
use crate::http::{ApiError, AppJson, AppState};
use crate::ingest::Format;
use crate::ingest::jobs::Upload;

/// Highest page number accepted: keeps `(page - 1) * per_page` far from overflowing.
pub const MAX_PAGE: i64 = 1_000_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, upload)).routes(routes!(show, remove)).routes(routes!(job))
}

/// A text document sent as JSON (PDFs go as multipart).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct JsonUpload {
    /// The document's text; must not be blank.
    #[schema(min_length = 1)]
    content: String,
    /// `markdown` (`md`), `mdx`, `html` or `text` (`txt`).
    #[schema(example = "markdown")]
    format: String,
    title: Option<String>,
    /// Where readers find the original (used in citation links).
    url: Option<String>,
    /// The document's path in the book, e.g. `guide/intro.md` (no `..`, at most 512 bytes).
    path: Option<String>,
}

fn parse_format(name: &str) -> Result<Format, ApiError> {
    match name.to_ascii_lowercase().as_str() {
        "markdown" | "md" => Ok(Format::Markdown),
        "mdx" => Ok(Format::Mdx),
        "html" => Ok(Format::Html),
        "text" | "txt" => Ok(Format::Text),
        "pdf" => Ok(Format::Pdf),
        other => {
            Err(ApiError::validation("format", format!("expected markdown, mdx, html, text or pdf, got {other:?}")))
        }
    }
}

fn check_path(path: &Option<String>) -> Result<(), ApiError> {
    match path {
        Some(p) if p.is_empty() || p.len() > 512 || p.split('/').any(|s| s == ".." || s.is_empty()) => {
            Err(ApiError::validation("path", "must be a relative path like guide/intro.md without '..'"))
        }
        _ => Ok(()),
    }
}

/// Adds or replaces a document: ingested in the background; poll the job at `Location`.
#[utoipa::path(
    post, path = "/api/v1/documents", tag = "documents",
    request_body(content((JsonUpload = "application/json"), (MultipartUpload = "multipart/form-data"))),
    responses(
        (status = 202, description = "Queued for ingestion.", body = UploadAccepted,
            headers(("Location" = String, description = "The job to poll."))),
        (status = 400, description = "The body is not valid JSON or not a valid multipart form.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown format, a blank content, a bad path or an unknown form field (`validation_failed`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["ingest"]), ("session" = [])),
)]
async fn upload(
    State(app): State<AppState>,
    IngestCaller(caller): IngestCaller,
    audit: AuditContext,
    request: Request,
) -> Result<Response, ApiError> {
    let is_multipart =
        request.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"multipart/form-data"));
    let upload = if is_multipart {
        multipart_upload(Multipart::from_request(request, &app).await.map_err(|e| ApiError::BadRequest(e.body_text()))?)
            .await?
    } else {
        let AppJson(body) = AppJson::<JsonUpload>::from_request(request, &app).await?;
        json_upload(body)?
    };
    check_path(&upload.path)?;
    let details = serde_json::json!({ "path": upload.path, "format": format!("{:?}", upload.format).to_lowercase() });
    let job_id = app.jobs.submit(upload).await.map_err(ApiError::internal)?;
    app.access.audit(&audit, Actor::of(&caller), audit::DOCUMENT_INGEST, Some(&job_id), details).await?;
    let location = format!("/api/v1/jobs/{job_id}");
    let body = Json(serde_json::json!({ "job_id": job_id, "status": "queued", "location": location }));
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], body).into_response())
}

fn json_upload(body: JsonUpload) -> Result<Upload, ApiError> {
    let format = parse_format(&body.format)?;
    if format == Format::Pdf {
        return Err(ApiError::validation("format", "PDF files must be sent as a multipart upload"));
    }
    if body.content.trim().is_empty() {
        return Err(ApiError::validation("content", "must not be empty"));
    }
    Ok(Upload { content: body.content.into_bytes(), format, title: body.title, url: body.url, path: body.path })
}

async fn multipart_upload(mut form: Multipart) -> Result<Upload, ApiError> {
    let (mut file, mut title, mut url, mut path, mut format) = (None, None, None, None, None);
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "file" => file = Some((file_name, bytes.to_vec())),
            "title" => title = Some(text()),
            "url" => url = Some(text()),
            "path" => path = Some(text()),
            "format" => format = Some(text()),
            other => return Err(ApiError::validation(other, "unknown form field")),
        }
    }
    let (file_name, content) = file.ok_or_else(|| ApiError::validation("file", "a file part is required"))?;
    let format = match format {
        Some(f) => parse_format(&f)?,
        None => file_name.as_deref().and_then(|n| Format::from_path(std::path::Path::new(n))).ok_or_else(|| {
            ApiError::validation("format", "cannot tell the format from the file name; send a format field")
        })?,
    };
    Ok(Upload { content, format, title, url, path: path.or(file_name) })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Paging {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
    /// Documents per page, 1-200 (50 when absent).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

/// The book's documents, in reading order.
#[utoipa::path(
    get, path = "/api/v1/documents", tag = "documents",
    params(Paging),
    responses(
        (status = 200, description = "A page of documents.", body = DocumentList),
        (status = 422, description = "`page` or `per_page` out of range (`validation_failed`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["ingest"]), ("session" = [])),
)]
async fn list(
    State(app): State<AppState>,
    _: IngestCaller,
    Query(paging): Query<Paging>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let page = paging.page.unwrap_or(1);
    let per_page = paging.per_page.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&page) || !(1..=200).contains(&per_page) {
        return Err(ApiError::validation("page", "page is 1-1000000 and per_page is 1-200"));
    }
    let documents =
        app.db.documents(Page { offset: (page - 1) * per_page, limit: per_page }).await.map_err(ApiError::internal)?;
    let total = app.db.document_count().await.map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({ "documents": documents, "page": page, "per_page": per_page, "total": total })))
}

/// One document.
#[utoipa::path(
    get, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "The document's id.")),
    responses(
        (status = 200, description = "The document.", body = DocumentRecord),
        (status = 404, description = "No such document.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["ingest"]), ("session" = [])),
)]
async fn show(
    State(app): State<AppState>,
    _: IngestCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let doc = app.db.document(&id).await.map_err(ApiError::internal)?;
    let doc = doc.ok_or_else(|| ApiError::NotFound(format!("no document {id}")))?;
    Ok(Json(serde_json::to_value(doc).map_err(ApiError::internal)?))
}

/// Deletes a document and its passages from the index.
#[utoipa::path(
    delete, path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "The document's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such document.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["ingest"]), ("session" = [])),
)]
async fn remove(
    State(app): State<AppState>,
    IngestCaller(caller): IngestCaller,
    audit: AuditContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !app.db.delete_document(&id).await.map_err(ApiError::internal)? {
        return Err(ApiError::NotFound(format!("no document {id}")));
    }
    app.index.delete_document(&id).await.map_err(ApiError::internal)?;
    app.access.audit(&audit, Actor::of(&caller), audit::DOCUMENT_DELETE, Some(&id), serde_json::json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An ingestion job: `queued`, `running`, `succeeded` or `failed`, with its result or error.
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}", tag = "documents",
    params(("id" = String, Path, description = "The job's id (from the upload's `Location`).")),
    responses(
        (status = 200, description = "The job.", body = JobRecord),
        (status = 404, description = "No such job.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["ingest"]), ("session" = [])),
)]
async fn job(
    State(app): State<AppState>,
    _: IngestCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let job = app.db.job(&id).await.map_err(ApiError::internal)?;
    let job = job.ok_or_else(|| ApiError::NotFound(format!("no job {id}")))?;
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}
