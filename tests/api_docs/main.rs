//! The API description: `/openapi.json` is OpenAPI 3.1 and lists every route the server answers
//! with each of its methods; `/docs` renders it from same-origin files only; both can be
//! switched off. `make test` also runs schemathesis against a live server
//! (`scripts/schemathesis.sh`).

#[path = "../common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{assert_problem, spawn_app, spawn_app_with};
use serde_json::Value;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "options", "head", "trace"];

async fn document(app: &common::TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("the document is JSON")
}

/// `path template → methods` of the document, methods in upper case.
fn documented_routes(document: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let paths = document["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .map(|(path, item)| {
            let methods = METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_uppercase()).collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Every path template registered with axum directly (`.route("/…", …)` and friends) anywhere in
/// `src/`: routes that bypass `routes!` and so may be missing from the document.
fn routes_registered_in_source() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable").map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.extend(route_literals(&std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found
}

/// The string literal opening each `.route(`, `.route_service(`, `.nest(` or `.nest_service(` call.
fn route_literals(source: &str) -> Vec<String> {
    let mut literals = Vec::new();
    for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
        for (at, _) in source.match_indices(call) {
            let rest = source[at + call.len()..].trim_start();
            if let Some(literal) = rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(l, _)| l) {
                literals.push(literal.to_owned());
            }
        }
    }
    literals
}

/// The methods the server answers on `template`, from the `Allow` header of its 405 to TRACE
/// (`HEAD` left out: axum answers it wherever GET is served).
async fn served_methods(app: &common::TestApp, template: &str) -> BTreeSet<String> {
    let concrete: String = template
        .split('/')
        .map(|segment| if segment.starts_with('{') { "x" } else { segment })
        .collect::<Vec<_>>()
        .join("/");
    let response = app.client.request(reqwest::Method::TRACE, app.url(&concrete)).send().await.unwrap();
    if response.status() == 404 {
        return BTreeSet::new();
    }
    assert_eq!(response.status(), 405, "TRACE {concrete}");
    let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    allow.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty() && m != "HEAD").collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_json_with_info_security_schemes_and_the_problem_schema() {
    let app = spawn_app().await;

    let document = document(&app).await;

    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Docent API");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        (schemes["api_key"]["type"].as_str(), schemes["api_key"]["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    assert_eq!(
        (schemes["session"]["in"].as_str(), schemes["session"]["name"].as_str()),
        (Some("cookie"), Some("docent_session"))
    );
    let problem = &document["components"]["schemas"]["Problem"]["properties"];
    for field in ["type", "title", "status", "detail", "code", "request_id"] {
        assert!(problem.get(field).is_some(), "Problem has {field}");
    }
}

#[tokio::test]
async fn every_route_the_server_answers_is_in_the_document_with_each_of_its_methods() {
    let app = spawn_app_with(|s| s.rate_limit.enabled = false, axum::Router::new()).await;
    let documented = documented_routes(&document(&app).await);
    let mut templates: BTreeSet<String> = documented.keys().cloned().collect();
    templates.extend(routes_registered_in_source());

    let mut mismatches = Vec::new();
    for template in &templates {
        let served = served_methods(&app, template).await;
        let described = documented.get(template).cloned().unwrap_or_default();
        if served != described {
            mismatches.push(format!("{template}: served {served:?}, documented {described:?}"));
        }
    }

    assert!(
        mismatches.is_empty(),
        "routes missing from (or extra in) /openapi.json — annotate the handler with #[utoipa::path] and \
         register it with routes!(…), see src/http/openapi/mod.rs:\n{}",
        mismatches.join("\n")
    );
    assert!(documented.len() >= 25, "the document lists every feature's routes: {:?}", documented.keys());
}

#[tokio::test]
async fn a_route_registered_with_plain_axum_is_found_by_the_missing_route_check() {
    let source = r#"OpenApiRouter::new().route("/api/v1/chapters", get(list)).nest("/api/v1/x", inner)"#;

    let literals = route_literals(source);

    assert_eq!(literals, ["/api/v1/chapters", "/api/v1/x"]);
}

