//! Health of the dependencies the service uses besides its database (vector store, embedder,
//! LLM providers, cache…). Each dependency implements [`ServiceProbe`]; `/health` asks them all
//! concurrently, each under a short timeout so a hung dependency cannot hang the endpoint.

use std::time::Duration;

use serde::Serialize;

/// What `/health` says about one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Configured and answering.
    Active,
    /// Configured but failing, timing out, or switched off by its circuit breaker.
    Inactive,
    /// Not configured in this deployment.
    Unconfigured,
}

#[async_trait::async_trait]
pub trait ServiceProbe: Send + Sync {
    /// The key under `services` in `/health`, e.g. `vector_store`.
    fn name(&self) -> &str;
    async fn probe(&self) -> ServiceState;
}

/// Probes every service concurrently; a probe that exceeds `timeout` counts as inactive.
pub async fn probe_all(probes: &[std::sync::Arc<dyn ServiceProbe>], timeout: Duration) -> Vec<(String, ServiceState)> {
    let checks = probes.iter().map(|p| async move {
        let state = tokio::time::timeout(timeout, p.probe()).await.unwrap_or(ServiceState::Inactive);
        (p.name().to_owned(), state)
    });
    futures::future::join_all(checks).await
}
