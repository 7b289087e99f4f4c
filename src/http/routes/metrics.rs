//! `GET /metrics`: the Prometheus text exposition. Scrape-time gauges (database, pool, index,
//! disk, backups) are sampled first so every scrape is current.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::{ApiError, AppState};
use crate::ops::gauges::{self, Sources};

/// The content type of the Prometheus text format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(app): State<AppState>) -> Result<Response, ApiError> {
    let sources = Sources { settings: &app.settings, db: &app.db, index: app.index.as_ref(), probes: &app.probes };
    gauges::sample(sources).await;
    let body = crate::telemetry::metrics::render()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the metrics recorder is not installed")))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, EXPOSITION)], body).into_response())
}
