//! API keys: the id is public, only the SHA-256 of the secret is stored; usage counters are
//! added in batches.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Db, DbError};
use crate::on_pool;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: String,
    /// Comma-separated scopes, e.g. `chat,ingest`.
    pub scopes: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub request_count: i64,
    pub token_count: i64,
}

const KEY_COLUMNS: &str = "id, name, secret_hash, scopes, created_by, created_at, expires_at, revoked_at, \
                           last_used_at, request_count, token_count";

impl Db {
    pub async fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query(
            "INSERT INTO api_keys (id, name, secret_hash, scopes, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.id).bind(&k.name).bind(&k.secret_hash).bind(&k.scopes).bind(&k.created_by)
        .bind(k.created_at).bind(k.expires_at)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, DbError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// Every key, newest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, DbError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?))
    }

    /// Marks the key revoked (keeping the first revocation time); `Ok(false)` when there is no such key.
    pub async fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, DbError> {
        let done = on_pool!(self, write, pool => sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
        )
        .bind(at).bind(id).execute(pool).await?.rows_affected());
        Ok(done > 0)
    }

    /// Adds a batch of usage to a key.
    pub async fn add_api_key_usage(
        &self,
        id: &str,
        requests: i64,
        tokens: i64,
        last_used: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query(
            "UPDATE api_keys SET request_count = request_count + $1, token_count = token_count + $2, \
             last_used_at = COALESCE($3, last_used_at) WHERE id = $4",
        )
        .bind(requests).bind(tokens).bind(last_used).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
