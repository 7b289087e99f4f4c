//! Chapter translations and their shared cache.
//!
//! A *chapter* is one ingested Markdown, MDX or plain-text document: the page a reader opens,
//! grouped and ordered by its `_category_.json` folder (see [`crate::db::chapters`]). Its stored
//! source is what gets translated. A translation is paid once per chapter version: the cache
//! (`translations`) is keyed by (content hash, language, model), where the content hash covers the
//! chapter's source *and* the translator's recipe (prompt and glossary), so an edited chapter or
//! glossary is translated afresh and older versions are purged. Each reader's request is recorded
//! (`user_chapter_translations`) and grants access for `DOCENT_TRANSLATE__EXPIRY_DAYS`.
//!
//! The work itself ([`translator`]): untouchable spans become placeholder tokens ([`protect`]),
//! the chapter is cut at headings into pieces within a character budget ([`sections`]), each
//! piece goes to the chat model chain ([`prompt`]) and comes back verified ([`verify`]) or is
//! refused. Concurrent requests for the same key share one translation ([`flight`]), and across
//! replicas only the one holding the key's lease translates ([`claim`]).

pub mod claim;
pub mod error;
pub mod flight;
mod inline;
pub mod language;
pub mod prompt;
pub mod protect;
pub mod sections;
pub mod translator;
pub mod verify;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::Instrument;

pub use error::TranslateError;
pub use language::Language;

use crate::access::{QuotaService, Subject};
use crate::config::TranslateSettings;
use crate::db::Db;
use crate::db::chapters::ChapterSource;
use crate::db::translations::{TranslationRecord, UserTranslationRecord};
use crate::llm::ChatModel;
use claim::{Claims, Turn};
use flight::{CacheKey, FlightResult, Flights};
use translator::{Meter, Translator};

/// A translation handed to a reader.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub record: Arc<TranslationRecord>,
    /// Whether this request was served without paying for a translation (a cached one, or one
    /// another request had already started).
    pub from_cache: bool,
    /// When the reader's access to it ends (renewed by each request).
    pub expires_at: DateTime<Utc>,
}

/// Translates chapters, caches them, and records who asked. Cheap to clone.
#[derive(Clone)]
pub struct TranslationService {
    db: Db,
    llm: Option<Arc<dyn ChatModel>>,
    quotas: QuotaService,
    translator: Translator,
    /// What besides the chapter's source decides a translation (prompt, glossary).
    recipe: Arc<String>,
    expiry: chrono::Duration,
    flights: Flights,
    claims: Claims,
}

impl TranslationService {
    pub fn new(db: Db, llm: Option<Arc<dyn ChatModel>>, quotas: QuotaService, settings: &TranslateSettings) -> Self {
        let terms = settings.terms();
        let recipe = format!("translate-v1\0{}\0{}", prompt::TEMPLATE, terms.join("\n"));
        let translator = Translator {
            terms: Arc::new(terms),
            section_chars: settings.section_chars,
            parallel_sections: settings.parallel_sections,
        };
        let expiry = chrono::Duration::days(i64::from(settings.expiry_days));
        let claims = Claims::new(db.clone());
        Self { db, llm, quotas, translator, recipe: Arc::new(recipe), expiry, flights: Flights::default(), claims }
    }

    /// Translations running in this process right now.
    pub fn in_progress(&self) -> usize {
        self.flights.len()
    }

    /// A reader asks for `chapter_id` in `language`: served from the cache, or translated (and
    /// charged to `subject`'s token quota), then recorded as the reader's for the expiry period.
    pub async fn request(
        &self,
        reader: &str,
        subject: &Subject,
        chapter_id: &str,
        language: &Language,
    ) -> Result<Delivered, TranslateError> {
        let span = tracing::info_span!("translate.chapter", chapter = chapter_id, language = %language);
        let result: Result<Delivered, TranslateError> = async {
            let chapter = self.chapter(chapter_id).await?;
            let hash = self.content_hash(&chapter.content);
            let (record, from_cache) = self.obtain(chapter, &hash, language, subject).await?;
            let expires_at = self.grant(reader, chapter_id, language, &hash).await?;
            Ok(Delivered { record, from_cache, expires_at })
        }
        .instrument(span)
        .await;
        let outcome = match &result {
            Ok(d) if d.from_cache => "cache_hit",
            Ok(_) => "translated",
            Err(err) => err.outcome(),
        };
        metrics::counter!("docent_translation_requests_total", "outcome" => outcome).increment(1);
        result
    }

    /// The reader's translation of `chapter_id` in `language`, if they asked for it and their
    /// access has not expired, in the chapter's current version.
    pub async fn read(&self, reader: &str, chapter_id: &str, language: &Language) -> Result<Delivered, TranslateError> {
        let chapter = self.chapter(chapter_id).await?;
        let (chapter_id, lang) = (chapter.id.clone(), language.to_string());
        let request = self.db.user_translation(reader, &chapter_id, &lang, Utc::now()).await?;
        let request = request
            .ok_or_else(|| TranslateError::NotRequested { chapter: chapter_id.clone(), language: lang.clone() })?;
        let hash = self.content_hash(&chapter.content);
        let record = self.cached(&hash, language, false).await?;
        let record = record.ok_or(TranslateError::Outdated { chapter: chapter_id, language: lang })?;
        Ok(Delivered { record, from_cache: true, expires_at: request.expires_at })
    }

