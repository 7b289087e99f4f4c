//! The long-lived parts every command shares — database pool, embedder, index, retriever —
//! opened once from the settings. `serve`, `ingest`, `search` and `eval` all start here.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::db::migrate;
use crate::embed::local::{LocalEmbedder, LocalEmbedderOptions};
use crate::embed::{EmbedError, Embedder};
use crate::health::{ServiceProbe, ServiceState};
use crate::index::embedded::EmbeddedIndex;
use crate::index::{IndexError, VectorIndex};
use crate::retrieve::Retriever;
use crate::startup::StartupError;

#[derive(Clone)]
pub struct Components {
    pub db: Db,
    pub embedder: Arc<dyn Embedder>,
    pub index: Arc<dyn VectorIndex>,
    pub retriever: Retriever,
}

impl Components {
    /// Connects, migrates (or refuses when migrations are pending and auto-migrate is off),
    /// loads the embedder and opens the index, checking it was built by the same model.
    pub async fn open(settings: &Settings) -> Result<Self, StartupError> {
        let components = Self::open_unchecked(settings).await?;
        let (model, dimension) = (components.embedder.model_id().to_owned(), components.embedder.dimension());
        components.index.ensure_model(&model, dimension).await?;
        Ok(components)
    }

    /// Like [`Components::open`] without checking that the index was built by this embedder
    /// (for `docent index rebuild`, which replaces it).
    pub async fn open_unchecked(settings: &Settings) -> Result<Self, StartupError> {
        let db = Db::connect(settings).await?;
        ensure_migrated(&db, settings).await?;
        let embedder = load_embedder(settings).await?;
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|source| StartupError::DataDir { path: settings.data_dir.display().to_string(), source })?;
        let index: Arc<dyn VectorIndex> = Arc::new(EmbeddedIndex::open(&settings.data_dir.join("index.db")).await?);
        let retriever = Retriever::new(embedder.clone(), index.clone(), settings.retrieve.clone());
        Ok(Self { db, embedder, index, retriever })
    }

    /// What `/health` reports besides the database.
    pub fn probes(&self) -> Vec<Arc<dyn ServiceProbe>> {
        vec![Arc::new(IndexProbe(self.index.clone())), Arc::new(EmbedderProbe(self.embedder.clone()))]
    }
}

/// Loads the local embedding model named by the settings (off the async threads).
pub async fn load_embedder(settings: &Settings) -> Result<Arc<dyn Embedder>, EmbedError> {
    let dir = settings.embed.model_dir.clone();
    let options = LocalEmbedderOptions { threads: settings.embed.threads, batch_size: settings.embed.batch_size };
    let embedder = tokio::task::spawn_blocking(move || LocalEmbedder::load(&dir, options))
        .await
        .map_err(|e| EmbedError::Inference(format!("model loading task failed: {e}")))??;
    Ok(Arc::new(embedder))
}

async fn ensure_migrated(db: &Db, settings: &Settings) -> Result<(), StartupError> {
    if settings.auto_migrate() {
        let applied = migrate::up(db).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied migrations");
        }
        return Ok(());
    }
    let pending = migrate::pending(db).await?;
    if pending.is_empty() {
        return Ok(());
    }
    Err(StartupError::PendingMigrations { versions: pending.iter().map(|m| m.version).collect() })
}

struct IndexProbe(Arc<dyn VectorIndex>);

#[async_trait::async_trait]
impl ServiceProbe for IndexProbe {
    fn name(&self) -> &str {
        "vector_store"
    }

    async fn probe(&self) -> ServiceState {
        let up = self.0.health().await.is_ok();
        metrics::gauge!("docent_vector_store_up").set(if up { 1.0 } else { 0.0 });
        if up { ServiceState::Active } else { ServiceState::Inactive }
    }
}

struct EmbedderProbe(Arc<dyn Embedder>);

#[async_trait::async_trait]
impl ServiceProbe for EmbedderProbe {
    fn name(&self) -> &str {
        "embedder"
    }

    /// The local model is loaded at start-up (start-up fails otherwise); counting tokens proves
    /// the tokenizer answers without spending a forward pass.
    async fn probe(&self) -> ServiceState {
        let up = self.0.count_tokens("health") > 0;
        metrics::gauge!("docent_embedder_up").set(if up { 1.0 } else { 0.0 });
        if up { ServiceState::Active } else { ServiceState::Inactive }
    }
}

impl From<IndexError> for StartupError {
    fn from(err: IndexError) -> Self {
        StartupError::Index(err)
    }
}
