//! Helpers: a small Docusaurus book written to a temporary folder and ingested, an app whose
//! chat model is the stub translator, and the translation requests of a signed-in reader.

use std::path::Path;

use axum::Router;
use docent::components::Components;
use docent::config::{ChatProvider, ProviderConfig, Settings};
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use serde_json::{Value, json};

use crate::access_support::Reader;
use crate::common::{TestApp, spawn_app_with};
use crate::stub::TranslatorStub;

/// The chapter every test translates: front matter, code, links, JSX, a table, an admonition,
/// a glossary term, a repeated heading, a setext heading and an explicit heading id.
pub const NODES: &str = r#"---
title: Nodes
sidebar_position: 1
---

# Nodes

A ROS 2 node is a process that computes. Read the [guide](https://docs.ros.org/en/rolling/Concepts.html) or visit https://ros.org/.

## Writing a node

Create it with `ros2 pkg create` and then:

```python
import rclpy  # a comment in English stays
node = rclpy.create_node("talker")
```

<Tabs groupId="lang">
<TabItem value="py">Python nodes are simple.</TabItem>
</Tabs>

## Writing a node

The same title again, so its anchor is numbered.

Running a node
--------------

Start it with `ros2 run`.

### Parameters {#params}

| Name | Meaning |
|------|---------|
| `rate` | How often the ROS 2 node publishes |

:::tip Keep it small
One node, one job.
:::
"#;

/// Writes the book: a `Robots` group (nodes, topics), a top-level intro and an HTML appendix.
pub fn write_book(dir: &Path) {
    let robots = dir.join("01-robots");
    std::fs::create_dir_all(&robots).unwrap();
    std::fs::write(robots.join("_category_.json"), r#"{"label": "Robots", "position": 2}"#).unwrap();
    std::fs::write(robots.join("01-nodes.md"), NODES).unwrap();
    std::fs::write(robots.join("02-topics.md"), "# Topics\n\nTopics carry messages between nodes.\n").unwrap();
    std::fs::write(dir.join("intro.md"), "---\nsidebar_position: 1\n---\n\n# Welcome\n\nThis book is about robots.\n")
        .unwrap();
    let html = "<html><body><main><h1>Appendix</h1><p>Extra reading about robots.</p></main></body></html>";
    std::fs::write(dir.join("appendix.html"), html).unwrap();
}

/// Points the chat model at the stub (one attempt, no retries) with `ROS 2 node` in the glossary.
pub fn use_stub(settings: &mut Settings, stub: &TranslatorStub) {
    settings.llm.provider = ChatProvider::Openai;
    settings.llm.max_attempts = 1;
    settings.openai =
        ProviderConfig { api_key: Some("test-key".to_owned().into()), base_url: Some(stub.url.clone()), model: None };
    settings.translate.glossary = vec!["ROS 2 node".into()];
}

/// An app translating with `stub`, after `configure`, with the book ingested from `book`.
pub async fn app_with(stub: &TranslatorStub, book: &Path, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let stub = stub.clone();
    let app = spawn_app_with(
        move |s| {
            use_stub(s, &stub);
            configure(s);
        },
        Router::new(),
    )
    .await;
    ingest(&app, book).await;
    app
}

/// A book in a fresh folder and an app translating it with a fresh stub.
pub async fn translating_app() -> (TestApp, TranslatorStub, tempfile::TempDir) {
    let (stub, book) = (TranslatorStub::start().await, tempfile::tempdir().unwrap());
    write_book(book.path());
    let app = app_with(&stub, book.path(), |_| {}).await;
    (app, stub, book)
}

/// Ingests (syncs) the book in `dir` into the running app.
pub async fn ingest(app: &TestApp, dir: &Path) {
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

/// The id of the chapter ingested from `source_path` (e.g. `01-robots/01-nodes.md`).
pub async fn chapter_id(app: &TestApp, source_path: &str) -> String {
    let chapters = app.state.db.chapters().await.unwrap();
    chapters.into_iter().find(|c| c.source_path == source_path).expect("chapter ingested").id
}

/// `POST /api/v1/chapters/{id}/translations` as `reader` with `body`.
pub async fn request(app: &TestApp, reader: &Reader, chapter: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/chapters/{chapter}/translations")))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Requests `chapter` in `language` and returns the 200 body.
pub async fn translate(app: &TestApp, reader: &Reader, chapter: &str, language: &str) -> Value {
    let response = request(app, reader, chapter, json!({ "language": language })).await;
    assert_eq!(response.status(), 200, "translation request");
    response.json().await.unwrap()
}

/// `GET /api/v1/chapters/{id}/translations/{language}` as `reader`.
pub async fn read(app: &TestApp, reader: &Reader, chapter: &str, language: &str) -> reqwest::Response {
    let path = format!("/api/v1/chapters/{chapter}/translations/{language}");
    app.client.get(app.url(&path)).header("cookie", reader.cookie()).send().await.unwrap()
}
