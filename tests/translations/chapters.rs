//! The chapters API: the book's Markdown pages in book order, and a chapter's source.

use serde_json::Value;

use crate::common::assert_problem;
use crate::support::{NODES, chapter_id, translating_app};

#[tokio::test]
async fn chapters_are_listed_in_book_order_with_their_group_and_html_is_not_a_chapter() {
    let (app, _stub, _book) = translating_app().await;

    let body: Value = app.get("/api/v1/chapters").await.json().await.unwrap();

    let chapters = body["chapters"].as_array().unwrap();
    let titles: Vec<&str> = chapters.iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Welcome", "Nodes", "Topics"], "{body}");
    assert_eq!(chapters[1]["group"], "robots");
    assert_eq!(chapters[1]["group_label"], "Robots");
    assert_eq!(chapters[1]["format"], "markdown");
    assert!(chapters[1]["id"].as_str().unwrap().starts_with("doc_"));
    assert!(chapters[1]["url"].as_str().unwrap().ends_with("/robots/nodes"), "{body}");
}

#[tokio::test]
async fn a_chapter_is_served_as_its_markdown_source_in_json_or_raw() {
    let (app, _stub, _book) = translating_app().await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let json: Value = app.get(&format!("/api/v1/chapters/{id}")).await.json().await.unwrap();
    let raw = app
        .client
        .get(app.url(&format!("/api/v1/chapters/{id}")))
        .header("accept", "text/markdown")
        .send()
        .await
        .unwrap();

    assert_eq!((json["title"].as_str(), json["content"].as_str()), (Some("Nodes"), Some(NODES)));
    assert_eq!(raw.headers()["content-type"], "text/markdown; charset=utf-8");
    assert_eq!(raw.text().await.unwrap(), NODES);
}

#[tokio::test]
async fn an_unknown_chapter_is_a_404_problem() {
    let (app, _stub, _book) = translating_app().await;

    assert_problem(app.get("/api/v1/chapters/doc_missing").await, 404, "not_found").await;
}
