//! Ingestion and retrieval end to end: every format, incremental sync, prune, uploads over
//! HTTP, the search API, a crash mid-ingest, concurrent search during re-ingest, and retrieval
//! quality on the development book.

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use docent::components::Components;
use docent::config::Settings;
use docent::index::SearchMode;
use docent::ingest::sync::{NoProgress, Summary, SyncOptions, sync_paths};
use docent::retrieve::SearchRequest;

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books").join(p)
}

fn squad_dir() -> PathBuf {
    std::env::var_os("DOCENT_SQUAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/squad-dev"))
}

struct Book {
    components: Components,
    settings: Settings,
    _data: tempfile::TempDir,
}

async fn open_book() -> Book {
    let data = tempfile::tempdir().unwrap();
    let settings = common::test_settings(data.path());
    let components = Components::open(&settings).await.expect("components open");
    Book { components, settings, _data: data }
}

impl Book {
    async fn ingest(&self, paths: &[PathBuf], prune: bool) -> Summary {
        let options = SyncOptions::from_settings(&self.settings, prune);
        sync_paths(&self.components, paths, &options, &NoProgress).await.expect("sync succeeds")
    }

    async fn search(&self, query: &str, mode: SearchMode) -> Vec<docent::retrieve::SearchHit> {
        let request = SearchRequest { query: query.into(), k: Some(5), mode, ..Default::default() };
        self.components.retriever.search(request).await.unwrap().results
    }
}

#[tokio::test]
async fn reingesting_an_unchanged_book_embeds_nothing() {
    let book = open_book().await;
    let first = book.ingest(&[fixture("docusaurus")], false).await;
    let second = book.ingest(&[fixture("docusaurus")], false).await;
    assert!(first.documents.added > 0 && first.chunks.embedded > 0);
    assert_eq!(second.chunks.embedded, 0);
    assert_eq!(second.documents.unchanged, first.documents.added);
}

#[tokio::test]
async fn every_supported_format_is_ingested_and_unsupported_files_are_skipped_by_name() {
    let book = open_book().await;
    let summary =
        book.ingest(&[fixture("html"), fixture("pdf"), fixture("notes.txt"), fixture("docusaurus")], false).await;
    let formats: Vec<String> = book
        .components
        .db
        .documents(docent::db::documents::Page { offset: 0, limit: 100 })
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.format)
        .collect();
    for format in ["markdown", "mdx", "html", "pdf", "text"] {
        assert!(formats.iter().any(|f| f == format), "{format} in {formats:?}");
    }
    assert!(summary.documents.skipped > 0, "the fixture's unsupported files are skipped");
    assert!(
        summary
            .skipped_files
            .iter()
            .all(|(path, reason)| reason.contains(&*path.file_name().unwrap().to_string_lossy()))
    );
}

#[tokio::test]
async fn search_results_carry_deep_links_to_the_heading() {
    let book = open_book().await;
    let mut settings = book.settings.clone();
    settings.ingest.base_url = Some("https://book.example.com/docs".into());
    let options = SyncOptions::from_settings(&settings, false);
    sync_paths(&book.components, &[fixture("docusaurus")], &options, &NoProgress).await.unwrap();
    let hits = book.search("install", SearchMode::Hybrid).await;
    let url = hits[0].url.clone().expect("a url");
    assert!(url.starts_with("https://book.example.com/docs/"), "{url}");
    assert!(url.contains('#') || !hits[0].heading_path.contains('>'), "deep link to the section: {url}");
}

#[tokio::test]
async fn a_changed_file_is_replaced_and_a_pruned_file_leaves_search() {
    let book = open_book().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.md"), "# Alpha\n\nThe zebrafish guide covers aquariums.\n").unwrap();
    std::fs::write(dir.path().join("b.md"), "# Beta\n\nThe quokka lives on Rottnest Island.\n").unwrap();
    book.ingest(&[dir.path().to_path_buf()], false).await;
    std::fs::write(dir.path().join("a.md"), "# Alpha\n\nThe axolotl guide covers ponds.\n").unwrap();
    std::fs::remove_file(dir.path().join("b.md")).unwrap();
    let summary = book.ingest(&[dir.path().to_path_buf()], true).await;
    assert_eq!((summary.documents.updated, summary.documents.deleted), (1, 1));
    assert!(book.search("zebrafish", SearchMode::Bm25).await.is_empty(), "old text is gone");
    assert!(!book.search("axolotl", SearchMode::Bm25).await.is_empty(), "new text is found");
    assert!(book.search("quokka", SearchMode::Bm25).await.is_empty(), "pruned document is gone");
}

