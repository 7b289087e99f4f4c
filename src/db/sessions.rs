//! Sign-in sessions: only the SHA-256 of the cookie token is stored, with the CSRF token, the
//! absolute expiry and the last time the session was seen (for the idle timeout).

use chrono::{DateTime, Utc};

use super::{Db, DbError};
use crate::on_pool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session found by its token, with the role of its account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionWithRole {
    pub id: String,
    pub user_id: String,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub role: String,
}

impl Db {
    pub async fn insert_session(&self, s: &SessionRecord) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id).bind(&s.user_id).bind(&s.token_hash).bind(&s.csrf_token).bind(s.created_at)
        .bind(s.last_seen_at).bind(s.expires_at).bind(&s.ip).bind(&s.user_agent)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<SessionWithRole>, DbError> {
        let sql = "SELECT s.id, s.user_id, s.csrf_token, s.last_seen_at, s.expires_at, u.role \
                   FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(token_hash).fetch_optional(pool).await?))
    }

    pub async fn touch_session(&self, id: &str, at: DateTime<Utc>) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(at).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes sessions past their absolute expiry; returns how many.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        Ok(on_pool!(self, write, pool => sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now).execute(pool).await?.rows_affected()))
    }
}
