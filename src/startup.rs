//! `Application::build(settings)` wires the database, migrations, metrics recorder and router and
//! binds the port (and the admin port for `/metrics` when `DOCENT_METRICS__ADDR` is set);
//! `run_until_stopped()` serves until SIGTERM or SIGINT, then drains.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::access::{InProcessRateLimiter, QuotaService};
use crate::components::Components;
use crate::config::{ConfigError, Settings};
use crate::db::DbError;
use crate::db::migrate::MigrateError;
use crate::embed::EmbedError;
use crate::http::client_ip::TrustedProxies;
use crate::http::limits::RateLimitPolicy;
use crate::http::server::{ServeOptions, serve};
use crate::http::{AppState, Lifecycle, Services, admin_app, app};
use crate::index::IndexError;
use crate::ingest::jobs::JobRunner;
use crate::ingest::sync::SyncOptions;
use crate::translate::TranslationService;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error(
        "{} database migration(s) pending ({}); run `docent migrate up` first, or set DOCENT_AUTO_MIGRATE=true",
        versions.len(),
        versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    PendingMigrations { versions: Vec<i64> },
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Index(IndexError),
    #[error("cannot set up the chat model providers")]
    Llm(#[source] crate::llm::LlmError),
    #[error("cannot reconcile the index with the database")]
    Reconcile(#[source] crate::ingest::sync::SyncError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

pub struct Application {
    listener: TcpListener,
    /// The admin listener serving `/metrics` when `DOCENT_METRICS__ADDR` is set.
    admin: Option<TcpListener>,
    state: AppState,
    router: Router,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with(settings, Router::new()).await
    }

    /// Like [`Application::build`], with `extra` routes mounted inside the middleware stack.
    pub async fn build_with(settings: Settings, extra: Router<AppState>) -> Result<Self, StartupError> {
        crate::install_crypto_provider();
        if settings.metrics.enabled {
            crate::telemetry::metrics::install();
        }
        let components = Components::open(&settings).await?;
        let repaired = crate::ingest::sync::reconcile(&components.db, components.index.as_ref())
            .await
            .map_err(StartupError::Reconcile)?;
        if repaired > 0 {
            tracing::info!(documents = repaired, "index repaired from the database");
        }
        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr).await.map_err(|source| StartupError::Bind { addr, source })?;
        let rate_limits = Arc::new(RateLimitPolicy::from_settings(&settings.rate_limit)?);
        let trusted_proxies = Arc::new(TrustedProxies::from_settings(&settings)?);
        let quotas = QuotaService::new(components.db.clone(), settings.quota.clone());
        let translations =
            TranslationService::new(components.db.clone(), components.llm.clone(), quotas.clone(), &settings.translate);
        let admin = match settings.metrics.addr.clone().filter(|_| settings.metrics.enabled) {
            Some(addr) => Some(TcpListener::bind(&addr).await.map_err(|source| StartupError::Bind { addr, source })?),
            None => None,
        };
        let jobs = JobRunner::new(components.clone(), SyncOptions::from_settings(&settings, false), &settings.data_dir);
        let access = crate::access::AccessService::new(components.db.clone(), settings.access.clone());
        access.spawn_usage_flusher();
        let answers = components.answers(&settings);
        if settings.llm.adaptive_refusal {
            answers.spawn_calibration(settings.data_dir.clone(), crate::answer::background::CHECK_EVERY);
        } else {
            answers.publish_threshold();
        }
        let settings = Arc::new(settings);
        let state = AppState::new(Services {
            settings,
            db: components.db.clone(),
            lifecycle: Arc::new(Lifecycle::default()),
            probes: Arc::new(components.probes()),
            index: components.index.clone(),
            retriever: components.retriever.clone(),
            jobs,
            answers,
            llm: components.llm.clone(),
            access,
            rate_limiter: Arc::new(InProcessRateLimiter::new()),
            rate_limits,
            trusted_proxies,
            quotas,
            translations,
        });
        let router = app(state.clone(), extra);
        crate::memory::release_free();
        Ok(Self { listener, admin, state, router })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port of the admin listener serving `/metrics`, when `DOCENT_METRICS__ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run_until_stopped(self) {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves: readiness turns 503 at once, in-flight requests finish.
    pub async fn run_until(self, stop: impl Future<Output = ()>) {
        let settings = self.state.settings.clone();
        let lifecycle = self.state.lifecycle.clone();
        tracing::info!(port = self.port(), env = ?settings.env, database = ?self.state.db.dialect(), "docent listening");
        let options = ServeOptions {
            header_read_timeout: Duration::from_secs(settings.server.header_read_timeout_secs),
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_secs),
        };
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let admin = self.admin.map(|listener| {
            let (router, mut stopped) = (admin_app(self.state.clone()), stopped.clone());
            tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics on the admin listener");
            tokio::spawn(serve(listener, router, options, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }))
        });
        drop(stopped);
        let stop = async move {
            stop.await;
            lifecycle.start_draining();
            tracing::info!("shutdown requested; draining");
            let _ = stopping.send(true);
        };
        serve(self.listener, self.router, options, stop).await;
        if let Err(err) = self.state.access.flush_usage().await {
            tracing::error!(error = %err, "api key usage could not be written at shutdown");
        }
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        self.state.db.close().await;
        tracing::info!("docent stopped");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
