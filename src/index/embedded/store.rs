//! `index.db` persistence: connection setup, schema, and the SQL of every
//! operation. Nothing here touches the in-memory state.
//!
//! Schema (`schema_version` 2 in `meta`):
//! * `meta(key, value)` — `schema_version`, `model_id`, `dimension`;
//! * `documents(document_id, version)` — indexed content version per document;
//! * `chunks(pk INTEGER PRIMARY KEY, id UNIQUE, document_id, chapter, text,
//!   heading, payload JSON text, vector little-endian f32 BLOB)`;
//!
//! Version 1 also kept an FTS5 table over `chunks(text, heading)`; BM25 now runs on the
//! in-memory postings built from `text` and `heading` (see `lexical`), so opening a
//! version-1 file drops the FTS5 table and its triggers.
//!
//! Durability: WAL journal + `synchronous=FULL`; a crash (even `kill -9`
//! mid-write) leaves the last committed transaction.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::analysis;
use crate::index::{IndexChunk, IndexError};

/// Rows per page when loading the dense matrix.
const LOAD_PAGE: i64 = 20_000;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1')",
    "CREATE TABLE IF NOT EXISTS documents (
         document_id TEXT PRIMARY KEY,
         version     TEXT NOT NULL
     )",
    "CREATE TABLE IF NOT EXISTS chunks (
         pk          INTEGER PRIMARY KEY,
         id          TEXT NOT NULL UNIQUE,
         document_id TEXT NOT NULL,
         chapter     TEXT,
         text        TEXT NOT NULL,
         heading     TEXT NOT NULL,
         payload     TEXT NOT NULL,
         vector      BLOB NOT NULL
     )",
    "CREATE INDEX IF NOT EXISTS chunks_document ON chunks (document_id)",
    "CREATE INDEX IF NOT EXISTS chunks_chapter ON chunks (chapter)",
    // Version 1's FTS5 side, replaced by the in-memory postings.
    "DROP TRIGGER IF EXISTS chunks_ai",
    "DROP TRIGGER IF EXISTS chunks_ad",
    "DROP TABLE IF EXISTS chunks_fts",
    "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
];

const DROP_DATA: &[&str] = &[
    "DROP TABLE IF EXISTS chunks",
    "DROP TABLE IF EXISTS documents",
    "DELETE FROM meta WHERE key IN ('model_id', 'dimension')",
];

/// Pool plus the file location used in error messages.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) pool: SqlitePool,
    pub(super) location: String,
}

/// A chunk row loaded at open: `(pk, document_id, chapter, text, heading, vector blob)`.
pub type LoadedRow = (i64, String, Option<String>, String, String, Vec<u8>);

/// A chunk row returned to searchers: `(pk, id, document_id, chapter, text, payload)`.
pub type HitRow = (i64, String, String, Option<String>, String, String);

