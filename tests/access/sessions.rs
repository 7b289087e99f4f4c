//! Sign-up, sign-in, cookies, sign-out, password change, expiry and the sign-in throttle.

use std::time::Duration;

use serde_json::json;

use crate::common::{assert_problem, spawn_app, spawn_app_with};
use crate::support::{PASSWORD, me, reader_from, set_cookie, signin, signup, signup_response};

#[tokio::test]
async fn in_development_the_session_cookie_is_http_only_lax_and_not_secure() {
    let app = spawn_app().await;
    let response = signup_response(&app, "ada@example.com", None).await;
    let cookie = set_cookie(&response, "docent_session").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("Max-Age=2592000") || cookie.contains("Max-Age=259199"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn in_production_the_session_cookie_is_secure_and_strict_when_configured() {
    let app = spawn_app_with(
        |s| {
            s.env = docent::config::Environment::Production;
            s.database.auto_migrate = Some(true);
            s.access.same_site = docent::config::SameSite::Strict;
        },
        axum::Router::new(),
    )
    .await;
    let response = signup_response(&app, "ada@example.com", None).await;
    let cookie = set_cookie(&response, "docent_session").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("; Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_reader_signs_up_with_a_normalised_email_and_sees_their_profile() {
    let app = spawn_app().await;
    let body = json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "name": "Ada",
        "profile": {"software_experience": "advanced", "preferred_language": "ur"}});
    let response = app.client.post(app.url("/api/v1/auth/signup")).json(&body).send().await.unwrap();
    let reader = reader_from(response, 201).await;
    let body: serde_json::Value = me(&app, &reader.cookie()).await.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["role"], "reader");
    assert_eq!(body["user"]["profile"]["preferred_language"], "ur");
    assert_eq!(body["csrf_token"], reader.csrf.as_str());
    assert!(body["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn weak_passwords_and_taken_emails_are_refused() {
    // Six sign-ups in a row: past the sign-up route's own rate limit, which is not under test.
    let app = spawn_app_with(|s| s.rate_limit.enabled = false, axum::Router::new()).await;
    signup(&app, "ada@example.com").await;
    for password in ["short", "BOB@example.com", "aaaaaaaaaaaaa", "password123"] {
        let body = json!({"email": "bob@example.com", "password": password});
        let response = app.client.post(app.url("/api/v1/auth/signup")).json(&body).send().await.unwrap();
        assert_problem(response, 422, "validation_failed").await;
    }
    assert_problem(signup_response(&app, "ADA@example.com", None).await, 409, "conflict").await;
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    signup(&app, "ada@example.com").await;
    let wrong =
        assert_problem(signin(&app, "ada@example.com", "wrong horse battery").await, 401, "invalid_credentials").await;
    let unknown = assert_problem(signin(&app, "nobody@example.com", PASSWORD).await, 401, "invalid_credentials").await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    let ok = signin(&app, "ADA@example.com", PASSWORD).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn repeated_failed_signins_are_throttled_with_retry_after() {
    let app = spawn_app_with(|s| s.access.signin_failures_per_account = 3, axum::Router::new()).await;
    signup(&app, "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(signin(&app, "ada@example.com", "wrong horse battery").await.status(), 401);
    }
    let refused = signin(&app, "ada@example.com", PASSWORD).await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0);
    assert_problem(refused, 429, "signin_throttled").await;
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let out = app
        .client
        .post(app.url("/api/v1/auth/signout"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(set_cookie(&out, "docent_session").unwrap().contains("Max-Age=0"));
    assert_problem(me(&app, &reader.cookie()).await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn changing_the_password_ends_every_old_session() {
    let app = spawn_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let other_device = reader_from(signin(&app, "ada@example.com", PASSWORD).await, 200).await;
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    let changed = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let fresh = reader_from(changed, 200).await;
    assert_problem(me(&app, &reader.cookie()).await, 401, "unauthenticated").await;
    assert_problem(me(&app, &other_device.cookie()).await, 401, "unauthenticated").await;
    assert_eq!(me(&app, &fresh.cookie()).await.status(), 200);
    assert_eq!(signin(&app, "ada@example.com", PASSWORD).await.status(), 401);
    assert_eq!(signin(&app, "ada@example.com", "a brand new passphrase").await.status(), 200);
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = spawn_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let body = json!({"current_password": "not my password", "new_password": "a brand new passphrase"});
    let response = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "validation_failed").await;
    assert_eq!(me(&app, &reader.cookie()).await.status(), 200);
}

#[tokio::test]
async fn an_idle_session_ends_after_the_idle_timeout() {
    let app = spawn_app_with(|s| s.access.session_idle_secs = 1, axum::Router::new()).await;
    let reader = signup(&app, "ada@example.com").await;
    assert_eq!(me(&app, &reader.cookie()).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_problem(me(&app, &reader.cookie()).await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn an_active_session_still_ends_at_its_absolute_expiry() {
    let app = spawn_app_with(|s| s.access.session_ttl_secs = 2, axum::Router::new()).await;
    let reader = signup(&app, "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(me(&app, &reader.cookie()).await.status(), 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let expired = me(&app, &reader.cookie()).await;
    assert_problem(expired, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_browser_with_a_cookie_store_stays_signed_in_across_requests() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let signed_up = browser.post(app.url("/api/v1/auth/signup")).json(&body).send().await.unwrap();
    assert_eq!(signed_up.status(), 201);
    let me: serde_json::Value = browser.get(app.url("/api/v1/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["email"], "ada@example.com");
}
