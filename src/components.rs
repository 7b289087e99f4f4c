//! The long-lived parts every command shares — database pool, embedder (local or remote),
//! index, retriever (with its optional reranker) and the chat model chain — opened once from
//! the settings. `serve`, `ingest`, `search`, `ask` and `eval` all start here.

use std::sync::Arc;

use crate::answer::background::Calibration;
use crate::answer::llm::LlmLimits;
use crate::answer::{AnswerService, ExtractiveParams};
use crate::config::{EmbedProvider, RerankerKind, Settings};
use crate::db::Db;
use crate::db::migrate;
use crate::embed::local::{LocalEmbedder, LocalEmbedderOptions};
use crate::embed::remote::{CohereEmbedder, OpenAiEmbedder, RemoteEmbedConfig};
use crate::embed::{EmbedError, Embedder};
use crate::health::{ServiceProbe, ServiceState};
use crate::index::embedded::EmbeddedIndex;
use crate::index::{IndexError, VectorIndex};
use crate::llm::cohere::CohereReranker;
use crate::llm::{ChatModel, LlmError, ProviderEndpoint, ProviderHealth, ProviderKind};
use crate::retrieve::Retriever;
use crate::startup::StartupError;

#[derive(Clone)]
pub struct Components {
    pub db: Db,
    pub embedder: Arc<dyn Embedder>,
    pub index: Arc<dyn VectorIndex>,
    pub retriever: Retriever,
    /// The resilient provider chain; `None` when answers are extractive.
    pub llm: Option<Arc<dyn ChatModel>>,
    /// Each link of the chain, for `/health`.
    pub llm_links: Vec<Arc<dyn ChatModel>>,
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
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|source| StartupError::DataDir { path: settings.data_dir.display().to_string(), source })?;
        // The model (read and packed on a blocking thread) and the index (read from SQLite and
        // analysed on rayon) load side by side: start-up waits for the slower, not the sum.
        let index_path = settings.data_dir.join("index.db");
        let (embedder, index) = tokio::try_join!(load_embedder(settings), async {
            Ok::<_, StartupError>(EmbeddedIndex::open(&index_path).await?)
        })?;
        let index: Arc<dyn VectorIndex> = Arc::new(index);
        let mut retriever = Retriever::new(embedder.clone(), index.clone(), settings.retrieve.clone());
        if settings.retrieve.reranker == RerankerKind::Cohere {
            let mut endpoint = endpoint(settings, ProviderKind::Cohere);
            endpoint.model.clone_from(&settings.retrieve.rerank_model);
            retriever = retriever.with_reranker(Arc::new(CohereReranker::new(http_client(settings)?, endpoint)));
        }
        let (llm, llm_links) = chat_chain(settings)?;
        Ok(Self { db, embedder, index, retriever, llm, llm_links })
    }

    /// The answer service: extractive, or the chat chain with the configured caps and fallback.
    pub fn answers(&self, settings: &Settings) -> AnswerService {
        let service = AnswerService::new(self.retriever.clone(), self.db.clone(), ExtractiveParams::default())
            .with_history_turns(settings.llm.history_turns);
        let Some(llm) = &self.llm else { return service };
        let limits = LlmLimits {
            context_tokens: settings.llm.context_tokens,
            max_answer_tokens: settings.llm.max_answer_tokens,
        };
        service.with_chat_model_limited(llm.clone(), limits, settings.llm_falls_back_to_extractive())
    }

    /// [`Components::answers`], with the refusal threshold set from the book's background
    /// (kept or measured, see `answer::background`) when adaptive refusal is on; a failed
    /// measure is logged and the floor stays.
    pub async fn measured_answers(&self, settings: &Settings) -> (AnswerService, Option<Calibration>) {
        let service = self.answers(settings);
        if !settings.llm.adaptive_refusal {
            return (service, None);
        }
        match service.calibrate_kept(&settings.data_dir).await {
            Ok(c) => {
                tracing::info!(background = c.background, threshold = c.threshold, "refusal threshold set");
                (service, Some(c))
            }
            Err(err) => {
                tracing::warn!(error = %err, "measuring the book's background failed; refusing below the floor");
                (service, None)
            }
        }
    }

    /// What `/health` reports besides the database.
    pub fn probes(&self) -> Vec<Arc<dyn ServiceProbe>> {
        let mut probes: Vec<Arc<dyn ServiceProbe>> =
            vec![Arc::new(IndexProbe(self.index.clone())), Arc::new(EmbedderProbe(self.embedder.clone()))];
        for kind in [ProviderKind::Cohere, ProviderKind::OpenAi, ProviderKind::Anthropic] {
            let link = self.llm_links.iter().find(|l| l.name() == kind.as_str()).cloned();
            probes.push(Arc::new(LlmProbe { name: format!("llm_{}", kind.as_str()), link }));
        }
        probes
    }
}

