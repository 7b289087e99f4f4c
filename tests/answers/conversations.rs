//! Conversations: follow-ups and isolation between readers.

use docent::answer::followup::retrieval_query;
use docent::llm::ChatMessage;
use serde_json::json;

use crate::common::{fresh_postgres_database, set_database_url};
use crate::support::{app_with_book, app_with_book_configured, chat, session_cookie};

#[test]
fn a_follow_up_borrows_the_key_terms_of_the_previous_question() {
    let history = vec![ChatMessage::user("Who ruled the duchy of Normandy?"), ChatMessage::assistant("Richard I.")];
    let query = retrieval_query("and who succeeded him?", &history);
    assert!(query.contains("Normandy") && query.contains("duchy"), "{query}");
    assert!(query.ends_with("and who succeeded him?"));
}

#[test]
fn a_self_contained_question_is_left_alone() {
    let history = vec![ChatMessage::user("Who ruled the duchy of Normandy?")];
    assert_eq!(
        retrieval_query("What language did the Normans speak?", &history),
        "What language did the Normans speak?"
    );
}

#[tokio::test]
async fn another_reader_gets_404_on_my_conversation() {
    let app = app_with_book().await;
    let first = chat(&app, json!({ "message": "Who was the Norse leader?" }), None).await;
    let mine = session_cookie(&first);
    let id = first.json::<serde_json::Value>().await.unwrap()["conversation_id"].as_str().unwrap().to_owned();
    let follow_up = json!({ "message": "and who did he swear fealty to?", "conversation_id": id });
    assert_eq!(chat(&app, follow_up.clone(), Some(&mine)).await.status(), 200);
    let theirs = format!("docent_anon={}", "ab".repeat(32));
    let path = format!("/api/v1/conversations/{id}");
    let get = |cookie: String| app.client.get(app.url(&path)).header("cookie", cookie).send();
    assert_eq!(get(theirs.clone()).await.unwrap().status(), 404);
    assert_eq!(chat(&app, follow_up, Some(&theirs)).await.status(), 404);
    let delete = app.client.delete(app.url(&path)).header("cookie", &theirs).send().await.unwrap();
    assert_eq!(delete.status(), 404);
    let conversation: serde_json::Value = get(mine.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(conversation["messages"].as_array().unwrap().len(), 4);
    let listed = app.client.get(app.url("/api/v1/conversations")).header("cookie", &mine).send().await.unwrap();
    assert_eq!(listed.json::<serde_json::Value>().await.unwrap()["conversations"][0]["id"], id.as_str());
    let delete = app.client.delete(app.url(&path)).header("cookie", &mine).send().await.unwrap();
    assert_eq!(delete.status(), 204);
}

#[tokio::test]
async fn a_follow_up_in_a_conversation_retrieves_the_passage_of_the_earlier_question() {
    let app = app_with_book().await;
    let first = chat(&app, json!({ "message": "Who did the Normans fight at the Battle of Hastings?" }), None).await;
    let cookie = session_cookie(&first);
    let id = first.json::<serde_json::Value>().await.unwrap()["conversation_id"].as_str().unwrap().to_owned();
    let follow_up = json!({ "message": "and in what year was it?", "conversation_id": id });
    let answer: serde_json::Value = chat(&app, follow_up, Some(&cookie)).await.json().await.unwrap();
    assert_eq!(answer["status"], "answered", "{answer}");
    assert!(answer["answer"].as_str().unwrap().contains("1066"), "{answer}");
}

#[tokio::test]
async fn conversations_are_stored_and_isolated_on_postgres_too() {
    let url = fresh_postgres_database().await;
    let app = app_with_book_configured(|s| set_database_url(s, &url)).await;
    let first = chat(&app, json!({ "message": "Who was the Norse leader?" }), None).await;
    let cookie = session_cookie(&first);
    let id = first.json::<serde_json::Value>().await.unwrap()["conversation_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/conversations/{id}");
    let mine = app.client.get(app.url(&path)).header("cookie", &cookie).send().await.unwrap();
    let conversation: serde_json::Value = mine.json().await.unwrap();
    assert_eq!(conversation["messages"][1]["status"], "answered");
    assert!(conversation["messages"][1]["citations"][0]["quote"].is_string(), "{conversation}");
    let theirs = app.client.get(app.url(&path)).header("cookie", format!("docent_anon={}", "cd".repeat(32)));
    assert_eq!(theirs.send().await.unwrap().status(), 404);
}
