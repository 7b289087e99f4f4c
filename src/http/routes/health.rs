//! `/health` (database and every service), `/health/live` (the process only) and
//! `/health/ready` (database answers and the server is not draining).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::health::{ServiceState, probe_all};
use crate::http::AppState;
use crate::http::openapi::schemas::{Liveness, Readiness};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(live)).routes(routes!(ready))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Overall {
    Healthy,
    Degraded,
    Unhealthy,
}

/// The database and every configured service.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct HealthReport {
    status: Overall,
    database: &'static str,
    services: BTreeMap<String, ServiceState>,
    version: &'static str,
    timestamp: String,
}

/// The state of the database and of every service (embedder, index, language models…).
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Healthy, or degraded when a service is inactive.", body = HealthReport),
        (status = 503, description = "Unhealthy: the database does not answer.", body = HealthReport),
    ),
)]
async fn health(State(app): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let timeout = Duration::from_millis(app.settings.database.health_timeout_ms);
    let (db, services) = tokio::join!(app.db.ping(timeout), probe_all(&app.probes, timeout));
    let services: BTreeMap<String, ServiceState> = services.into_iter().collect();
    let status = match (&db, services.values().any(|s| *s == ServiceState::Inactive)) {
        (Err(_), _) => Overall::Unhealthy,
        (Ok(()), true) => Overall::Degraded,
        (Ok(()), false) => Overall::Healthy,
    };
    if let Err(err) = &db {
        tracing::warn!(error = %err, "health: database unreachable");
    }
    let code = if matches!(status, Overall::Unhealthy) { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let report = HealthReport {
        status,
        database: if db.is_ok() { "connected" } else { "disconnected" },
        services,
        version: env!("CARGO_PKG_VERSION"),
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    (code, Json(report))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "Alive.", body = Liveness)))]
async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "alive" }))
}

/// Readiness: the database answers and the server is not shutting down.
#[utoipa::path(
    get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve.", body = Readiness),
        (status = 503, description = "Draining or the database does not answer.", body = Readiness),
    ),
)]
async fn ready(State(app): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    if app.lifecycle.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "draining" })));
    }
    let timeout = Duration::from_millis(app.settings.database.health_timeout_ms);
    match app.db.ping(timeout).await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "database_unavailable" })))
        }
    }
}
