//! The book's chapters: a read view over the documents whose stored source is Markdown (or plain
//! text), which are what a reader opens as a page and what can be translated. HTML and PDF
//! documents are searchable but are not chapters (their stored source is not Markdown).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, DbError};
use crate::on_pool;

/// One chapter in the listing (no content).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChapterSummary {
    pub id: String,
    pub title: String,
    /// Slug of the group (`_category_.json` folder, or the top-level page itself).
    pub group: Option<String>,
    pub group_label: Option<String>,
    pub url: Option<String>,
    pub format: String,
    pub source_path: String,
    pub updated_at: DateTime<Utc>,
}

/// One chapter with its Markdown source.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChapterSource {
    pub id: String,
    pub title: String,
    pub format: String,
    pub url: Option<String>,
    pub content: String,
    pub updated_at: DateTime<Utc>,
}

/// The document formats whose source is served and translated as a chapter.
const FORMAT_FILTER: &str = "format IN ('markdown', 'mdx', 'text')";

impl Db {
    /// Every chapter in book order (group position, position in the group, path).
    pub async fn chapters(&self) -> Result<Vec<ChapterSummary>, DbError> {
        let sql = format!(
            "SELECT id, title, chapter AS \"group\", chapter_label AS group_label, url, format, source_path, updated_at \
             FROM documents WHERE {FORMAT_FILTER} \
             ORDER BY COALESCE(chapter_position, 1000000), chapter, COALESCE(position, 1000000), source_path"
        );
        Ok(on_pool!(self, "chapters.chapters", pool => sqlx::query_as(&sql).fetch_all(pool).await?))
    }

    /// The chapter `id` with its source; `None` when there is no such chapter.
    pub async fn chapter(&self, id: &str) -> Result<Option<ChapterSource>, DbError> {
        let sql = format!(
            "SELECT id, title, format, url, content, updated_at FROM documents WHERE id = $1 AND {FORMAT_FILTER}"
        );
        Ok(on_pool!(self, "chapters.chapter", pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }
}
