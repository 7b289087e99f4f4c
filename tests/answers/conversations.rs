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

#[tokio::test]
async fn a_question_the_database_refuses_ends_the_turn_with_an_error_and_records_no_answer() {
    // Arrange: the question's row is written beside the answer; make that write fail.
    let app = app_with_book().await;
    let docent::db::Db::Sqlite(pool, _) = &app.state.db else { panic!("the test app runs on SQLite") };
    sqlx::query("CREATE TRIGGER refuse_questions BEFORE INSERT ON messages WHEN NEW.role = 'user' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        .execute(pool)
        .await
        .unwrap();

    // Act: one streamed turn, one whole one.
    let streamed = chat(&app, json!({ "message": "Who was the Norse leader?", "stream": true }), None).await;
    let events = crate::support::sse_events(&streamed.text().await.unwrap());
    let whole = chat(&app, json!({ "message": "Who was the Norse leader?" }), None).await;

    // Assert: the stream ends with an error event, never `done`; the whole turn is a 500
    // problem; and nothing of either turn is stored.
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.last(), Some(&"error"), "{names:?}");
    assert!(!names.contains(&"done"), "{names:?}");
    assert_eq!(events.last().unwrap().1["status"], 500);
    assert_eq!(whole.status(), 500);
    let (conversations, messages): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages)")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((conversations, messages), (0, 0));
}
