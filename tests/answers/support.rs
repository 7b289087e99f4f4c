//! Helpers: an app with the Normans chapter of squad-dev ingested, and chat requests.

use axum::Router;
use docent::components::Components;
use docent::config::Settings;
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use serde_json::Value;

use crate::calibration::squad_dir;
use crate::common::{TestApp, spawn_app_with};

/// The app with `normans.md` ingested.
pub async fn app_with_book() -> TestApp {
    app_with_book_configured(|_| {}).await
}

/// The app with `normans.md` ingested, after `configure` adjusts its settings.
pub async fn app_with_book_configured(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let app = spawn_app_with(configure, Router::new()).await;
    let book = tempfile::tempdir().unwrap();
    std::fs::copy(squad_dir().join("book/normans.md"), book.path().join("normans.md")).unwrap();
    ingest(&app, book.path()).await;
    app
}

/// Ingests the book in `dir` into the running app's database and index.
pub async fn ingest(app: &TestApp, dir: &std::path::Path) {
    let state = &app.state;
    let components = Components {
        db: state.db.clone(),
        embedder: state.retriever.embedder().clone(),
        index: state.index.clone(),
        retriever: state.retriever.clone(),
        llm: state.llm.clone(),
        llm_links: Vec::new(),
    };
    let options = SyncOptions::from_settings(&state.settings, false);
    sync_paths(&components, &[dir.to_path_buf()], &options, &NoProgress).await.expect("book ingested");
}

/// POSTs `body` to /api/v1/chat, with `cookie` when given.
pub async fn chat(app: &TestApp, body: Value, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app.client.post(app.url("/api/v1/chat")).json(&body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("request sent")
}

/// The `name=value` part of the response's `docent_anon` Set-Cookie.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers().get("set-cookie").expect("a session cookie is set").to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// The id of the ingested Normans document.
pub async fn normans_document_id(app: &TestApp) -> String {
    let docs = app.state.db.documents(docent::db::documents::Page { offset: 0, limit: 10 }).await.unwrap();
    docs.into_iter().next().expect("one document").id
}

/// `(event, data)` pairs of an SSE body.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let event = block.lines().find_map(|l| l.strip_prefix("event:"))?.trim().to_owned();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
            Some((event, serde_json::from_str(&data).unwrap_or(Value::Null)))
        })
        .collect()
}
