//! `POST /api/v1/search`: hybrid, BM25-only or dense retrieval over the book.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use crate::http::guard::ChatCaller;
use crate::http::{ApiError, AppJson, AppState};
use crate::index::{IndexFilter, SearchMode};
use crate::retrieve::{SearchRequest, SearchResults};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", post(search))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    query: String,
    k: Option<usize>,
    #[serde(default)]
    filter: FilterBody,
    #[serde(default)]
    mode: SearchMode,
}

#[derive(Debug, Default, Deserialize)]
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

async fn search(
    State(app): State<AppState>,
    _: ChatCaller,
    AppJson(body): AppJson<SearchBody>,
) -> Result<Json<SearchResults>, ApiError> {
    let request = body.validate()?;
    let results = app.retriever.search(request).await.map_err(ApiError::internal)?;
    Ok(Json(results))
}