    async fn chapter(&self, id: &str) -> Result<ChapterSource, TranslateError> {
        self.db.chapter(id).await?.ok_or_else(|| TranslateError::ChapterNotFound(id.to_owned()))
    }

    /// SHA-256 of the chapter's source and the translator's recipe.
    fn content_hash(&self, content: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(content.as_bytes());
        hasher.update([0u8]);
        hasher.update(self.recipe.as_bytes());
        hex::encode(hasher.finalize())
    }

    /// The cached translation made by the configured model; with `strict` off (or no model
    /// configured), else the newest one by any model.
    async fn cached(
        &self,
        hash: &str,
        language: &Language,
        strict: bool,
    ) -> Result<Option<Arc<TranslationRecord>>, TranslateError> {
        let found = match &self.llm {
            Some(llm) => self.db.cached_translation(hash, language.as_str(), llm.model()).await?,
            None => None,
        };
        let found = match found {
            None if !strict || self.llm.is_none() => self.db.newest_translation(hash, language.as_str()).await?,
            found => found,
        };
        Ok(found.map(Arc::new))
    }

    /// The translation from the cache, or made now (once per key across concurrent requests).
    async fn obtain(
        &self,
        chapter: ChapterSource,
        hash: &str,
        language: &Language,
        subject: &Subject,
    ) -> Result<(Arc<TranslationRecord>, bool), TranslateError> {
        if let Some(hit) = self.cached(hash, language, true).await? {
            metrics::counter!("docent_cache_hits_total", "cache" => "translations").increment(1);
            return Ok((hit, true));
        }
        metrics::counter!("docent_cache_misses_total", "cache" => "translations").increment(1);
        let llm = self.llm.clone().ok_or(TranslateError::Unavailable)?;
        self.quotas.ensure_available(subject).await?;
        let key: CacheKey = (hash.to_owned(), language.to_string(), llm.model().to_owned());
        let work = self.work(llm, chapter, key.clone(), language.clone(), subject.clone());
        let (result, joined) = self.flights.run(key, work).await;
        let (record, paid) = result.map_err(TranslateError::Shared)?;
        Ok((record, joined || !paid))
    }

    /// The flight translating `chapter`: wait for this replica's turn (another replica may be
    /// translating it already), then translate under the lease, charge the tokens, cache
    /// insert-if-absent, purge the chapter's superseded translations.
    fn work(
        &self,
        llm: Arc<dyn ChatModel>,
        chapter: ChapterSource,
        key: CacheKey,
        language: Language,
        subject: Subject,
    ) -> impl Future<Output = FlightResult> + Send + 'static {
        let (db, quotas, translator, claims) =
            (self.db.clone(), self.quotas.clone(), self.translator.clone(), self.claims.clone());
        async move {
            if let Turn::Cached(done) = claims.acquire(&key).await.map_err(|e| Arc::new(e.into()))? {
                return Ok((Arc::new(done), false));
            }
            let translate = async {
                let (meter, started) = (Meter::default(), Instant::now());
                let result = translator.translate(llm.as_ref(), &chapter.content, &language, &meter).await;
                quotas.settle(&subject, Some(meter.usage())).await;
                let content = result.map_err(Arc::new)?;
                metrics::histogram!("docent_translation_duration_seconds").record(started.elapsed().as_secs_f64());
                let (content_hash, language, model) = key.clone();
                let id = uuid::Uuid::now_v7().to_string();
                let fresh = TranslationRecord {
                    id,
                    chapter_id: chapter.id.clone(),
                    content_hash,
                    language,
                    model,
                    content,
                    created_at: Utc::now(),
                };
                db.insert_translation_if_absent(&fresh).await.map_err(|e| Arc::new(e.into()))
            };
            let stored = claims.hold(&key, translate).await?;
            if let Err(err) = db.purge_superseded_translations(&chapter.id, &stored.content_hash).await {
                tracing::warn!(error = %err, chapter = %chapter.id, "superseded translations not purged yet");
            }
            Ok((Arc::new(stored), true))
        }
    }

    /// Records the reader's request until the expiry; purges requests that expired.
    async fn grant(
        &self,
        reader: &str,
        chapter_id: &str,
        language: &Language,
        hash: &str,
    ) -> Result<DateTime<Utc>, TranslateError> {
        let now = Utc::now();
        let record = UserTranslationRecord {
            user_id: reader.to_owned(),
            chapter_id: chapter_id.to_owned(),
            language: language.to_string(),
            content_hash: hash.to_owned(),
            created_at: now,
            expires_at: now + self.expiry,
        };
        self.db.record_user_translation(&record).await?;
        match self.db.purge_expired_user_translations(now).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired translation requests purged"),
            Err(err) => tracing::warn!(error = %err, "expired translation requests not purged yet"),
        }
        Ok(record.expires_at)
    }
}