#[tokio::test]
async fn searches_during_a_reingest_see_one_version_of_a_document_never_a_mix() {
    let book = open_book().await;
    let dir = tempfile::tempdir().unwrap();
    let version = |v: &str| {
        (1..=6).map(|i| format!("## Part {i}\n\nMarker {v} paragraph {i} about lighthouses.\n")).collect::<String>()
    };
    std::fs::write(dir.path().join("doc.md"), format!("# Doc\n\n{}", version("vone"))).unwrap();
    book.ingest(&[dir.path().to_path_buf()], false).await;
    let reader = {
        let retriever = book.components.retriever.clone();
        tokio::spawn(async move {
            for _ in 0..60 {
                let request = SearchRequest {
                    query: "lighthouses marker".into(),
                    k: Some(20),
                    mode: SearchMode::Bm25,
                    ..Default::default()
                };
                let hits = retriever.search(request).await.unwrap().results;
                let has = |m: &str| hits.iter().any(|h| h.text.contains(m));
                assert!(!(has("vone") && has("vtwo")), "a search saw two versions at once");
                let mut ids: Vec<_> = hits.iter().map(|h| h.chunk_id.clone()).collect();
                ids.dedup();
                assert_eq!(ids.len(), hits.len(), "no duplicates");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for round in 0..6 {
        let v = if round % 2 == 0 { "vtwo" } else { "vone" };
        std::fs::write(dir.path().join("doc.md"), format!("# Doc\n\n{}", version(v))).unwrap();
        book.ingest(&[dir.path().to_path_buf()], false).await;
    }
    reader.await.unwrap();
}

#[tokio::test]
async fn killing_an_ingest_midway_leaves_whole_documents_and_the_next_run_repairs_the_rest() {
    let data = tempfile::tempdir().unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_docent"))
            .args(["ingest", "--json"])
            .arg(squad_dir().join("book"))
            .arg(fixture("docusaurus"))
            .env("DOCENT_DATA_DIR", data.path())
            .env("LOG_LEVEL", "error")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = run();
    std::thread::sleep(Duration::from_millis(2500));
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = run().wait_with_output().unwrap();
    assert!(finished.status.success());
    let mut settings = common::test_settings(data.path());
    settings.database.auto_migrate = Some(true);
    let c = Components::open(&settings).await.unwrap();
    let versions = c.index.versions().await.unwrap();
    for (id, _, hash) in c.db.document_hashes().await.unwrap() {
        let doc = c.db.document(&id).await.unwrap().unwrap();
        assert_eq!(c.db.chunks_of(&id).await.unwrap().len() as i64, doc.chunk_count, "{id} is whole");
        assert_eq!(versions.get(&id), Some(&hash), "{id} is indexed at its stored version");
    }
    let stats = c.index.stats().await.unwrap();
    assert_eq!(stats.chunks as i64, c.db.chunk_count().await.unwrap(), "index and database agree");
}

#[tokio::test]
async fn hybrid_retrieval_on_the_development_book_beats_each_single_mode() {
    let book = open_book().await;
    book.ingest(&[squad_dir().join("book")], false).await;
    let questions = docent::eval::read_questions(&squad_dir().join("questions.jsonl")).unwrap();
    let report = docent::eval::evaluate_retrieval(&book.components.retriever, &questions, &[1, 5]).await.unwrap();
    let at = |m: usize, k: usize| report.modes[m].hits.iter().find(|(kk, _)| *kk == k).unwrap().1;
    assert!(at(0, 5) >= 0.98, "hybrid recall@5 {}", at(0, 5));
    assert!(at(0, 1) >= 0.85, "hybrid hit@1 {}", at(0, 1));
    for single in [1, 2] {
        assert!(
            at(0, 1) > at(single, 1) && at(0, 5) > at(single, 5),
            "hybrid ahead of {:?}",
            report.modes[single].mode
        );
    }
}

async fn wait_for_job(app: &common::TestApp, location: &str) -> serde_json::Value {
    for _ in 0..200 {
        let job: serde_json::Value = app.get(location).await.json().await.unwrap();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {location} did not finish");
}

#[tokio::test]
async fn an_uploaded_document_becomes_searchable_and_deleting_it_removes_it() {
    let mut app = common::spawn_app().await;
    app.client = common::client_with_key(&common::api_key(&app, "ingest,chat").await);
    let body = serde_json::json!({"content": "# Tides\n\n## Spring tides\n\nSpring tides happen at new and full moon.", "format": "markdown", "path": "ocean/tides.md", "url": "https://example.com/tides"});
    let accepted = app.client.post(app.url("/api/v1/documents")).json(&body).send().await.unwrap();
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let job = wait_for_job(&app, &location).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let document_id = job["result"]["document_id"].as_str().unwrap().to_owned();

    let found: serde_json::Value = app
        .client
        .post(app.url("/api/v1/search"))
        .json(&serde_json::json!({"query": "when do spring tides happen", "k": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let top = &found["results"][0];
    assert_eq!(top["document_id"], document_id.as_str());
    assert_eq!(top["url"], "https://example.com/tides#spring-tides");
    for key in ["embed", "retrieve", "total"] {
        assert!(found["timings_ms"][key].is_number(), "{found}");
    }

    let deleted = app.client.delete(app.url(&format!("/api/v1/documents/{document_id}"))).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let after: serde_json::Value = app
        .client
        .post(app.url("/api/v1/search"))
        .json(&serde_json::json!({"query": "spring tides", "mode": "bm25"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["results"].as_array().unwrap().len(), 0);
    common::assert_problem(app.get(&format!("/api/v1/documents/{document_id}")).await, 404, "not_found").await;
}

#[tokio::test]
async fn document_administration_needs_an_ingest_key() {
    let app = common::spawn_app().await;
    common::assert_problem(app.get("/api/v1/documents").await, 401, "unauthenticated").await;
    let chat_only = common::client_with_key(&common::api_key(&app, "chat").await);
    let response = chat_only.get(app.url("/api/v1/documents")).send().await.unwrap();
    common::assert_problem(response, 403, "forbidden").await;
}

#[tokio::test]
async fn invalid_searches_are_422_problems() {
    let app = common::spawn_app().await;
    let long = "word ".repeat(1000);
    for body in [
        serde_json::json!({"query": "   "}),
        serde_json::json!({"query": long}),
        serde_json::json!({"query": "ok", "k": 0}),
        serde_json::json!({"query": "ok", "mode": "fuzzy"}),
        serde_json::json!({"query": "ok", "owner_id": "x"}),
    ] {
        let response = app.client.post(app.url("/api/v1/search")).json(&body).send().await.unwrap();
        common::assert_problem(response, 422, "validation_failed").await;
    }
}

#[tokio::test]
async fn health_reports_the_vector_store_and_the_embedder() {
    let app = common::spawn_app().await;
    let body: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(body["services"]["vector_store"], "active");
    assert_eq!(body["services"]["embedder"], "active");
}

#[tokio::test]
async fn a_server_sees_documents_ingested_by_another_process() {
    let server = open_book().await;
    let other = Components::open(&server.settings).await.expect("a second opener of the same data dir");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("new.md"), "# Narwhals\n\nNarwhals are toothed whales of the Arctic.\n").unwrap();
    let options = SyncOptions::from_settings(&server.settings, false);
    sync_paths(&other, &[dir.path().to_path_buf()], &options, &NoProgress).await.unwrap();
    let hits = server.search("arctic toothed whale", SearchMode::Dense).await;
    assert!(hits.first().is_some_and(|h| h.text.contains("Narwhals")), "dense search sees the outside write: {hits:?}");
}
