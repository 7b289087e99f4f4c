//! The documents and chunks of the book: the source of truth for ingestion, the index (which is
//! rebuilt from here) and chapter listings. A document and its chunks are replaced in one
//! transaction, so a crash leaves each document fully old, fully new or absent.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, DbError};
use crate::on_pool;

/// One ingested source file (or uploaded document).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DocumentRecord {
    pub id: String,
    pub source_path: String,
    pub title: String,
    pub format: String,
    pub chapter: Option<String>,
    pub chapter_label: Option<String>,
    pub chapter_position: Option<i64>,
    pub position: Option<i64>,
    pub url: Option<String>,
    pub content_hash: String,
    #[serde(skip)]
    pub content: String,
    pub size_bytes: i64,
    pub chunk_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One chunk with its embedding (little-endian f32 bytes).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChunkRecord {
    pub id: String,
    pub document_id: String,
    pub ordinal: i64,
    pub heading_path: String,
    pub anchor: Option<String>,
    pub text: String,
    pub page: Option<i64>,
    pub start_offset: i64,
    pub end_offset: i64,
    pub token_count: i64,
    pub url: Option<String>,
    pub embedding: Option<Vec<u8>>,
    pub embedding_model: Option<String>,
    pub created_at: DateTime<Utc>,
}

// PostgreSQL's INTEGER columns are INT4 while the records hold i64: the casts let both dialects
// decode them (without them reading a document or its chunks fails on PostgreSQL).
const DOCUMENT_COLUMNS: &str = "id, source_path, title, format, chapter, chapter_label, \
     CAST(chapter_position AS BIGINT) AS chapter_position, CAST(position AS BIGINT) AS position, url, \
     content_hash, content, size_bytes, CAST(chunk_count AS BIGINT) AS chunk_count, created_at, updated_at";
const CHUNK_COLUMNS: &str = "id, document_id, CAST(ordinal AS BIGINT) AS ordinal, heading_path, anchor, text, \
     CAST(page AS BIGINT) AS page, CAST(start_offset AS BIGINT) AS start_offset, \
     CAST(end_offset AS BIGINT) AS end_offset, CAST(token_count AS BIGINT) AS token_count, url, embedding, \
     embedding_model, created_at";

/// A page of documents in book order.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

impl Db {
    /// Inserts or replaces a document together with all its chunks, atomically.
    pub async fn replace_document(&self, doc: &DocumentRecord, chunks: &[ChunkRecord]) -> Result<(), DbError> {
        on_pool!(self, write "documents.replace_document", pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM chunks WHERE document_id = $1").bind(&doc.id).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO documents (id, source_path, title, format, chapter, chapter_label, chapter_position, position, url, \
                 content_hash, content, size_bytes, chunk_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (id) DO UPDATE SET source_path = excluded.source_path, title = excluded.title, \
                 format = excluded.format, chapter = excluded.chapter, chapter_label = excluded.chapter_label, \
                 chapter_position = excluded.chapter_position, position = excluded.position, url = excluded.url, \
                 content_hash = excluded.content_hash, content = excluded.content, size_bytes = excluded.size_bytes, \
                 chunk_count = excluded.chunk_count, updated_at = excluded.updated_at",
            )
            .bind(&doc.id).bind(&doc.source_path).bind(&doc.title).bind(&doc.format).bind(&doc.chapter)
            .bind(&doc.chapter_label).bind(doc.chapter_position).bind(doc.position).bind(&doc.url)
            .bind(&doc.content_hash).bind(&doc.content).bind(doc.size_bytes).bind(doc.chunk_count)
            .bind(doc.created_at).bind(doc.updated_at)
            .execute(&mut *tx).await?;
            for c in chunks {
                sqlx::query(
                    "INSERT INTO chunks (id, document_id, ordinal, heading_path, anchor, text, page, start_offset, end_offset, \
                     token_count, url, embedding, embedding_model, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&c.id).bind(&c.document_id).bind(c.ordinal).bind(&c.heading_path).bind(&c.anchor).bind(&c.text)
                .bind(c.page).bind(c.start_offset).bind(c.end_offset).bind(c.token_count).bind(&c.url)
                .bind(&c.embedding).bind(&c.embedding_model).bind(c.created_at)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes a document and (by cascade) its chunks. Returns whether it existed.
    pub async fn delete_document(&self, id: &str) -> Result<bool, DbError> {
        let done = on_pool!(self, write "documents.delete_document", pool => sqlx::query("DELETE FROM documents WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        Ok(done > 0)
    }

    pub async fn document(&self, id: &str) -> Result<Option<DocumentRecord>, DbError> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1");
        Ok(on_pool!(self, "documents.document", pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// Documents in book order (chapter position, position, path).
    pub async fn documents(&self, page: Page) -> Result<Vec<DocumentRecord>, DbError> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents \
             ORDER BY COALESCE(chapter_position, 1000000), chapter, COALESCE(position, 1000000), source_path \
             LIMIT $1 OFFSET $2"
        );
        Ok(
            on_pool!(self, "documents.documents", pool => sqlx::query_as(&sql).bind(page.limit).bind(page.offset).fetch_all(pool).await?),
        )
    }

    pub async fn document_count(&self) -> Result<i64, DbError> {
        let (n,): (i64,) = on_pool!(self, "documents.document_count", pool => sqlx::query_as("SELECT COUNT(*) FROM documents").fetch_one(pool).await?);
        Ok(n)
    }

    /// Every document's id, source path and content hash (what sync compares against).
    pub async fn document_hashes(&self) -> Result<Vec<(String, String, String)>, DbError> {
        Ok(
            on_pool!(self, "documents.document_hashes", pool => sqlx::query_as("SELECT id, source_path, content_hash FROM documents").fetch_all(pool).await?),
        )
    }

    /// A document's chunks in order.
    pub async fn chunks_of(&self, document_id: &str) -> Result<Vec<ChunkRecord>, DbError> {
        let sql = format!("SELECT {CHUNK_COLUMNS} FROM chunks WHERE document_id = $1 ORDER BY ordinal");
        Ok(on_pool!(self, "documents.chunks_of", pool => sqlx::query_as(&sql).bind(document_id).fetch_all(pool).await?))
    }

    /// Up to `limit` chunks whose vector was made by another model (or is missing):
    /// (id, heading path, text).
    pub async fn stale_chunks(&self, model: &str, limit: i64) -> Result<Vec<(String, String, String)>, DbError> {
        let sql = "SELECT id, heading_path, text FROM chunks \
                   WHERE embedding IS NULL OR embedding_model IS NULL OR embedding_model <> $1 ORDER BY id LIMIT $2";
        Ok(
            on_pool!(self, "documents.stale_chunks", pool => sqlx::query_as(sql).bind(model).bind(limit).fetch_all(pool).await?),
        )
    }

    /// Stores a chunk's new vector.
    pub async fn set_chunk_embedding(&self, id: &str, embedding: &[u8], model: &str) -> Result<(), DbError> {
        on_pool!(self, write "documents.set_chunk_embedding", pool => sqlx::query("UPDATE chunks SET embedding = $2, embedding_model = $3 WHERE id = $1")
            .bind(id).bind(embedding).bind(model).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn chunk_count(&self) -> Result<i64, DbError> {
        let (n,): (i64,) = on_pool!(self, "documents.chunk_count", pool => sqlx::query_as("SELECT COUNT(*) FROM chunks").fetch_one(pool).await?);
        Ok(n)
    }
}
