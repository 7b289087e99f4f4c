//! Follow-ups rewritten by the chat model: with a provider configured, a question asked inside
//! a conversation goes to the model as a rewrite request (its own system prompt, the
//! conversation as delimited data) and retrieval runs with the model's standalone question; a
//! failed rewrite falls back to the heuristic and the reader still gets an answer.

use docent::config::ChatProvider;
use serde_json::{Value, json};

use crate::support::{chat, session_cookie};
use crate::upstream::{Reply, Stub, TOKENS, app_with, failure, frames};

const REWRITE_PROMPT: &str = include_str!("../../prompts/rewrite.md");

/// An OpenAI `chat.completion` whose message is `text`.
fn completion(text: &str) -> Reply {
    Reply::ok(json!({"id": "r", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}}))
}

/// Asks the first question, then `follow_up` in the same conversation; the follow-up's answer.
async fn converse(app: &crate::common::TestApp, follow_up: &str) -> Value {
    let first = chat(app, json!({"message": "Who was the Norse leader?"}), None).await;
    let cookie = session_cookie(&first);
    let id = first.json::<Value>().await.unwrap()["conversation_id"].as_str().unwrap().to_owned();
    let body = json!({"message": follow_up, "conversation_id": id});
    chat(app, body, Some(&cookie)).await.json().await.unwrap()
}

/// The text of the first passage in an answer request's last user turn.
fn first_passage(request: &Value) -> String {
    let user = request["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    let start = user.find("<passage n=\"1\"").expect("a first passage");
    let end = user[start..].find("</passage>").unwrap();
    user[start..start + end].to_owned()
}

#[tokio::test]
async fn a_follow_up_is_rewritten_by_the_model_and_retrieval_uses_its_question() {
    // Arrange
    let answer = || Reply::sse(frames(ChatProvider::Openai, &TOKENS));
    let rewrite = completion("In what year did the Normans fight the Battle of Hastings?");
    let stub = Stub::start(vec![answer(), rewrite, answer()]).await;
    let app = app_with(ChatProvider::Openai, &stub, |_| {}).await;

    // Act
    let reply = converse(&app, "and what happened after that?").await;

    // Assert
    assert_eq!(reply["status"], "answered", "{reply}");
    let requests = stub.requests();
    assert_eq!(requests.len(), 3, "answer, rewrite, answer");
    let rewrite = &requests[1].body;
    assert_eq!(requests[1].path, "/v1/chat/completions");
    assert_ne!(rewrite["stream"], true);
    assert_eq!(rewrite["messages"][0], json!({"role": "system", "content": REWRITE_PROMPT}));
    let user = rewrite["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("<conversation>\nReader: Who was the Norse leader?\nAssistant: Their leader was Rollo"));
    assert!(user.ends_with("</conversation>\n\nLatest question: and what happened after that?"), "{user}");
    assert!(first_passage(&requests[2].body).contains("Hastings"), "{}", first_passage(&requests[2].body));
    assert_eq!(reply["usage"]["prompt_tokens"], 90, "the rewrite's tokens are counted: {reply}");
}

#[tokio::test]
async fn a_failed_rewrite_falls_back_to_the_heuristic_and_the_reader_is_still_answered() {
    // Arrange
    let answer = || Reply::sse(frames(ChatProvider::Openai, &TOKENS));
    let stub = Stub::start(vec![answer(), failure(500), answer()]).await;
    let app = app_with(ChatProvider::Openai, &stub, |_| {}).await;

    // Act
    let reply = converse(&app, "and who was his father?").await;

    // Assert
    assert_eq!(reply["status"], "answered", "{reply}");
    assert_eq!(reply["provider"], "openai");
    let requests = stub.requests();
    assert_eq!(requests.len(), 3, "answer, failed rewrite, answer");
    assert!(first_passage(&requests[2].body).contains("Rollo"), "the heuristic borrowed the earlier question's terms");
    assert_eq!(reply["usage"]["prompt_tokens"], 50, "{reply}");
}

#[tokio::test]
async fn the_first_question_of_a_conversation_is_not_sent_for_rewriting() {
    let stub = Stub::start(vec![Reply::sse(frames(ChatProvider::Openai, &TOKENS))]).await;
    let app = app_with(ChatProvider::Openai, &stub, |_| {}).await;

    let reply: Value = chat(&app, json!({"message": "Who was the Norse leader?"}), None).await.json().await.unwrap();

    assert_eq!(reply["status"], "answered", "{reply}");
    assert_eq!(stub.requests().len(), 1);
}
