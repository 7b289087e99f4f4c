//! Questions about a selected passage.

use serde_json::json;

use crate::support::{app_with_book, chat, normans_document_id};

const PASSAGE: &str = "They were descended from Norse (\"Norman\" comes from \"Norseman\") raiders and pirates \
     from Denmark, Iceland and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III of \
     West Francia.";

#[tokio::test]
async fn a_selection_found_in_the_book_is_cited_at_its_real_location() {
    let app = app_with_book().await;
    let document_id = normans_document_id(&app).await;
    let body = json!({ "message": "Where did the raiders come from?", "selected_text": PASSAGE,
                       "selection_source": { "document_id": document_id } });
    let answer: serde_json::Value = chat(&app, body, None).await.json().await.unwrap();
    assert_eq!(answer["status"], "answered", "{answer}");
    assert_eq!(answer["citations"][0]["document_id"], document_id.as_str());
    assert!(answer["answer"].as_str().unwrap().contains("Denmark"));
}

#[tokio::test]
async fn a_selection_not_in_the_book_is_answered_but_never_cited() {
    let app = app_with_book().await;
    let document_id = normans_document_id(&app).await;
    let invented = "The raiders came from Atlantis and sailed in golden ships under their leader Zorblax the Bold.";
    let body = json!({ "message": "Where did the raiders come from?", "selected_text": invented,
                       "selection_source": { "document_id": document_id } });
    let answer: serde_json::Value = chat(&app, body, None).await.json().await.unwrap();
    assert_eq!(answer["status"], "answered", "{answer}");
    assert!(answer["answer"].as_str().unwrap().contains("Atlantis"));
    assert_eq!(answer["citations"], json!([]));
}

#[tokio::test]
async fn a_selection_too_short_to_answer_asks_to_widen_to_the_chapter() {
    let app = app_with_book().await;
    let body = json!({ "message": "Who swore fealty to whom?", "selected_text": "the Normans" });
    let answer: serde_json::Value = chat(&app, body, None).await.json().await.unwrap();
    assert_eq!(answer["status"], "insufficient_context");
    assert!(answer["answer"].as_str().unwrap().contains("chapter"));
}

#[tokio::test]
async fn chapter_mode_answers_from_the_passage_and_the_rest_of_its_chapter() {
    let app = app_with_book().await;
    let document_id = normans_document_id(&app).await;
    let body = json!({ "message": "Who was the duke at the Battle of Hastings?", "selected_text": PASSAGE,
                       "selection_source": { "document_id": document_id }, "mode": "chapter" });
    let answer: serde_json::Value = chat(&app, body, None).await.json().await.unwrap();
    assert_eq!(answer["status"], "answered", "{answer}");
    assert!(answer["answer"].as_str().unwrap().contains("William"), "{answer}");
    assert!(answer["citations"].as_array().is_some_and(|c| !c.is_empty()));
}
