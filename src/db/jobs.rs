//! Ingestion jobs submitted over HTTP: queued → running → succeeded | failed, with the sync
//! summary or the error, so clients can poll `GET /api/v1/jobs/{id}`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::{Db, DbError};
use crate::on_pool;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobRecord {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub requested_by: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Json<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Json<serde_json::Value>>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, kind, status, requested_by, payload, result, error, created_at, started_at, finished_at";

impl Db {
    pub async fn create_job(&self, id: &str, kind: &str, payload: &serde_json::Value) -> Result<(), DbError> {
        on_pool!(self, write "jobs.create_job", pool => sqlx::query(
            "INSERT INTO ingest_jobs (id, kind, status, payload, created_at) VALUES ($1, $2, 'queued', $3, $4)"
        ).bind(id).bind(kind).bind(Json(payload)).bind(Utc::now()).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn start_job(&self, id: &str) -> Result<(), DbError> {
        on_pool!(self, write "jobs.start_job", pool => sqlx::query("UPDATE ingest_jobs SET status = 'running', started_at = $2 WHERE id = $1")
            .bind(id).bind(Utc::now()).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records the end of a job: its result on success, its error otherwise.
    pub async fn finish_job(&self, id: &str, outcome: Result<serde_json::Value, String>) -> Result<(), DbError> {
        let (status, result, error) = match outcome {
            Ok(result) => ("succeeded", Some(Json(result)), None),
            Err(error) => ("failed", None, Some(error)),
        };
        on_pool!(self, write "jobs.finish_job", pool => sqlx::query(
            "UPDATE ingest_jobs SET status = $2, result = $3, error = $4, finished_at = $5 WHERE id = $1"
        ).bind(id).bind(status).bind(result).bind(error).bind(Utc::now()).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRecord>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM ingest_jobs WHERE id = $1");
        Ok(on_pool!(self, "jobs.job", pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }
}
