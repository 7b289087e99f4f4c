//! The HTTP edge: health, request ids, problem+json for every error class, panics, timeouts,
//! slowloris, security headers, CORS and graceful shutdown.

#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use common::{assert_problem, spawn_app, spawn_app_with};
use docent::http::{AppJson, AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(serde::Deserialize, serde::Serialize)]
struct Echo {
    message: String,
    count: u32,
}

/// Probe routes mounted inside the real middleware stack.
fn probes() -> Router<AppState> {
    Router::new()
        .route("/test/echo", post(|AppJson(body): AppJson<Echo>| async move { AppJson(body) }))
        .route("/test/panic", get(panics))
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "done"
            }),
        )
}

async fn panics() -> &'static str {
    panic!("secret panic detail s3cr3t")
}

async fn probe_app() -> common::TestApp {
    spawn_app_with(|s| s.server.request_timeout_secs = 5, probes()).await
}

#[tokio::test]
async fn health_reports_a_connected_database_version_and_timestamp() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "connected");
    assert!(body["services"].is_object());
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).expect("RFC 3339 timestamp");
}

#[tokio::test]
async fn health_is_unhealthy_with_503_when_the_database_is_gone_but_liveness_stays_200() {
    let app = spawn_app().await;
    app.state.db.close().await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!((body["status"].as_str(), body["database"].as_str()), (Some("unhealthy"), Some("disconnected")));
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 503);
}

#[tokio::test]
async fn ready_answers_200_while_serving() {
    let app = spawn_app().await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_request_id_is_generated_when_absent_and_echoed() {
    let app = spawn_app().await;
    let response = app.get("/health/live").await;
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "generated id {id} is a UUID");
}

#[tokio::test]
async fn a_valid_client_request_id_is_kept_and_an_invalid_one_replaced() {
    let app = spawn_app().await;
    let kept = app.client.get(app.url("/health/live")).header("x-request-id", "abc-123_x.y:z").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "abc-123_x.y:z");
    let bad = "x".repeat(200);
    let replaced = app.client.get(app.url("/health/live")).header("x-request-id", &bad).send().await.unwrap();
    assert_ne!(replaced.headers()["x-request-id"].to_str().unwrap(), bad);
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = probe_app().await;
    let response = app
        .client
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body("{\"message\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "malformed_json").await;
}

#[tokio::test]
async fn well_formed_json_with_wrong_types_or_missing_fields_is_a_422_problem() {
    let app = probe_app().await;
    let wrong = app
        .client
        .post(app.url("/test/echo"))
        .json(&serde_json::json!({"message": 5, "count": 1}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(wrong, 422, "validation_failed").await;
    assert!(body["detail"].as_str().unwrap().contains("message"), "{body}");
    let missing =
        app.client.post(app.url("/test/echo")).json(&serde_json::json!({"message": "hi"})).send().await.unwrap();
    let body = assert_problem(missing, 422, "validation_failed").await;
    assert!(body["detail"].as_str().unwrap().contains("count"), "{body}");
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_problem() {
    let app = probe_app().await;
    let response =
        app.client.post(app.url("/test/echo")).header("content-type", "text/plain").body("hello").send().await.unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_with_and_without_content_length() {
    let app = spawn_app_with(|s| s.server.body_limit_bytes = 2048, probes()).await;
    let big = format!("{{\"message\": \"{}\", \"count\": 1}}", "a".repeat(4096));
    let with_length = app
        .client
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_problem(with_length, 413, "payload_too_large").await;
    let chunks: Vec<Result<String, std::io::Error>> =
        big.as_bytes().chunks(512).map(|c| Ok(String::from_utf8_lossy(c).into_owned())).collect();
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let chunked = app
        .client
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body(stream)
        .send()
        .await
        .unwrap();
    assert_problem(chunked, 413, "payload_too_large").await;
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(app.get("/no/such/route").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_with_allow() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/health")).send().await.unwrap();
    let allow = response.headers().get("allow").expect("Allow header").to_str().unwrap().to_owned();
    assert!(allow.contains("GET"), "Allow: {allow}");
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_problem_that_leaks_nothing_and_the_server_keeps_serving() {
    let app = probe_app().await;
    let response = app.get("/test/panic").await;
    let body = assert_problem(response, 500, "internal_error").await;
    assert!(!body.to_string().contains("s3cr3t"), "panic message leaked: {body}");
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_a_408_problem() {
    let app = spawn_app_with(|s| s.server.request_timeout_secs = 1, probes()).await;
    assert_problem(app.get("/test/slow").await, 408, "request_timeout").await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app_with(|s| s.server.header_read_timeout_secs = 1, Router::new()).await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    socket.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
        .await
        .expect("server closed the connection");
    assert!(matches!(read, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).contains("408"), "connection was closed");
    assert!(started.elapsed() < Duration::from_secs(3), "closed within the header timeout");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let response = app.get("/health/live").await;
    let h = response.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("referrer-policy"));
    assert_eq!(h["content-security-policy"], "frame-ancestors 'none'");
}

#[tokio::test]
async fn cors_allows_exactly_the_configured_origins() {
    let app =
        spawn_app_with(|s| s.security.cors_origins = vec!["https://book.example.com".into()], Router::new()).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/health"))
        .header("origin", "https://book.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://book.example.com");
    assert_eq!(preflight.headers()["access-control-allow-credentials"], "true");
    let other = app.client.get(app.url("/health")).header("origin", "https://evil.example.com").send().await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn shutdown_turns_readiness_off_at_once_and_lets_in_flight_requests_finish() {
    let mut app = probe_app().await;
    let client = app.client.clone();
    let slow_url = app.url("/test/slow");
    let in_flight = tokio::spawn(async move { client.get(slow_url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(app.state.lifecycle.is_draining(), "readiness turned off at once");
    let response = in_flight.await.unwrap().expect("in-flight request completed");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "done");
    let server = app.server.take().unwrap();
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("server stopped").unwrap();
}

#[tokio::test]
async fn health_answers_within_its_timeout_when_the_database_hangs() {
    let db_url = common::fresh_postgres_database().await;
    let url = url::Url::parse(&db_url).unwrap();
    let proxy = common::FreezableProxy::start(format!("127.0.0.1:{}", url.port().unwrap())).await;
    let mut proxied = url.clone();
    proxied.set_port(Some(proxy.port)).unwrap();
    let app = spawn_app_with(
        |s| {
            common::set_database_url(s, proxied.as_str());
            s.database.health_timeout_ms = 500;
        },
        Router::new(),
    )
    .await;
    proxy.freeze();
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(5), app.get("/health")).await.expect("/health answered");
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(3), "answered within the timeout: {:?}", started.elapsed());
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn docent_healthcheck_exits_0_against_a_live_server_and_1_when_nothing_listens() {
    let app = spawn_app().await;
    let port = app.port.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_docent"))
            .args(["healthcheck", "--port", &port])
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(ok.code(), Some(0));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let down = std::process::Command::new(env!("CARGO_BIN_EXE_docent"))
        .args(["healthcheck", "--port", &closed])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));
}

#[test]
fn docent_version_prints_version_commit_and_profile() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docent")).args(["version", "--json"]).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(info["profile"].is_string());
}
