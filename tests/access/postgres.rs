//! The account, session, key and audit stores on PostgreSQL.

use serde_json::{Value, json};

use crate::common::{api_key, assert_problem, fresh_postgres_database, set_database_url, spawn_app_with};
use crate::support::{PASSWORD, me, signin, signup};

#[tokio::test]
async fn accounts_sessions_keys_and_audit_work_on_postgres() {
    let url = fresh_postgres_database().await;
    let app = spawn_app_with(move |s| set_database_url(s, &url), axum::Router::new()).await;
    let reader = signup(&app, "ada@example.com").await;
    assert_eq!(me(&app, &reader.cookie()).await.status(), 200);
    assert_problem(crate::support::signup_response(&app, "ada@example.com", None).await, 409, "conflict").await;
    assert_eq!(signin(&app, "ada@example.com", "wrong horse battery").await.status(), 401);
    assert_eq!(signin(&app, "ada@example.com", PASSWORD).await.status(), 200);

    let profile = json!({"profile": {"hardware_experience": "beginner"}});
    let updated = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .json(&profile)
        .send()
        .await
        .unwrap();
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["user"]["profile"]["hardware_experience"], "beginner");

    let admin = api_key(&app, "admin").await;
    let created: Value = app
        .client
        .post(app.url("/api/v1/keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "pg", "scopes": ["chat"], "expires_in": "1d"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.client.get(app.url("/api/v1/conversations")).bearer_auth(key).send().await.unwrap().status(), 200);
    app.state.access.flush_usage().await.unwrap();
    let usage: Value = app
        .client
        .get(app.url(&format!("/api/v1/keys/{id}/usage")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["requests"], 1);

    let out = app
        .client
        .post(app.url("/api/v1/auth/signout"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(me(&app, &reader.cookie()).await.status(), 401);

    let audit: Value = app
        .client
        .get(app.url("/api/v1/audit?action=auth.signin_failed"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1);
    assert_eq!(audit["entries"][0]["details"]["email"], "ada@example.com");
}
