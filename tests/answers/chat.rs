//! The chat endpoint: JSON shape, streaming, refusals, limits.

use serde_json::json;

use crate::common::assert_problem;
use crate::support::{app_with_book, chat, sse_events};

#[tokio::test]
async fn a_question_the_book_answers_returns_a_cited_answer() {
    let app = app_with_book().await;
    let response = chat(&app, json!({ "message": "Who was the Norse leader?" }), None).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(cookie.starts_with("docent_anon=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert_eq!(body["status"], "answered");
    assert!(body["answer"].as_str().unwrap().contains("Rollo"), "{body}");
    assert!(body["answer"].as_str().unwrap().contains("[1]"), "{body}");
    let citation = &body["citations"][0];
    assert_eq!(citation["n"], 1);
    assert!(citation["url"].as_str().unwrap().contains(":~:text="), "{citation}");
    for key in ["chunk_id", "document_id", "title", "heading_path", "quote"] {
        assert!(citation[key].is_string(), "{key} in {citation}");
    }
    for key in ["conversation_id", "message_id", "confidence", "confidence_level", "timings_ms"] {
        assert!(!body[key].is_null(), "{key} in {body}");
    }
}

#[tokio::test]
async fn a_streamed_answer_sends_meta_deltas_citations_then_done() {
    let app = app_with_book().await;
    let response = chat(&app, json!({ "message": "Who was the Norse leader?", "stream": true }), None).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let events = sse_events(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"meta"));
    assert_eq!(names.last(), Some(&"done"));
    let first_citation = names.iter().position(|n| *n == "citation").expect("a citation event");
    assert!(names[1..first_citation].iter().all(|n| *n == "delta") && first_citation > 1, "{names:?}");
    let done = &events.last().unwrap().1;
    assert_eq!(done["conversation_id"], events[0].1["conversation_id"]);
    assert_eq!(done["status"], "answered");
}

#[tokio::test]
async fn an_off_topic_question_is_refused_without_citations() {
    let app = app_with_book().await;
    let question = "What temperature should I bake sourdough bread at?";
    let body: serde_json::Value = chat(&app, json!({ "message": question }), None).await.json().await.unwrap();
    assert_eq!(body["status"], "out_of_scope", "{body}");
    assert_eq!(body["citations"], json!([]));
    assert_eq!(body["confidence_level"], "low");
}

#[tokio::test]
async fn limits_and_unknown_fields_are_rejected_with_422() {
    let app = app_with_book().await;
    let cases = [
        json!({ "message": "" }),
        json!({ "message": "x".repeat(4001) }),
        json!({ "message": "Who?", "selected_text": "y".repeat(5001) }),
        json!({ "message": "Who?", "temperature": 2 }),
        json!({ "message": "Who?", "mode": "everything" }),
    ];
    for body in cases {
        assert_problem(chat(&app, body, None).await, 422, "validation_failed").await;
    }
}

#[tokio::test]
async fn an_answer_that_introduces_a_command_carries_its_code_block() {
    let app = crate::common::spawn_app_with(|_| {}, axum::Router::new()).await;
    let book = tempfile::tempdir().unwrap();
    std::fs::write(
        book.path().join("setup.md"),
        "# Setup\n\n## Set the listening port\n\nThe server listens on port 8000 unless told otherwise.\n\n\
         To listen on another port, set the PORT variable before starting the server:\n\n\
         ```sh\nexport PORT=9090\n```\n\nThe port must be free.\n",
    )
    .unwrap();
    crate::support::ingest(&app, book.path()).await;

    let response =
        chat(&app, serde_json::json!({"message": "How do I set the port the server listens on?"}), None).await;

    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "answered", "{body}");
    let answer = body["answer"].as_str().unwrap();
    assert!(answer.contains("export PORT=9090"), "the command comes with its sentence: {answer}");
    assert!(!answer.starts_with("```"), "a code block is never the answer on its own: {answer}");
}
