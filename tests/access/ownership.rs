//! Object-level authorization: conversations by owner (404 for anyone else), admin listing
//! through admin endpoints only, unknown body fields refused, anonymous history claimed.

use docent::db::conversations::Owner;
use serde_json::{Value, json};

use crate::common::{api_key, assert_problem, spawn_app};
use crate::support::{PASSWORD, cookie_value, reader_from, set_cookie, signup, signup_response};

#[tokio::test]
async fn a_reader_cannot_read_or_delete_another_readers_conversation() {
    let app = spawn_app().await;
    let (a, b) = (signup(&app, "a@example.com").await, signup(&app, "b@example.com").await);
    let owner = Owner { kind: "user", id: a.id.clone() };
    let conversation = app.state.db.create_conversation(&owner, "A's questions").await.unwrap();
    let path = app.url(&format!("/api/v1/conversations/{}", conversation.id));

    let read = app.client.get(&path).header("cookie", b.cookie()).send().await.unwrap();
    assert_problem(read, 404, "not_found").await;
    let delete =
        app.client.delete(&path).header("cookie", b.cookie()).header("x-csrf-token", &b.csrf).send().await.unwrap();
    assert_problem(delete, 404, "not_found").await;
    let listed: Value = app
        .client
        .get(app.url("/api/v1/conversations"))
        .header("cookie", b.cookie())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 0);

    let own = app.client.get(&path).header("cookie", a.cookie()).send().await.unwrap();
    assert_eq!(own.status(), 200, "the owner still reads it");
}

#[tokio::test]
async fn a_key_cannot_read_an_anonymous_readers_conversation() {
    let app = spawn_app().await;
    let conversation = app.state.db.create_conversation(&Owner::anonymous("a".repeat(64)), "anon").await.unwrap();
    let key = api_key(&app, "chat").await;
    let response = app
        .client
        .get(app.url(&format!("/api/v1/conversations/{}", conversation.id)))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn admins_see_every_conversation_through_the_admin_endpoint_only() {
    let app = spawn_app().await;
    let a = signup(&app, "a@example.com").await;
    app.state.db.create_conversation(&Owner { kind: "user", id: a.id.clone() }, "one").await.unwrap();
    app.state.db.create_conversation(&Owner::anonymous("b".repeat(64)), "two").await.unwrap();
    let admin = api_key(&app, "admin").await;
    let all: Value = app
        .client
        .get(app.url("/api/v1/admin/conversations"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 2);
    assert!(
        all["conversations"].as_array().unwrap().iter().all(|c| c["owner"]["id"] != "b".repeat(64).as_str()),
        "anonymous ids stay secret"
    );
    let own: Value = app
        .client
        .get(app.url("/api/v1/conversations"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own["conversations"].as_array().unwrap().len(), 0, "the ordinary listing stays per owner");
    let reader =
        app.client.get(app.url("/api/v1/admin/conversations")).header("cookie", a.cookie()).send().await.unwrap();
    assert_problem(reader, 403, "forbidden").await;
}

#[tokio::test]
async fn unknown_fields_in_any_json_body_are_refused() {
    let app = spawn_app().await;
    let reader = signup(&app, "a@example.com").await;
    let admin = api_key(&app, "admin").await;
    let cases = [
        ("POST", "/api/v1/auth/signup", json!({"email": "x@example.com", "password": PASSWORD, "role": "admin"})),
        ("POST", "/api/v1/auth/signin", json!({"email": "a@example.com", "password": PASSWORD, "remember": true})),
        ("PATCH", "/api/v1/auth/me", json!({"role": "admin"})),
        ("PATCH", "/api/v1/auth/me", json!({"profile": {"is_admin": true}})),
        ("POST", "/api/v1/chat", json!({"message": "hi", "owner_id": "someone"})),
        ("POST", "/api/v1/search", json!({"query": "hi", "owner_id": "someone"})),
        ("POST", "/api/v1/documents", json!({"content": "# x", "format": "markdown", "owner_id": "x"})),
        ("POST", "/api/v1/keys", json!({"name": "k", "scopes": ["chat"], "owner_id": "x"})),
        ("PATCH", "/api/v1/admin/users/role", json!({"email": "a@example.com", "role": "admin", "force": true})),
    ];
    for (method, path, body) in cases {
        let request = app.client.request(method.parse().unwrap(), app.url(path)).json(&body);
        let request = if path.starts_with("/api/v1/auth/me") {
            request.header("cookie", reader.cookie()).header("x-csrf-token", &reader.csrf)
        } else {
            request.bearer_auth(&admin)
        };
        let response = request.send().await.unwrap();
        assert_problem(response, 422, "validation_failed").await;
    }
    let me: Value = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", reader.cookie())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["role"], "reader");
}

#[tokio::test]
async fn signing_up_claims_the_anonymous_readers_conversations() {
    let app = spawn_app().await;
    let first = app.client.get(app.url("/api/v1/conversations")).send().await.unwrap();
    let anon = cookie_value(&set_cookie(&first, "docent_anon").expect("anonymous cookie set"));
    let conversation =
        app.state.db.create_conversation(&Owner::anonymous(anon.clone()), "before signing up").await.unwrap();

    let response = signup_response(&app, "a@example.com", Some(&format!("docent_anon={anon}"))).await;
    let reader = reader_from(response, 201).await;

    let mine: Value = app
        .client
        .get(app.url("/api/v1/conversations"))
        .header("cookie", reader.cookie())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["conversations"][0]["id"], conversation.id.as_str());
    let anonymous: Value = app
        .client
        .get(app.url("/api/v1/conversations"))
        .header("cookie", format!("docent_anon={anon}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anonymous["conversations"].as_array().unwrap().len(), 0, "it moved rather than copied");
}

#[tokio::test]
async fn signing_in_claims_conversations_too() {
    let app = spawn_app().await;
    signup(&app, "a@example.com").await;
    let anon = "c".repeat(64);
    app.state.db.create_conversation(&Owner::anonymous(anon.clone()), "later").await.unwrap();
    let response = app
        .client
        .post(app.url("/api/v1/auth/signin"))
        .header("cookie", format!("docent_anon={anon}"))
        .json(&json!({"email": "a@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["claimed_conversations"], 1);
}
