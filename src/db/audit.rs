//! The audit log: append-only security events, read newest first by admins.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::{Db, DbError};
use crate::on_pool;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: Json<serde_json::Value>,
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub action: &'static str,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
}

const AUDIT_COLUMNS: &str = "id, at, actor_kind, actor_id, action, target, ip, request_id, details";

impl Db {
    pub async fn append_audit(&self, e: &NewAuditEntry) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query(
            "INSERT INTO audit_log (at, actor_kind, actor_id, action, target, ip, request_id, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Utc::now()).bind(e.actor_kind).bind(&e.actor_id).bind(e.action).bind(&e.target).bind(&e.ip)
        .bind(&e.request_id).bind(Json(&e.details))
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Entries newest first, optionally only one action.
    pub async fn audit_entries(
        &self,
        action: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, DbError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE ($1 IS NULL OR action = $1) ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(action).bind(limit).bind(offset).fetch_all(pool).await?))
    }

    pub async fn audit_count(&self, action: Option<&str>) -> Result<i64, DbError> {
        let sql = "SELECT COUNT(*) FROM audit_log WHERE ($1 IS NULL OR action = $1)";
        Ok(on_pool!(self, pool => sqlx::query_scalar(sql).bind(action).fetch_one(pool).await?))
    }
}
