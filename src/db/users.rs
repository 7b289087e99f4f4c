//! Accounts: one row per reader or admin, found by id or by normalised e-mail address.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{Db, DbError};
use crate::on_pool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub name: Option<String>,
    pub profile: Json<serde_json::Value>,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, email, password_hash, name, profile, role, created_at, updated_at, password_changed_at";

impl Db {
    /// Inserts a new account; `Ok(false)` when the e-mail address is already registered.
    pub async fn insert_user(&self, user: &UserRecord) -> Result<bool, DbError> {
        let done = on_pool!(self, write, pool => sqlx::query(
            "INSERT INTO users (id, email, password_hash, name, profile, role, created_at, updated_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&user.id).bind(&user.email).bind(&user.password_hash).bind(&user.name).bind(&user.profile)
        .bind(&user.role).bind(user.created_at).bind(user.updated_at).bind(user.password_changed_at)
        .execute(pool).await.map(|_| ()));
        match done {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(email).fetch_optional(pool).await?))
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
    }

    /// Accounts, oldest first.
    pub async fn users(&self, offset: i64, limit: i64) -> Result<Vec<UserRecord>, DbError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(limit).bind(offset).fetch_all(pool).await?))
    }

    /// Replaces the name and profile.
    pub async fn update_user_details(
        &self,
        id: &str,
        name: Option<&str>,
        profile: &serde_json::Value,
    ) -> Result<(), DbError> {
        on_pool!(self, write, pool => sqlx::query("UPDATE users SET name = $1, profile = $2, updated_at = $3 WHERE id = $4")
            .bind(name).bind(Json(profile)).bind(Utc::now()).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Sets a new password hash and ends every session of the account, atomically.
    pub async fn change_password(&self, id: &str, password_hash: &str) -> Result<(), DbError> {
        let now = Utc::now();
        on_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3")
                .bind(password_hash).bind(now).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets the role of the account with this e-mail address; `Ok(false)` when there is none.
    pub async fn set_user_role(&self, email: &str, role: &str) -> Result<bool, DbError> {
        let done = on_pool!(self, write, pool => sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE email = $3")
            .bind(role).bind(Utc::now()).bind(email).execute(pool).await?.rows_affected());
        Ok(done > 0)
    }
}