fn http_client(settings: &Settings) -> Result<reqwest::Client, StartupError> {
    let connect = std::time::Duration::from_millis(settings.llm.connect_timeout_ms);
    crate::llm::http::client(connect).map_err(StartupError::Llm)
}

fn endpoint(settings: &Settings, kind: ProviderKind) -> ProviderEndpoint {
    settings.endpoint(kind).expect("remote providers have endpoints")
}

/// The chain as one model (`None` when answers are extractive) and its links.
type ChatChain = (Option<Arc<dyn ChatModel>>, Vec<Arc<dyn ChatModel>>);

/// The configured chain of providers, each with retries, deadlines and a breaker.
fn chat_chain(settings: &Settings) -> Result<ChatChain, StartupError> {
    if settings.llm_chain().is_empty() {
        return Ok((None, Vec::new()));
    }
    let chain = crate::llm::resilience::build_chain(&settings.llm_settings(), Vec::new()).map_err(StartupError::Llm)?;
    let links = chain.links().to_vec();
    tracing::info!(chain = ?links.iter().map(|l| l.name()).collect::<Vec<_>>(), "chat model chain ready");
    Ok((Some(Arc::new(chain)), links))
}

pub async fn load_embedder(settings: &Settings) -> Result<Arc<dyn Embedder>, StartupError> {
    let (kind, default_model) = match settings.embed.provider {
        EmbedProvider::Local => return Ok(load_local_embedder(settings).await?),
        EmbedProvider::Cohere => (ProviderKind::Cohere, "embed-v4.0"),
        EmbedProvider::Openai => (ProviderKind::OpenAi, "text-embedding-3-small"),
    };
    let endpoint = endpoint(settings, kind);
    let config = RemoteEmbedConfig {
        base_url: endpoint.base_url,
        api_key: endpoint.api_key,
        model: settings.embed.remote_model.clone().unwrap_or_else(|| default_model.to_owned()),
        dimension: settings.embed.dimension.unwrap_or(1536),
        max_tokens: 8192,
    };
    let client = http_client(settings)?;
    Ok(match kind {
        ProviderKind::Cohere => Arc::new(CohereEmbedder::new(client, config)),
        _ => Arc::new(OpenAiEmbedder::new(client, config)),
    })
}

async fn load_local_embedder(settings: &Settings) -> Result<Arc<dyn Embedder>, EmbedError> {
    let dir = settings.embed.model_dir.clone();
    let embed = &settings.embed;
    let options =
        LocalEmbedderOptions { threads: embed.threads, batch_size: embed.batch_size, precision: embed.precision };
    let embedder = tokio::task::spawn_blocking(move || LocalEmbedder::load(&dir, options))
        .await
        .map_err(|e| EmbedError::Inference(format!("model loading task failed: {e}")))??;
    Ok(Arc::new(embedder))
}

pub async fn ensure_migrated(db: &Db, settings: &Settings) -> Result<(), StartupError> {
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

/// One provider under `services` in `/health`: its link's state (`inactive` while its breaker
/// is open), or `unconfigured` when it is not in the chain.
struct LlmProbe {
    name: String,
    link: Option<Arc<dyn ChatModel>>,
}

#[async_trait::async_trait]
impl ServiceProbe for LlmProbe {
    fn name(&self) -> &str {
        &self.name
    }

    async fn probe(&self) -> ServiceState {
        match self.link.as_ref().map(|l| l.probe()) {
            Some(ProviderHealth::Active) => ServiceState::Active,
            Some(ProviderHealth::Inactive) => ServiceState::Inactive,
            Some(ProviderHealth::Unconfigured) | None => ServiceState::Unconfigured,
        }
    }
}

impl From<LlmError> for StartupError {
    fn from(err: LlmError) -> Self {
        StartupError::Llm(err)
    }
}

impl From<IndexError> for StartupError {
    fn from(err: IndexError) -> Self {
        StartupError::Index(err)
    }
}