#[tokio::test]
async fn every_documented_error_response_is_problem_json() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let shared = &document["components"]["responses"];

    let mut wrong = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(reference) => &shared[reference.trim_start_matches("#/components/responses/")],
                    None => response,
                };
                let is_error = status.parse::<u16>().unwrap() >= 400;
                let health_report = path.starts_with("/health") && status == "503";
                if is_error && !health_report && response["content"].get("application/problem+json").is_none() {
                    wrong.push(format!("{method} {path} {status}"));
                }
            }
        }
    }

    assert!(wrong.is_empty(), "error responses without application/problem+json: {wrong:?}");
}

#[tokio::test]
async fn the_chat_answer_is_documented_as_json_and_as_server_sent_events() {
    let app = spawn_app().await;

    let document = document(&app).await;

    let content = &document["paths"]["/api/v1/chat"]["post"]["responses"]["200"]["content"];
    assert_eq!(content["application/json"]["schema"]["$ref"], "#/components/schemas/ChatResponse");
    assert!(content.get("text/event-stream").is_some(), "{content}");
    let security = document["paths"]["/api/v1/chat"]["post"]["security"].as_array().unwrap();
    assert!(security.iter().any(|s| s["api_key"] == serde_json::json!(["chat"])), "{security:?}");
}

#[tokio::test]
async fn docs_is_html_that_loads_only_same_origin_assets_each_with_its_content_type() {
    let app = spawn_app().await;

    let page = app.get("/docs").await;

    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("http"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    let assets = asset_references(&html);
    assert!(assets.len() >= 3, "{assets:?}");
    for asset in assets {
        assert!(asset.starts_with('/') && !asset.starts_with("//"), "same-origin reference: {asset}");
        let response = app.get(&asset).await;
        assert_eq!(response.status(), 200, "{asset}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
        assert!(content_type.starts_with(expected), "{asset}: {content_type}");
        assert!(response.bytes().await.unwrap().len() > 100, "{asset} has content");
    }
}

/// The `src` and `href` values of a page, `data:` URLs left out.
fn asset_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = html[at + attribute.len()..].split('"').next().unwrap_or_default();
            if !value.starts_with("data:") {
                found.push(value.to_owned());
            }
        }
    }
    found
}

#[tokio::test]
async fn docs_assets_are_gzipped_when_accepted_and_revalidated_with_their_etag() {
    let app = spawn_app().await;
    let url = app.url("/docs/swagger-ui-bundle.js");

    let plain = app.client.get(&url).send().await.unwrap();
    let gzipped = app.client.get(&url).header("accept-encoding", "gzip, br").send().await.unwrap();
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let revalidated = app.client.get(&url).header("if-none-match", &etag).send().await.unwrap();

    assert!(plain.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let (plain_len, gzipped_len) = (plain.bytes().await.unwrap().len(), gzipped.bytes().await.unwrap().len());
    assert!(gzipped_len * 2 < plain_len, "gzip {gzipped_len} vs {plain_len}");
    assert_eq!(revalidated.status(), 304);
}

#[tokio::test]
async fn an_unknown_docs_asset_is_a_404_problem() {
    let app = spawn_app().await;

    let response = app.get("/docs/secrets.txt").await;

    assert_problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn the_document_and_the_docs_are_not_served_when_switched_off() {
    let app = spawn_app_with(|s| s.api_docs.enabled = false, axum::Router::new()).await;

    let document = app.get("/openapi.json").await;
    let docs = app.get("/docs").await;

    assert_problem(document, 404, "not_found").await;
    assert_problem(docs, 404, "not_found").await;
}

#[tokio::test]
async fn other_routes_keep_the_strict_security_policy() {
    let app = spawn_app().await;

    let response = app.get("/health/live").await;

    assert_eq!(response.headers()["content-security-policy"], "frame-ancestors 'none'");
}
