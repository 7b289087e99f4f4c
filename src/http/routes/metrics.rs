//! `GET /metrics`: the Prometheus text exposition. Scrape-time gauges (database, pool, index,
//! disk, backups) are sampled first so every scrape is current.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::{ApiError, AppState};
use crate::ops::gauges::{self, Sources};

/// The content type of the Prometheus text format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Every metric in the Prometheus text format (served on `DOCENT_METRICS__ADDR` instead when set).
#[utoipa::path(
    get, path = "/metrics", tag = "metrics",
    responses((status = 200, description = "The exposition; names, labels and buckets in deploy/METRICS.md.", body = String, content_type = "text/plain")),
)]
async fn metrics(State(app): State<AppState>) -> Result<Response, ApiError> {
    let sources = Sources { settings: &app.settings, db: &app.db, index: app.index.as_ref(), probes: &app.probes };
    gauges::sample(sources).await;
    let body = crate::telemetry::metrics::render()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the metrics recorder is not installed")))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, EXPOSITION)], body).into_response())
}
