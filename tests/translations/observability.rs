//! Translation requests leave a trace: an audit entry per request and the translation metrics.

use serde_json::Value;

use crate::access_support::signup;
use crate::common::api_key;
use crate::support::{chapter_id, translate, translating_app};

#[tokio::test]
async fn each_request_is_audited_and_counted_in_the_metrics() {
    let (app, _stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/02-topics.md").await;

    translate(&app, &ada, &id, "ur").await;
    translate(&app, &ada, &id, "ur").await;

    let admin = api_key(&app, "admin").await;
    let audit: Value = app
        .client
        .get(app.url("/api/v1/audit?action=translation.request"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 2, "{audit}");
    let newest = &audit["entries"][0];
    assert_eq!((newest["actor_id"].as_str(), newest["target"].as_str()), (Some(ada.id.as_str()), Some(id.as_str())));
    assert_eq!(
        (newest["details"]["language"].as_str(), newest["details"]["from_cache"].as_bool()),
        (Some("ur"), Some(true))
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for series in [
        r#"docent_translation_requests_total{outcome="translated"}"#,
        r#"docent_translation_requests_total{outcome="cache_hit"}"#,
        r#"docent_translation_sections_total{outcome="translated"}"#,
        r#"docent_cache_hits_total{cache="translations"}"#,
        r#"docent_cache_misses_total{cache="translations"}"#,
        "docent_translation_duration_seconds_count",
    ] {
        assert!(metrics.contains(series), "{series} missing from:\n{metrics}");
    }
}
