//! The translation cache and each reader's requests. `translations` holds one translated text per
//! (content hash, language, model), shared by every reader and written insert-if-absent, so two
//! replicas finishing the same translation keep one row. `user_chapter_translations` records that
//! a reader asked for a chapter in a language and until when that grants access; expired rows are
//! purged whenever a request is recorded. `translation_claims` leases a key to the replica
//! translating it, so other replicas wait for that translation instead of paying for it too.

use chrono::{DateTime, Utc};

use super::{Db, DbError};
use crate::on_pool;

/// One cached translation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TranslationRecord {
    pub id: String,
    pub chapter_id: String,
    pub content_hash: String,
    pub language: String,
    pub model: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// A reader's request for a chapter in a language.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserTranslationRecord {
    pub user_id: String,
    pub chapter_id: String,
    pub language: String,
    pub content_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const TRANSLATION_COLUMNS: &str = "id, chapter_id, content_hash, language, model, content, created_at";

impl Db {
    /// The cached translation for this key, if any.
    pub async fn cached_translation(
        &self,
        content_hash: &str,
        language: &str,
        model: &str,
    ) -> Result<Option<TranslationRecord>, DbError> {
        let sql = format!(
            "SELECT {TRANSLATION_COLUMNS} FROM translations WHERE content_hash = $1 AND language = $2 AND model = $3"
        );
        Ok(on_pool!(self, "translations.cached_translation", pool => sqlx::query_as(&sql)
            .bind(content_hash).bind(language).bind(model).fetch_optional(pool).await?))
    }

    /// The newest cached translation of this content in `language`, by any model.
    pub async fn newest_translation(
        &self,
        content_hash: &str,
        language: &str,
    ) -> Result<Option<TranslationRecord>, DbError> {
        let sql = format!(
            "SELECT {TRANSLATION_COLUMNS} FROM translations WHERE content_hash = $1 AND language = $2 \
             ORDER BY created_at DESC, id LIMIT 1"
        );
        Ok(on_pool!(self, "translations.newest_translation", pool => sqlx::query_as(&sql)
            .bind(content_hash).bind(language).fetch_optional(pool).await?))
    }

    /// Stores `record` unless its key is cached already; returns the row that is cached (the
    /// existing one when another writer got there first).
    pub async fn insert_translation_if_absent(&self, record: &TranslationRecord) -> Result<TranslationRecord, DbError> {
        on_pool!(self, write "translations.insert_translation_if_absent", pool => sqlx::query(
            "INSERT INTO translations (id, chapter_id, content_hash, language, model, content, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (content_hash, language, model) DO NOTHING",
        )
        .bind(&record.id).bind(&record.chapter_id).bind(&record.content_hash).bind(&record.language)
        .bind(&record.model).bind(&record.content).bind(record.created_at)
        .execute(pool).await.map(|_| ()))?;
        let stored = self.cached_translation(&record.content_hash, &record.language, &record.model).await?;
        Ok(stored.unwrap_or_else(|| record.clone()))
    }

    /// Deletes the chapter's translations of other versions (its content changed since) and
    /// those of chapters that no longer exist; returns how many.
    pub async fn purge_superseded_translations(&self, chapter_id: &str, current_hash: &str) -> Result<u64, DbError> {
        Ok(on_pool!(self, write "translations.purge_superseded_translations", pool => sqlx::query(
            "DELETE FROM translations WHERE (chapter_id = $1 AND content_hash <> $2) \
             OR chapter_id NOT IN (SELECT id FROM documents)",
        )
        .bind(chapter_id).bind(current_hash).execute(pool).await?.rows_affected()))
    }

    /// Records (or renews) a reader's request: one row per user, chapter and language.
    pub async fn record_user_translation(&self, record: &UserTranslationRecord) -> Result<(), DbError> {
        let id = uuid::Uuid::now_v7().to_string();
        on_pool!(self, write "translations.record_user_translation", pool => sqlx::query(
            "INSERT INTO user_chapter_translations (id, user_id, chapter_id, language, content_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, chapter_id, language) DO UPDATE SET \
             content_hash = excluded.content_hash, created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(id).bind(&record.user_id).bind(&record.chapter_id).bind(&record.language).bind(&record.content_hash)
        .bind(record.created_at).bind(record.expires_at)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The reader's request for the chapter in `language`, unless it expired by `now`.
    pub async fn user_translation(
        &self,
        user_id: &str,
        chapter_id: &str,
        language: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserTranslationRecord>, DbError> {
        let sql = "SELECT user_id, chapter_id, language, content_hash, created_at, expires_at \
                   FROM user_chapter_translations \
                   WHERE user_id = $1 AND chapter_id = $2 AND language = $3 AND expires_at > $4";
        Ok(on_pool!(self, "translations.user_translation", pool => sqlx::query_as(sql)
            .bind(user_id).bind(chapter_id).bind(language).bind(now).fetch_optional(pool).await?))
    }

    /// Deletes readers' requests that expired by `now`; returns how many.
    pub async fn purge_expired_user_translations(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        Ok(on_pool!(self, write "translations.purge_expired_user_translations", pool => sqlx::query(
            "DELETE FROM user_chapter_translations WHERE expires_at <= $1",
        )
        .bind(now).execute(pool).await?.rows_affected()))
    }

    /// Leases the translation of (`content_hash`, `language`, `model`) to replica `by` until
    /// `until`: true when the key was free, its lease had run out by `now`, or `by` held it
    /// already (a renewal). One atomic upsert, so two replicas never both win.
    pub async fn claim_translation(
        &self,
        (content_hash, language, model): (&str, &str, &str),
        by: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let won: Option<(String,)> = on_pool!(self, write "translations.claim_translation", pool => sqlx::query_as(
            "INSERT INTO translation_claims (content_hash, language, model, claimed_by, claimed_until) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (content_hash, language, model) DO UPDATE SET \
             claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until \
             WHERE translation_claims.claimed_until <= $6 OR translation_claims.claimed_by = $4 \
             RETURNING claimed_by",
        )
        .bind(content_hash).bind(language).bind(model).bind(by).bind(until).bind(now)
        .fetch_optional(pool).await?);
        Ok(won.is_some())
    }

    /// Ends replica `by`'s lease of the key (nothing when another replica holds it), and clears
    /// leases that ran out by `now` (left by replicas that died on keys nobody asked for since).
    pub async fn release_translation(
        &self,
        (content_hash, language, model): (&str, &str, &str),
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_pool!(self, write "translations.release_translation", pool => sqlx::query(
            "DELETE FROM translation_claims \
             WHERE (content_hash = $1 AND language = $2 AND model = $3 AND claimed_by = $4) OR claimed_until <= $5",
        )
        .bind(content_hash).bind(language).bind(model).bind(by).bind(now)
        .execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}
