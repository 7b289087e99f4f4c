//! API keys through the real `docent keys` binary and the admin endpoints; usage counting.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{api_key, assert_problem, spawn_app, spawn_app_with};

fn docent(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_docent"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DOCENT_DATA_DIR", data)
        .env("LOG_LEVEL", "error")
        .output()
        .expect("docent runs")
}

#[tokio::test]
async fn a_key_made_with_the_cli_works_until_the_cli_revokes_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let app = spawn_app_with(move |s| s.data_dir = dir, axum::Router::new()).await;

    let created =
        docent(data.path(), &["keys", "create", "--name", "ci", "--scopes", "chat", "--expires-in", "90d", "--json"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (key, id) = (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned());
    assert!(key.starts_with(&format!("dk_{id}_")));
    assert_eq!(created["scopes"], json!(["chat"]));

    let search =
        || app.client.post(app.url("/api/v1/search")).bearer_auth(&key).json(&json!({"query": "tides"})).send();
    assert_eq!(search().await.unwrap().status(), 200);

    let listed = docent(data.path(), &["keys", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&listed).unwrap()).contains(key.split('_').nth(2).unwrap()));

    let revoked = docent(data.path(), &["keys", "revoke", &id]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert_problem(search().await.unwrap(), 401, "invalid_credentials").await;

    let bad = docent(data.path(), &["keys", "create", "--name", "x", "--scopes", "root"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("chat, ingest or admin"));
}

#[tokio::test]
async fn the_cli_makes_the_first_admin() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let app = spawn_app_with(move |s| s.data_dir = dir, axum::Router::new()).await;
    let reader = crate::support::signup(&app, "ops@example.com").await;
    let output = docent(data.path(), &["users", "set-role", "OPS@example.com", "admin"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let audit = app.client.get(app.url("/api/v1/audit")).header("cookie", reader.cookie()).send().await.unwrap();
    assert_eq!(audit.status(), 200);
}

#[tokio::test]
async fn admins_create_list_revoke_and_meter_keys_over_http() {
    let app = spawn_app().await;
    let admin = api_key(&app, "admin").await;
    let created: Value = app
        .client
        .post(app.url("/api/v1/keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "reader app", "scopes": ["chat"], "expires_in": "30d"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (key, id) = (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned());
    assert!(created["expires_at"].is_string());
    for _ in 0..3 {
        let r = app
            .client
            .post(app.url("/api/v1/search"))
            .bearer_auth(&key)
            .json(&json!({"query": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
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
    assert_eq!(usage["requests"], 3);
    assert_eq!(usage["tokens"], 0);
    assert!(usage["last_used_at"].is_string());

    app.state
        .access
        .record_tokens(&docent::access::Principal::ApiKey { id: id.clone(), scopes: Default::default() }, 120);
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
    assert_eq!(
        (usage["requests"].as_i64(), usage["tokens"].as_i64()),
        (Some(3), Some(120)),
        "flushed counts are not double-counted"
    );

    let listed: Value =
        app.client.get(app.url("/api/v1/keys")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert!(
        listed["keys"].as_array().unwrap().iter().all(|k| k.get("key").is_none() && k.get("secret_hash").is_none())
    );
    let revoked = app.client.delete(app.url(&format!("/api/v1/keys/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    let refused =
        app.client.post(app.url("/api/v1/search")).bearer_auth(&key).json(&json!({"query": "x"})).send().await.unwrap();
    assert_problem(refused, 401, "invalid_credentials").await;
    let missing = app.client.delete(app.url("/api/v1/keys/0000000000000000")).bearer_auth(&admin).send().await.unwrap();
    assert_problem(missing, 404, "not_found").await;
}

#[tokio::test]
async fn invalid_key_requests_name_the_field() {
    let app = spawn_app().await;
    let admin = api_key(&app, "admin").await;
    for (body, field) in [
        (json!({"name": "k", "scopes": []}), "scopes"),
        (json!({"name": "k", "scopes": ["root"]}), "scopes"),
        (json!({"name": " ", "scopes": ["chat"]}), "name"),
        (json!({"name": "k", "scopes": ["chat"], "expires_in": "forever"}), "expires_in"),
    ] {
        let response = app.client.post(app.url("/api/v1/keys")).bearer_auth(&admin).json(&body).send().await.unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
}
