//! `/health` (database and every service), `/health/live` (the process only) and
//! `/health/ready` (database answers and the server is not draining).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::health::{ServiceState, probe_all};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/health/live", get(live)).route("/health/ready", get(ready))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
enum Overall {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Debug, Serialize)]
struct HealthReport {
    status: Overall,
    database: &'static str,
    services: BTreeMap<String, ServiceState>,
    version: &'static str,
    timestamp: String,
}

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

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "alive" }))
}

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
