//! Every protected route against every kind of caller: 401 without credentials, 403 without the
//! scope, through otherwise.

use serde_json::{Value, json};

use crate::common::{TestApp, api_key, assert_problem, spawn_app, spawn_app_with};
use crate::support::{Reader, signup};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Need {
    Open,
    Chat,
    Ingest,
    Admin,
}

/// (method, path, body, scope needed). Bodies are minimal: an authorised caller gets past the
/// guard to a 2xx, 404 or 422, never 401/403.
fn routes() -> Vec<(&'static str, &'static str, Option<Value>, Need)> {
    vec![
        ("GET", "/health/live", None, Need::Open),
        ("POST", "/api/v1/search", Some(json!({"query": "tides"})), Need::Chat),
        ("POST", "/api/v1/chat", Some(json!({})), Need::Chat),
        ("GET", "/api/v1/conversations", None, Need::Chat),
        ("GET", "/api/v1/conversations/none", None, Need::Chat),
        ("DELETE", "/api/v1/conversations/none", None, Need::Chat),
        ("GET", "/api/v1/documents", None, Need::Ingest),
        ("POST", "/api/v1/documents", Some(json!({})), Need::Ingest),
        ("GET", "/api/v1/documents/none", None, Need::Ingest),
        ("DELETE", "/api/v1/documents/none", None, Need::Ingest),
        ("GET", "/api/v1/jobs/none", None, Need::Ingest),
        ("GET", "/api/v1/keys", None, Need::Admin),
        ("POST", "/api/v1/keys", Some(json!({})), Need::Admin),
        ("DELETE", "/api/v1/keys/none", None, Need::Admin),
        ("GET", "/api/v1/keys/none/usage", None, Need::Admin),
        ("GET", "/api/v1/audit", None, Need::Admin),
        ("GET", "/api/v1/admin/conversations", None, Need::Admin),
        ("GET", "/api/v1/admin/users", None, Need::Admin),
        ("PATCH", "/api/v1/admin/users/role", Some(json!({})), Need::Admin),
    ]
}

enum Caller<'a> {
    Anonymous,
    Key(&'a str),
    User(&'a Reader),
}

async fn call(app: &TestApp, caller: &Caller<'_>, method: &str, path: &str, body: &Option<Value>) -> reqwest::Response {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path));
    request = match caller {
        Caller::Anonymous => request,
        Caller::Key(key) => request.bearer_auth(key),
        Caller::User(reader) => request.header("cookie", reader.cookie()).header("x-csrf-token", &reader.csrf),
    };
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn assert_table(app: &TestApp, name: &str, caller: Caller<'_>, allowed: impl Fn(Need) -> bool, denied: u16) {
    for (method, path, body, need) in routes() {
        let status = call(app, &caller, method, path, &body).await.status().as_u16();
        if allowed(need) {
            assert!(![401, 403].contains(&status), "{name}: {method} {path} should pass, got {status}");
        } else {
            assert_eq!(status, denied, "{name}: {method} {path}");
        }
    }
}

#[tokio::test]
async fn each_scope_opens_exactly_its_routes() {
    let app = spawn_app().await;
    let (chat, ingest, admin) =
        (api_key(&app, "chat").await, api_key(&app, "ingest").await, api_key(&app, "admin").await);
    let reader = signup(&app, "reader@example.com").await;
    assert_table(&app, "anonymous", Caller::Anonymous, |n| matches!(n, Need::Open | Need::Chat), 401).await;
    assert_table(&app, "chat key", Caller::Key(&chat), |n| matches!(n, Need::Open | Need::Chat), 403).await;
    assert_table(&app, "ingest key", Caller::Key(&ingest), |n| matches!(n, Need::Open | Need::Ingest), 403).await;
    assert_table(&app, "admin key", Caller::Key(&admin), |_| true, 0).await;
    assert_table(&app, "reader", Caller::User(&reader), |n| matches!(n, Need::Open | Need::Chat), 403).await;
}

#[tokio::test]
async fn without_anonymous_access_chat_routes_need_credentials() {
    let app = spawn_app_with(|s| s.access.allow_anonymous = false, axum::Router::new()).await;
    let chat = api_key(&app, "chat").await;
    assert_table(&app, "anonymous", Caller::Anonymous, |n| n == Need::Open, 401).await;
    assert_table(&app, "chat key", Caller::Key(&chat), |n| matches!(n, Need::Open | Need::Chat), 403).await;
}

#[tokio::test]
async fn a_malformed_unknown_or_revoked_key_is_401() {
    let app = spawn_app().await;
    let key = api_key(&app, "chat").await;
    let search =
        |k: String| app.client.post(app.url("/api/v1/search")).bearer_auth(k).json(&json!({"query": "x"})).send();
    assert_problem(search("not-a-key".into()).await.unwrap(), 401, "invalid_credentials").await;
    let forged = format!("{}{}", &key[..key.len() - 4], "0000");
    assert_problem(search(forged).await.unwrap(), 401, "invalid_credentials").await;
    let id = key.split('_').nth(1).unwrap().to_owned();
    docent::access::keys::revoke_key(&app.state.db, &id).await.unwrap();
    assert_problem(search(key).await.unwrap(), 401, "invalid_credentials").await;
    let basic =
        app.client.get(app.url("/api/v1/conversations")).header("authorization", "Basic YTpi").send().await.unwrap();
    assert_problem(basic, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn an_expired_key_is_401() {
    let app = spawn_app().await;
    let new = docent::access::keys::NewKey {
        name: "short".into(),
        scopes: [docent::access::Scope::Chat].into(),
        expires_in: Some(chrono::Duration::minutes(1)),
        created_by: None,
    };
    let created = docent::access::keys::create_key(&app.state.db, new).await.unwrap();
    let key = docent::access::keys::reveal(&created).to_owned();
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    docent::on_pool!(&app.state.db, pool => sqlx::query("UPDATE api_keys SET expires_at = $1").bind(past).execute(pool).await.map(|_| ())).unwrap();
    let response = app.client.get(app.url("/api/v1/conversations")).bearer_auth(key).send().await.unwrap();
    assert_problem(response, 401, "invalid_credentials").await;
}
