//! Paid once per chapter version: readers share the cache, concurrent requests share one
//! translation, and a changed chapter is translated afresh.

use std::time::Duration;

use crate::access_support::signup;
use crate::support::{NODES, chapter_id, ingest, read, translate, translating_app};

#[tokio::test]
async fn a_translation_is_paid_once_for_two_readers() {
    let (app, stub, _book) = translating_app().await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let first = translate(&app, &ada, &id, "ur").await;
    let calls = stub.calls();
    let second = translate(&app, &bob, &id, "ur").await;

    assert!(calls >= 1);
    assert_eq!(stub.calls(), calls, "the second reader was served from the cache");
    assert_eq!((first["from_cache"].as_bool(), second["from_cache"].as_bool()), (Some(false), Some(true)));
    assert_eq!(first["content"], second["content"]);
    assert_eq!(first["translated_at"], second["translated_at"]);
    assert_eq!(read(&app, &bob, &id, "ur").await.status(), 200, "bob's request is recorded too");
}

#[tokio::test]
async fn two_readers_asking_at_once_share_one_translation() {
    let (app, stub, _book) = translating_app().await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/02-topics.md").await;
    stub.delay(Duration::from_millis(400));

    let (first, second) = tokio::join!(translate(&app, &ada, &id, "ur"), translate(&app, &bob, &id, "ur"));

    assert_eq!(stub.calls(), 1, "one call for a one-section chapter, not one per reader");
    let paid = [&first, &second].iter().filter(|b| b["from_cache"] == false).count();
    assert_eq!(paid, 1, "exactly one request paid: {first} {second}");
    assert_eq!(first["content"], second["content"]);
    assert_eq!(app.state.translations.in_progress(), 0);
}

#[tokio::test]
async fn another_language_is_another_translation() {
    let (app, stub, _book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/02-topics.md").await;

    translate(&app, &ada, &id, "ur").await;
    let french = translate(&app, &ada, &id, "fr").await;

    assert_eq!(stub.calls(), 2);
    assert_eq!(french["from_cache"], false);
    assert!(stub.requests()[1]["messages"][0]["content"].as_str().unwrap().contains("French (fr)"));
}

#[tokio::test]
async fn a_changed_chapter_is_translated_again_and_its_old_translation_is_no_longer_served() {
    let (app, stub, book) = translating_app().await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;
    translate(&app, &ada, &id, "ur").await;
    let calls_for_one_version = stub.calls();

    let edited = NODES.replace("One node, one job.", "One node, one job, one log.");
    std::fs::write(book.path().join("01-robots/01-nodes.md"), edited).unwrap();
    ingest(&app, book.path()).await;
    let stale = read(&app, &ada, &id, "ur").await;
    let fresh = translate(&app, &bob, &id, "ur").await;

    crate::common::assert_problem(stale, 404, "translation_outdated").await;
    assert_eq!(fresh["from_cache"], false);
    assert_eq!(stub.calls(), 2 * calls_for_one_version, "the new version was paid for once");
    assert!(fresh["content"].as_str().unwrap().contains("ONE NODE, ONE JOB, ONE LOG."));
    let renewed: serde_json::Value = read(&app, &ada, &id, "ur").await.json().await.unwrap();
    assert_eq!(renewed["content"], fresh["content"], "ada's access now shows the current version");
}

#[tokio::test]
async fn a_new_glossary_is_a_new_recipe_and_translates_afresh() {
    let (app, stub, book) = translating_app().await;
    let ada = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/02-topics.md").await;
    translate(&app, &ada, &id, "ur").await;
    let db_url = app.state.settings.database_url();

    let restarted = crate::support::app_with(&stub, book.path(), move |s| {
        crate::common::set_database_url(s, &db_url);
        s.translate.glossary = vec!["Topics".into()];
    })
    .await;
    let ada_again = crate::access_support::signin(&restarted, "ada@example.com", crate::access_support::PASSWORD).await;
    let ada_again = crate::access_support::reader_from(ada_again, 200).await;
    let body = translate(&restarted, &ada_again, &id, "ur").await;

    assert_eq!(body["from_cache"], false);
    assert_eq!(body["content"], "# Topics {#topics}\n\nTopics CARRY MESSAGES BETWEEN NODES.\n");
}