impl Store {
    /// Opens (creating if needed) `path` and applies the schema.
    pub async fn open(path: &Path) -> Result<Self, IndexError> {
        let location = path.display().to_string();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| storage(&location, "open", e))?;
        let store = Self { pool, location };
        let mut tx = store.begin().await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&mut *tx).await.map_err(|e| store.err("create schema", e))?;
        }
        tx.commit().await.map_err(|e| store.err("commit schema", e))?;
        Ok(store)
    }

    /// Wraps a sqlx error with this file and `operation`.
    pub fn err(&self, operation: &'static str, e: sqlx::Error) -> IndexError {
        storage(&self.location, operation, e)
    }

    /// Recorded `(model_id, dimension)`, if any.
    pub async fn model(&self) -> Result<Option<(String, usize)>, IndexError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM meta WHERE key IN ('model_id', 'dimension')")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err("read model", e))?;
        let get = |k: &str| rows.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        match (get("model_id"), get("dimension")) {
            (Some(model), Some(dim)) => match dim.parse() {
                Ok(dim) => Ok(Some((model, dim))),
                Err(_) => Err(self.corrupt(format!("meta.dimension is `{dim}`"))),
            },
            _ => Ok(None),
        }
    }

    /// Records the model (inside the caller's transaction).
    pub async fn set_model(&self, tx: &mut Transaction<'_, Sqlite>, model: &str, dim: usize) -> Result<(), IndexError> {
        for (key, value) in [("model_id", model.to_owned()), ("dimension", dim.to_string())] {
            sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(value)
                .execute(&mut **tx)
                .await
                .map_err(|e| self.err("record model", e))?;
        }
        Ok(())
    }

    /// The write generation: bumped by every committed write, from any process.
    pub async fn generation(&self) -> Result<i64, IndexError> {
        let value: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE key = 'generation'")
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("read generation", e))?;
        Ok(value.and_then(|(v,)| v.parse().ok()).unwrap_or(0))
    }

    /// Bumps the write generation inside the caller's transaction; returns the new value.
    pub async fn bump_generation(&self, tx: &mut Transaction<'_, Sqlite>) -> Result<i64, IndexError> {
        let (value,): (String,) = sqlx::query_as(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') \
             ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING value",
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| self.err("bump generation", e))?;
        value.parse().map_err(|_| self.corrupt(format!("meta.generation is `{value}`")))
    }

    /// Corruption error for this file.
    pub fn corrupt(&self, detail: String) -> IndexError {
        IndexError::Corrupt { location: self.location.clone(), detail }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Transaction<'static, Sqlite>, IndexError> {
        self.pool.begin().await.map_err(|e| self.err("begin transaction", e))
    }

    /// Loads one page of chunk rows with `pk > after`, ordered by pk.
    pub async fn load_page(&self, after: i64) -> Result<Vec<LoadedRow>, IndexError> {
        sqlx::query_as(
            "SELECT pk, document_id, chapter, text, heading, vector FROM chunks WHERE pk > ? ORDER BY pk LIMIT ?",
        )
        .bind(after)
        .bind(LOAD_PAGE)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err("load vectors", e))
    }

    /// Deletes a document's chunks and version row (inside `tx`).
    pub async fn delete_rows(&self, tx: &mut Transaction<'_, Sqlite>, document_id: &str) -> Result<(), IndexError> {
        sqlx::query("DELETE FROM chunks WHERE document_id = ?")
            .bind(document_id)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err("delete chunks", e))?;
        sqlx::query("DELETE FROM documents WHERE document_id = ?")
            .bind(document_id)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err("delete document", e))?;
        Ok(())
    }

    /// Inserts one (already normalised) chunk, returning its rowid.
    pub async fn insert_chunk(&self, tx: &mut Transaction<'_, Sqlite>, chunk: &IndexChunk) -> Result<i64, IndexError> {
        let blob: Vec<u8> = chunk.vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        let result = sqlx::query(
            "INSERT INTO chunks (id, document_id, chapter, text, heading, payload, vector) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&chunk.id)
        .bind(&chunk.document_id)
        .bind(&chunk.chapter)
        .bind(&chunk.text)
        .bind(analysis::heading_text(&chunk.payload))
        .bind(chunk.payload.to_string())
        .bind(blob)
        .execute(&mut **tx)
        .await;
        match result {
            Ok(done) => Ok(done.last_insert_rowid()),
            Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                Err(IndexError::InvalidChunk { chunk_id: chunk.id.clone(), reason: "chunk id already indexed".into() })
            }
            Err(e) => Err(self.err("insert chunk", e)),
        }
    }

    /// Records a document version (inside `tx`).
    pub async fn set_version(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        document_id: &str,
        version: &str,
    ) -> Result<(), IndexError> {
        sqlx::query("INSERT OR REPLACE INTO documents (document_id, version) VALUES (?, ?)")
            .bind(document_id)
            .bind(version)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err("record document version", e))?;
        Ok(())
    }

    /// All `(document_id, version)` pairs.
    pub async fn versions(&self) -> Result<Vec<(String, String)>, IndexError> {
        sqlx::query_as("SELECT document_id, version FROM documents")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err("read versions", e))
    }

    /// `(chunk count, document count)`.
    pub async fn counts(&self) -> Result<(i64, i64), IndexError> {
        sqlx::query_as("SELECT (SELECT count(*) FROM chunks), (SELECT count(*) FROM documents)")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err("count rows", e))
    }

    /// Text and payload of the given rowids (any order).
    pub async fn hit_rows(&self, pks: &[i64]) -> Result<Vec<HitRow>, IndexError> {
        if pks.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; pks.len()].join(",");
        let sql =
            format!("SELECT pk, id, document_id, chapter, text, payload FROM chunks WHERE pk IN ({placeholders})");
        let mut query = sqlx::query_as(&sql);
        for pk in pks {
            query = query.bind(pk);
        }
        query.fetch_all(&self.pool).await.map_err(|e| self.err("fetch hits", e))
    }

    /// Drops all chunks, documents and the model, then recreates the schema,
    /// inside `tx` (faster than row-by-row deletes).
    pub async fn clear(&self, tx: &mut Transaction<'_, Sqlite>) -> Result<(), IndexError> {
        for statement in DROP_DATA.iter().chain(SCHEMA) {
            sqlx::query(statement).execute(&mut **tx).await.map_err(|e| self.err("clear", e))?;
        }
        Ok(())
    }

    /// Runs `SELECT 1`.
    pub async fn ping(&self) -> Result<(), IndexError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(|e| self.err("health check", e))
    }
}

/// Builds a [`IndexError::Storage`].
fn storage(location: &str, operation: &'static str, e: sqlx::Error) -> IndexError {
    IndexError::Storage { location: location.to_owned(), operation, source: Box::new(e) }
}
