//! Who may translate and read what: readers only (401 anonymous, 403 keys), a reader's own
//! translations only (BOLA), body and language validation (422), unknown chapters (404), no
//! model configured (503), access that expires, and the per-reader rate limit on requests.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::access_support::signup;
use crate::common::{api_key, assert_problem, spawn_app};
use crate::support::{chapter_id, ingest, read, request, translate, translating_app, write_book};

#[tokio::test]
async fn a_reader_cannot_read_another_readers_translation() {
    let (app, _stub, _book) = translating_app().await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;
    translate(&app, &ada, &id, "ur").await;

    let bobs_attempt = read(&app, &bob, &id, "ur").await;
    let adas = read(&app, &ada, &id, "ur").await;

    let problem = assert_problem(bobs_attempt, 404, "not_found").await;
    assert!(problem["detail"].as_str().unwrap().contains("POST"), "{problem}");
    assert_eq!(adas.status(), 200);
}

#[tokio::test]
async fn anonymous_callers_are_401_and_api_keys_403() {
    let (app, _stub, _book) = translating_app().await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;
    let path = app.url(&format!("/api/v1/chapters/{id}/translations"));
    let key = api_key(&app, "admin").await;

    let anonymous = app.client.post(&path).json(&json!({"language": "ur"})).send().await.unwrap();
    let keyed = app.client.post(&path).bearer_auth(&key).json(&json!({"language": "ur"})).send().await.unwrap();
    let keyed_read = app.client.get(format!("{path}/ur")).bearer_auth(&key).send().await.unwrap();

    assert_problem(anonymous, 401, "unauthenticated").await;
    assert_problem(keyed, 403, "forbidden").await;
    assert_problem(keyed_read, 403, "forbidden").await;
}

#[tokio::test]
async fn a_reader_asking_for_a_seventh_translation_within_a_minute_is_429_by_default() {
    let (app, _stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;
    for _ in 0..6 {
        assert_eq!(request(&app, &ada, &id, json!({"language": "ur"})).await.status(), 200);
    }

    let seventh = request(&app, &ada, &id, json!({"language": "ur"})).await;

    assert!(seventh.headers().contains_key("retry-after"));
    assert_problem(seventh, 429, "rate_limited").await;
    assert_eq!(read(&app, &ada, &id, "ur").await.status(), 200, "reading is not limited by it");
}

#[tokio::test]
async fn unknown_fields_and_invalid_languages_are_422_naming_the_field() {
    let (app, stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let unknown = request(&app, &ada, &id, json!({"language": "ur", "model": "gpt-5"})).await;
    let invalid = request(&app, &ada, &id, json!({"language": "urdu please"})).await;
    let missing = request(&app, &ada, &id, json!({})).await;
    let bad_path = read(&app, &ada, &id, "not-a-language!").await;

    let problem = assert_problem(unknown, 422, "validation_failed").await;
    assert!(problem["detail"].as_str().unwrap().contains("model"), "{problem}");
    let problem = assert_problem(invalid, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "language");
    assert!(problem["detail"].as_str().unwrap().contains("BCP 47"), "{problem}");
    assert_problem(missing, 422, "validation_failed").await;
    assert_problem(bad_path, 422, "validation_failed").await;
    assert_eq!(stub.calls(), 0);
}

#[tokio::test]
async fn an_unknown_chapter_or_an_html_document_is_404() {
    let (app, stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let html = app.state.db.document_hashes().await.unwrap();
    let (html_id, _, _) = html.iter().find(|(_, path, _)| path.ends_with(".html")).unwrap();

    assert_problem(request(&app, &ada, "doc_missing", json!({"language": "ur"})).await, 404, "not_found").await;
    assert_problem(request(&app, &ada, html_id, json!({"language": "ur"})).await, 404, "not_found").await;
    assert_problem(read(&app, &ada, "doc_missing", "ur").await, 404, "not_found").await;
    assert_eq!(stub.calls(), 0);
}

#[tokio::test]
async fn without_a_chat_model_translation_is_503_naming_what_to_configure() {
    let app = spawn_app().await;
    let book = tempfile::tempdir().unwrap();
    write_book(book.path());
    ingest(&app, book.path()).await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let response = request(&app, &ada, &id, json!({"language": "ur"})).await;

    let problem = assert_problem(response, 503, "translation_unavailable").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("DOCENT_LLM_PROVIDER") && detail.contains("OPENAI_API_KEY"), "{detail}");
}

#[tokio::test]
async fn an_expired_request_no_longer_grants_access_until_renewed_and_expired_rows_are_purged() {
    let (app, stub, _book) = translating_app().await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/02-topics.md").await;
    let first = translate(&app, &ada, &id, "ur").await;
    let expires_at: chrono::DateTime<Utc> = first["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((expires_at - Utc::now() - Duration::days(30)).num_minutes().abs() < 5, "{first}");

    expire_requests(&app).await;
    let expired = read(&app, &ada, &id, "ur").await;
    translate(&app, &bob, &id, "fr").await;
    let left = request_rows(&app, &ada.id).await;
    let renewed = translate(&app, &ada, &id, "ur").await;

    assert_problem(expired, 404, "not_found").await;
    assert_eq!(left, 0, "bob's request purged ada's expired one");
    assert_eq!(renewed["from_cache"], true, "renewing access pays nothing");
    assert_eq!(read(&app, &ada, &id, "ur").await.status(), 200);
    assert_eq!(stub.calls(), 2, "ur once, fr once");
}

/// Moves every recorded request's expiry into the past (as if 30 days went by).
pub async fn expire_requests(app: &crate::common::TestApp) {
    let past = Utc::now() - Duration::minutes(1);
    docent::on_pool!(&app.state.db, pool => sqlx::query("UPDATE user_chapter_translations SET expires_at = $1")
        .bind(past).execute(pool).await.map(|_| ()))
    .unwrap();
}

/// The recorded requests of `user_id`.
pub async fn request_rows(app: &crate::common::TestApp, user_id: &str) -> i64 {
    let (n,): (i64,) = docent::on_pool!(&app.state.db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM user_chapter_translations WHERE user_id = $1"
    ).bind(user_id).fetch_one(pool).await)
    .unwrap();
    n
}
