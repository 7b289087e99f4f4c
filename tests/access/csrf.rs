//! CSRF: unsafe methods authenticated by the session cookie need an allowed Origin or the
//! session's X-CSRF-Token; keys are exempt.

use crate::common::{api_key, assert_problem, spawn_app, spawn_app_with};
use crate::support::{me, signup};

#[tokio::test]
async fn a_cross_origin_form_post_with_the_session_cookie_is_refused() {
    let app =
        spawn_app_with(|s| s.security.cors_origins = vec!["https://book.example.com".into()], axum::Router::new())
            .await;
    let reader = signup(&app, "ada@example.com").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/signout"))
        .header("cookie", reader.cookie())
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "csrf_rejected").await;
    assert_eq!(me(&app, &reader.cookie()).await.status(), 200, "the session survives");
}

#[tokio::test]
async fn a_post_without_origin_or_token_is_refused_and_a_wrong_token_too() {
    let app = spawn_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let bare = app.client.post(app.url("/api/v1/auth/signout")).header("cookie", reader.cookie()).send().await.unwrap();
    assert_problem(bare, 403, "csrf_rejected").await;
    let wrong = app
        .client
        .post(app.url("/api/v1/auth/signout"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 403, "csrf_rejected").await;
}

#[tokio::test]
async fn an_allowed_origin_passes() {
    let app =
        spawn_app_with(|s| s.security.cors_origins = vec!["https://book.example.com".into()], axum::Router::new())
            .await;
    let reader = signup(&app, "ada@example.com").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/signout"))
        .header("cookie", reader.cookie())
        .header("origin", "https://book.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn the_double_submit_token_passes_from_any_origin() {
    let app = spawn_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let response = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .header("cookie", reader.cookie())
        .header("origin", "https://elsewhere.example")
        .header("x-csrf-token", &reader.csrf)
        .json(&serde_json::json!({"name": "Ada L."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["name"], "Ada L.");
}

#[tokio::test]
async fn requests_with_an_api_key_need_no_csrf_token() {
    let app = spawn_app().await;
    let key = api_key(&app, "admin").await;
    let response = app
        .client
        .post(app.url("/api/v1/keys"))
        .bearer_auth(&key)
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"name": "ci", "scopes": ["chat"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}
