//! Helpers: serving a hand-assembled app state (a scripted chat model, a fixed clock, a stand-in
//! for the auth middleware), clients on other loopback addresses, and the rate-limit headers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use docent::access::InProcessRateLimiter;
use docent::config::Settings;
use docent::http::AppState;
use docent::http::server::{ServeOptions, serve};
use governor::clock::FakeRelativeClock;
use tokio::net::TcpListener;

use crate::common::{TestApp, spawn_app_with};

/// Routes mounted inside the middleware stack for the tests: `/test/ping`, `/test/items/{id}`.
pub fn probe_routes() -> Router<AppState> {
    Router::new().route("/test/ping", get(|| async { "pong" })).route("/test/items/{id}", get(|| async { "item" }))
}

/// Serves `state` (with the probe routes) on a fresh loopback port, the way `Application` does;
/// returns the base URL.
pub async fn serve_state(state: AppState) -> String {
    let router = docent::http::app(state, probe_routes());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let options =
        ServeOptions { header_read_timeout: Duration::from_secs(5), shutdown_timeout: Duration::from_secs(1) };
    tokio::spawn(serve(listener, router, options, std::future::pending::<()>()));
    address
}

/// The application with `configure`d settings, served with its rate limiter on a clock that
/// only moves when the test advances it, so refills never race the test.
pub struct Limited {
    pub app: TestApp,
    pub base: String,
    pub clock: FakeRelativeClock,
}

impl Limited {
    pub async fn spawn(configure: impl FnOnce(&mut Settings)) -> Self {
        let app = spawn_app_with(configure, Router::new()).await;
        let clock = FakeRelativeClock::default();
        let mut state = app.state.clone();
        state.rate_limiter = Arc::new(InProcessRateLimiter::with_clock(clock.clone()));
        let base = serve_state(state).await;
        Self { app, base, clock }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.app.client.get(self.url(path)).send().await.unwrap()
    }
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is loopback on Linux).
pub fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from(ip)).build().unwrap()
}

/// A response header as an integer.
pub fn header_u64(response: &reqwest::Response, name: &str) -> u64 {
    let value = response.headers().get(name).unwrap_or_else(|| panic!("{name} header present"));
    value.to_str().unwrap().parse().unwrap_or_else(|_| panic!("{name} is an integer: {value:?}"))
}

/// Sends `n` GETs to `url` and returns the statuses.
pub async fn hit(client: &reqwest::Client, url: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        statuses.push(client.get(url).send().await.unwrap().status().as_u16());
    }
    statuses
}
