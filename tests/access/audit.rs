//! The audit log records who did what, when, from where and in which request.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{api_key, assert_problem, spawn_app};
use crate::support::{PASSWORD, signin, signup};

async fn entries(app: &crate::common::TestApp, admin: &str, query: &str) -> Value {
    let response = app.client.get(app.url(&format!("/api/v1/audit{query}"))).bearer_auth(admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn security_events_are_recorded_with_actor_ip_and_request_id() {
    let app = spawn_app().await;
    let admin = api_key(&app, "admin").await;
    let reader = signup(&app, "ada@example.com").await;
    signin(&app, "ada@example.com", "wrong horse battery").await;
    let ok = app
        .client
        .post(app.url("/api/v1/auth/signin"))
        .header("x-request-id", "audit-signin-1")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    app.client
        .post(app.url("/api/v1/auth/signout"))
        .header("cookie", reader.cookie())
        .header("x-csrf-token", &reader.csrf)
        .send()
        .await
        .unwrap();
    let created: Value = app
        .client
        .post(app.url("/api/v1/keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "k", "scopes": ["ingest"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_id = created["id"].as_str().unwrap();
    let ingest = created["key"].as_str().unwrap();
    let upload =
        json!({"content": "# Tides\n\nSpring tides happen at new moon.", "format": "markdown", "path": "tides.md"});
    let accepted =
        app.client.post(app.url("/api/v1/documents")).bearer_auth(ingest).json(&upload).send().await.unwrap();
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let document_id = wait_for_document(&app, ingest, &location).await;
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/documents/{document_id}")))
        .bearer_auth(ingest)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    app.client.delete(app.url(&format!("/api/v1/keys/{key_id}"))).bearer_auth(&admin).send().await.unwrap();

    let all = entries(&app, &admin, "?per_page=50").await;
    let actions: Vec<&str> = all["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in [
        "auth.signup",
        "auth.signin_failed",
        "auth.signin",
        "auth.signout",
        "key.create",
        "document.ingest",
        "document.delete",
        "key.revoke",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let signin_entry = all["entries"].as_array().unwrap().iter().find(|e| e["action"] == "auth.signin").unwrap();
    assert_eq!(signin_entry["actor_kind"], "user");
    assert_eq!(signin_entry["actor_id"], reader.id.as_str());
    assert_eq!(signin_entry["ip"], "127.0.0.1");
    assert_eq!(signin_entry["request_id"], "audit-signin-1");
    assert!(signin_entry["at"].is_string());
    let failed = all["entries"].as_array().unwrap().iter().find(|e| e["action"] == "auth.signin_failed").unwrap();
    assert_eq!(failed["details"]["email"], "ada@example.com");
    assert!(!all.to_string().contains("wrong horse battery") && !all.to_string().contains(PASSWORD));
    let key_entry = all["entries"].as_array().unwrap().iter().find(|e| e["action"] == "key.create").unwrap();
    assert_eq!(key_entry["actor_kind"], "key");
}

async fn wait_for_document(app: &crate::common::TestApp, key: &str, location: &str) -> String {
    for _ in 0..200 {
        let job: Value = app.client.get(app.url(location)).bearer_auth(key).send().await.unwrap().json().await.unwrap();
        if job["status"] == "succeeded" {
            return job["result"]["document_id"].as_str().unwrap().to_owned();
        }
        assert_ne!(job["status"], "failed", "{job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ingestion did not finish");
}

#[tokio::test]
async fn the_audit_log_pages_and_filters_by_action() {
    let app = spawn_app().await;
    let admin = api_key(&app, "admin").await;
    for n in 0..3 {
        signup(&app, &format!("reader{n}@example.com")).await;
    }
    signin(&app, "reader0@example.com", "wrong horse battery").await;
    let page = entries(&app, &admin, "?action=auth.signup&per_page=2&page=2").await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert!(page["entries"].as_array().unwrap().iter().all(|e| e["action"] == "auth.signup"));
    let bad = app.client.get(app.url("/api/v1/audit?action=nonsense")).bearer_auth(&admin).send().await.unwrap();
    assert_problem(bad, 422, "validation_failed").await;
    let unknown_param = app.client.get(app.url("/api/v1/audit?actor=me")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(unknown_param.status(), 400);
}
