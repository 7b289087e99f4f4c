//! `POST /api/v1/search`: hybrid, BM25-only or dense retrieval over the book.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::guard::ChatCaller;
use crate::http::{ApiError, AppJson, AppState};
use crate::index::{IndexFilter, SearchMode};
use crate::retrieve::{SearchRequest, SearchResults};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    /// What to look for (1-2000 characters once trimmed).
    #[schema(min_length = 1, max_length = 2000)]
    query: String,
    /// How many results (1-100); the configured default when absent.
    #[schema(minimum = 1, maximum = 100)]
    k: Option<usize>,
    #[serde(default)]
    filter: FilterBody,
    #[serde(default)]
    mode: SearchMode,
}

/// Restricts the search to one document and/or one chapter.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    document_id: Option<String>,
    chapter: Option<String>,
}

impl SearchBody {
    fn validate(self) -> Result<SearchRequest, ApiError> {
        let query = self.query.trim().to_owned();
        if query.is_empty() {
            return Err(ApiError::validation("query", "must not be empty"));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::validation("query", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        if let Some(k) = self.k.filter(|k| !(1..=100).contains(k)) {
            return Err(ApiError::validation("k", format!("must be between 1 and 100, got {k}")));
        }
        let filter = IndexFilter { document_id: self.filter.document_id, chapter: self.filter.chapter };
        Ok(SearchRequest { query, k: self.k, mode: self.mode, filter })
    }
}

/// Hybrid (BM25 + dense), BM25-only or dense retrieval over the book, best first.
#[utoipa::path(
    post, path = "/api/v1/search", tag = "search",
    request_body = SearchBody,
    responses((status = 200, description = "The best-matching passages.", body = SearchResults)),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
async fn search(
    State(app): State<AppState>,
    _: ChatCaller,
    AppJson(body): AppJson<SearchBody>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = body.validate()?;
    let results = app.retriever.search(request).await.map_err(ApiError::internal)?;
    Ok(Json(results))
}
