//! Shared test harness: `spawn_app()` on port 0 with a fresh SQLite database per test, fresh
//! PostgreSQL databases on the server `make test` starts, and a TCP proxy that can freeze a
//! connection to simulate a hung database.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use docent::config::Settings;
use docent::http::AppState;
use docent::{Application, install_crypto_provider};
use secrecy::SecretString;
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    /// Starts the shutdown sequence (as SIGTERM would).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Settings for a test: loopback, port 0, SQLite in `data`, short timeouts.
pub fn test_settings(data: &std::path::Path) -> Settings {
    let mut settings = Settings::default();
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.data_dir = data.to_path_buf();
    settings.log.level = "warn".into();
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, Router::new()).await
}

/// Spawns the app after `configure` adjusts its settings, with `extra` routes mounted.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings), extra: Router<AppState>) -> TestApp {
    install_crypto_provider();
    let data = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data.path());
    configure(&mut settings);
    let app = Application::build_with(settings, extra).await.expect("application builds");
    let port = app.port();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        state,
        stop: Some(stop),
        server: Some(server),
        _data: data,
    }
}

/// The PostgreSQL server started by `make test`. Its absence is a failure, never a skip.
pub fn postgres_server_url() -> String {
    std::env::var("DOCENT_TEST_POSTGRES_URL").expect(
        "DOCENT_TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts PostgreSQL on loopback",
    )
}

/// A fresh, empty PostgreSQL database for one test; returns its URL.
pub async fn fresh_postgres_database() -> String {
    let server = postgres_server_url();
    let name = format!("docent_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server).await.expect("PostgreSQL test server reachable");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    let mut url = url::Url::parse(&server).unwrap();
    url.set_path(&name);
    url.to_string()
}

pub fn set_database_url(settings: &mut Settings, url: &str) {
    settings.database.url = Some(SecretString::from(url.to_owned()));
}

/// Environment for `docent::config::load` in tests.
pub fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A TCP proxy in front of `target`; `freeze()` makes it stop forwarding (a hung peer).
pub struct FreezableProxy {
    pub port: u16,
    frozen: Arc<AtomicBool>,
}

impl FreezableProxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(&target).await else { continue };
                tokio::spawn(pump(client, upstream, flag.clone()));
            }
        });
        Self { port, frozen }
    }

    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

async fn pump(client: TcpStream, upstream: TcpStream, frozen: Arc<AtomicBool>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let f1 = frozen.clone();
    let a = tokio::spawn(async move { copy_unless_frozen(&mut cr, &mut uw, f1).await });
    let b = tokio::spawn(async move { copy_unless_frozen(&mut ur, &mut cw, frozen).await });
    let _ = tokio::join!(a, b);
}

async fn copy_unless_frozen(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
    frozen: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Asserts a problem+json body and returns it.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let request_id = response.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "code in {body}");
    assert_eq!(body["request_id"], request_id.as_str());
    assert_eq!(body["type"], format!("urn:docent:problem:{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// Creates an API key with `scopes` (e.g. `"ingest"` or `"chat,admin"`) directly in the app's
/// database and returns its `dk_…` token.
pub async fn api_key(app: &TestApp, scopes: &str) -> String {
    use secrecy::ExposeSecret;
    let new = docent::access::keys::NewKey {
        name: format!("test {scopes}"),
        scopes: docent::access::keys::parse_scopes([scopes]).expect("valid scopes"),
        expires_in: None,
        created_by: None,
    };
    let created = docent::access::keys::create_key(&app.state.db, new).await.expect("key created");
    created.key.expose_secret().to_owned()
}

/// A client that sends `Authorization: Bearer <key>` on every request.
pub fn client_with_key(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {key}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
