//! `GET /metrics` after real traffic: every name in the contract, nothing outside it, HELP for
//! every family, promtool-clean, bounded labels, and the admin listener.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use docent::Application;
use docent::telemetry::metrics::CATALOG;

use crate::common::{self, TestApp};

/// Uploads a document, searches, asks a question and provokes errors: the traffic after which
/// every metric marked `traffic` in the contract must exist.
async fn real_traffic(app: &TestApp) {
    let admin = common::client_with_key(&common::api_key(app, "ingest").await);
    let body = serde_json::json!({"content": "# Tides\n\n## Spring tides\n\nSpring tides happen at new and full moon, when the sun and the moon pull together.", "format": "markdown", "path": "ocean/tides.md"});
    let accepted = admin.post(app.url("/api/v1/documents")).json(&body).send().await.unwrap();
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    wait_for_job(app, &admin, &location).await;
    let search = serde_json::json!({"query": "when do spring tides happen", "k": 3});
    let found = app.client.post(app.url("/api/v1/search")).json(&search).send().await.unwrap();
    assert_eq!(found.status(), 200);
    let chat = serde_json::json!({"message": "When do spring tides happen?"});
    let answered = app.client.post(app.url("/api/v1/chat")).json(&chat).send().await.unwrap();
    assert_eq!(answered.status(), 200, "{}", answered.text().await.unwrap());
    let missing = admin.get(app.url("/api/v1/documents/00000000-0000-0000-0000-000000000000")).send().await.unwrap();
    common::assert_problem(missing, 404, "not_found").await;
    let malformed = app.client.post(app.url("/api/v1/search")).header("content-type", "application/json").body("{");
    common::assert_problem(malformed.send().await.unwrap(), 400, "malformed_json").await;
}

async fn wait_for_job(app: &TestApp, client: &reqwest::Client, location: &str) {
    for _ in 0..200 {
        let job: serde_json::Value = client.get(app.url(location)).send().await.unwrap().json().await.unwrap();
        if job["status"] == "succeeded" {
            return;
        }
        assert_ne!(job["status"], "failed", "{job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {location} did not finish");
}

pub async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as rendered, or a label-less name).
pub fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Metric families in an exposition: name → (has HELP, TYPE).
pub fn families(exposition: &str) -> BTreeMap<String, (bool, String)> {
    let mut found: BTreeMap<String, (bool, String)> = BTreeMap::new();
    for line in exposition.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("#"), Some("HELP"), Some(name), Some(_)) => found.entry(name.to_owned()).or_default().0 = true,
            (Some("#"), Some("TYPE"), Some(name), Some(kind)) => {
                found.entry(name.to_owned()).or_default().1 = kind.to_owned()
            }
            _ => {}
        }
    }
    found
}

/// The contract: metric name → its "Present" column.
fn contract() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/METRICS.md");
    let mut names = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines().filter(|l| l.starts_with("| `docent_")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let present = cells[4].to_owned();
        for name in cells[1].split('`').filter(|w| w.starts_with("docent_")) {
            names.insert(name.to_owned(), present.clone());
        }
    }
    assert!(names.len() > 30, "the table in {path} did not parse: {names:?}");
    names
}

#[tokio::test]
async fn after_real_traffic_the_scrape_matches_the_contract_in_deploy_metrics_md() {
    let app = common::spawn_app().await;
    real_traffic(&app).await;
    let exposition = scrape(&app.url("/metrics")).await;
    let scraped = families(&exposition);
    let contract = contract();
    let catalog: BTreeSet<&str> = CATALOG.iter().map(|m| m.name).collect();
    let documented: BTreeSet<&str> = contract.keys().map(String::as_str).collect();
    assert_eq!(catalog, documented, "src/telemetry/metrics.rs CATALOG and deploy/METRICS.md differ");
    for (name, present) in &contract {
        if present == "always" || present == "traffic" {
            assert!(scraped.contains_key(name), "{name} ({present}) is missing from the scrape:\n{exposition}");
        }
    }
    for (name, (help, kind)) in scraped.iter().filter(|(n, _)| n.starts_with("docent_")) {
        assert!(contract.contains_key(name), "{name} is exposed but not in deploy/METRICS.md");
        assert!(*help, "{name} has no HELP line");
        let def = CATALOG.iter().find(|m| m.name == name.as_str()).unwrap();
        assert_eq!(format!("{:?}", def.kind).to_lowercase(), *kind, "{name}");
    }
    assert!(exposition.contains(r#"docent_errors_total{code="not_found"}"#), "{exposition}");
    assert!(exposition.contains(r#"docent_errors_total{code="malformed_json"}"#), "{exposition}");
    assert!(exposition.contains(&format!(r#"docent_build_info{{version="{}""#, env!("CARGO_PKG_VERSION"))));
    assert!(
        exposition.contains(
            r#"docent_http_request_duration_seconds_bucket{method="POST",route="/api/v1/search",le="0.005"}"#
        ),
        "latency buckets:\n{exposition}"
    );
    assert!(exposition.contains(r#"docent_db_query_duration_seconds_count{operation="documents.replace_document"}"#));
    assert!(exposition.contains(r#"docent_ingest_documents_total{outcome="added"}"#));
}

/// `promtool` from PATH, or `DOCENT_PROMTOOL`. `make test` installs the Debian package.
fn promtool() -> String {
    if let Ok(path) = std::env::var("DOCENT_PROMTOOL") {
        return path;
    }
    let found = Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found,
        "promtool is not installed: run `make test` (it installs the Debian package `prometheus`) or `apt-get install prometheus`"
    );
    "promtool".into()
}

#[tokio::test]
async fn the_exposition_after_real_traffic_passes_promtool_check_metrics() {
    promtool();
    let app = common::spawn_app().await;
    real_traffic(&app).await;
    let exposition = scrape(&app.url("/metrics")).await;
    check_with_promtool(&exposition);
}

/// Fails unless `promtool check metrics` accepts the exposition without a single remark.
pub fn check_with_promtool(exposition: &str) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}");
}

#[tokio::test]
async fn the_route_label_is_the_matched_template_never_the_raw_path() {
    let app = common::spawn_app().await;
    let ids = [uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string()];
    for id in &ids {
        app.get(&format!("/api/v1/documents/{id}")).await;
    }
    app.get(&format!("/no/such/page/{}", ids[0])).await;
    let exposition = scrape(&app.url("/metrics")).await;
    assert!(exposition.contains(r#"route="/api/v1/documents/{id}""#), "{exposition}");
    assert!(exposition.contains(r#"route="unmatched""#), "{exposition}");
    for id in &ids {
        assert!(!exposition.contains(id.as_str()), "raw id {id} leaked into a label");
    }
}

#[tokio::test]
async fn with_an_admin_address_metrics_leave_the_public_port_for_the_admin_listener() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = common::test_settings(data.path());
    settings.metrics.addr = Some("127.0.0.1:0".into());
    let app = Application::build(settings).await.expect("application builds");
    let (port, admin) = (app.port(), app.metrics_port().expect("an admin listener"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let public = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(public.status(), 404);
    let exposition = scrape(&format!("http://127.0.0.1:{admin}/metrics")).await;
    assert_eq!(value(&exposition, "docent_db_up"), Some(1.0), "{exposition}");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("both listeners stop").unwrap();
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let app = common::spawn_app_with(|s| s.metrics.enabled = false, axum::Router::new()).await;
    common::assert_problem(app.get("/metrics").await, 404, "not_found").await;
}
