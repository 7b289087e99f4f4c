//! A model that tampers with the placeholders is asked once more, then the request fails with
//! a 502 problem and nothing is cached or recorded; provider failures are problems too.

use serde_json::json;

use crate::access_support::signup;
use crate::common::assert_problem;
use crate::stub::Behaviour;
use crate::support::{chapter_id, read, request, translate, translating_app};

#[tokio::test]
async fn a_model_that_drops_a_placeholder_fails_the_request_with_502_and_nothing_is_cached() {
    let (app, stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;
    stub.behave(Behaviour::DropsAToken);

    let refused = request(&app, &ada, &id, json!({"language": "ur"})).await;

    let problem = assert_problem(refused, 502, "translation_failed").await;
    assert!(problem["detail"].as_str().unwrap().contains("section 1"), "{problem}");
    assert_eq!(stub.calls(), 2, "the section was asked for twice");
    assert_problem(read(&app, &ada, &id, "ur").await, 404, "not_found").await;
    stub.behave(Behaviour::Faithful);
    let retried = translate(&app, &ada, &id, "ur").await;
    assert_eq!(retried["from_cache"], false, "the refused translation was never cached");
    assert_eq!(stub.calls(), 3);
}

#[tokio::test]
async fn a_provider_that_fails_is_a_502_problem_without_upstream_details() {
    let (app, stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/02-topics.md").await;
    stub.behave(Behaviour::Fails);

    let refused = request(&app, &ada, &id, json!({"language": "ur"})).await;

    let problem = assert_problem(refused, 502, "upstream_error").await;
    assert!(!problem["detail"].as_str().unwrap().contains("exploded"), "{problem}");
    assert_eq!(app.state.translations.in_progress(), 0);
}
