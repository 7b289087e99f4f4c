//! Several replicas on one database: a chapter is translated (and paid for) once even when two
//! replicas are asked at the same moment, and a lease left by a replica that died runs out.

use std::time::{Duration, Instant};

use chrono::Utc;
use docent::access::{Subject, SubjectKind};
use docent::translate::claim::{Claims, Turn, parts};
use docent::translate::{Language, TranslationService};

use crate::access_support::signup;
use crate::common::{TestApp, fresh_postgres_database, set_database_url, spawn_app_with};
use crate::support::{chapter_id, translate, translating_app};

/// A second replica of `app`: the same database and model, its own in-process state.
fn another_replica(app: &TestApp) -> TranslationService {
    let state = &app.state;
    TranslationService::new(state.db.clone(), state.llm.clone(), state.quotas.clone(), &state.settings.translate)
}

#[tokio::test]
async fn two_replicas_asked_at_once_pay_for_one_translation() {
    // Arrange: a slow model, and a second replica sharing the database.
    let (app, stub, _book) = translating_app().await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/02-topics.md").await;
    stub.delay(Duration::from_millis(400));
    let replica = another_replica(&app);
    let bob_subject = Subject { kind: SubjectKind::User, id: bob.id.clone() };
    let urdu = Language::parse("ur").unwrap();

    // Act: ada asks this replica over HTTP while bob asks the other one.
    let (here, there) =
        tokio::join!(translate(&app, &ada, &id, "ur"), replica.request(&bob.id, &bob_subject, &id, &urdu));

    // Assert: one model call; exactly one of the two paid; both got the same text.
    let there = there.expect("the other replica serves the translation");
    assert_eq!(stub.calls(), 1, "one call for a one-section chapter, not one per replica");
    assert!(
        here["from_cache"].as_bool().unwrap() != there.from_cache,
        "exactly one paid: {here} / {}",
        there.from_cache
    );
    assert_eq!(here["content"].as_str(), Some(there.record.content.as_str()));
}

async fn a_dead_replicas_lease_runs_out_and_another_replica_takes_over(app: &TestApp) {
    // Arrange: a replica leased a key for one more second, then died.
    let key = ("ab".repeat(32), "ur".to_owned(), "stub-model".to_owned());
    let now = Utc::now();
    let lease = parts(&key);
    assert!(
        app.state.db.claim_translation(lease, "a-replica-that-died", now + Duration::from_secs(1), now).await.unwrap()
    );
    let replica = Claims::new(app.state.db.clone());

    // Act
    let started = Instant::now();
    let turn = replica.acquire(&key).await.unwrap();

    // Assert: the lease was waited out, not broken early, and then taken over.
    assert!(matches!(turn, Turn::Ours), "nothing was cached, so the waiting replica translates");
    assert!(started.elapsed() >= Duration::from_millis(900), "waited {:?}", started.elapsed());
    assert!(!app.state.db.claim_translation(lease, "a-third-replica", Utc::now(), Utc::now()).await.unwrap());

    // A lease that ran out on a key nobody asks for again is cleared by the next release.
    let forgotten = ("cd".repeat(32), "fr".to_owned(), "stub-model".to_owned());
    let forgotten = parts(&forgotten);
    assert!(app.state.db.claim_translation(forgotten, "a-replica-that-died", Utc::now(), Utc::now()).await.unwrap());
    replica.hold(&key, async {}).await;
    let left: (i64,) = match &app.state.db {
        docent::db::Db::Sqlite(pool, _) => {
            sqlx::query_as("SELECT COUNT(*) FROM translation_claims").fetch_one(pool).await
        }
        docent::db::Db::Postgres(pool) => {
            sqlx::query_as("SELECT COUNT(*) FROM translation_claims").fetch_one(pool).await
        }
    }
    .unwrap();
    assert_eq!(left.0, 0, "both the released lease and the one that ran out are gone");
}

#[tokio::test]
async fn a_lease_left_by_a_replica_that_died_runs_out_and_another_translates() {
    let app = spawn_app_with(|_| {}, axum::Router::new()).await;
    a_dead_replicas_lease_runs_out_and_another_replica_takes_over(&app).await;
}

#[tokio::test]
async fn a_lease_left_by_a_replica_that_died_runs_out_on_postgres_too() {
    let url = fresh_postgres_database().await;
    let app = spawn_app_with(move |s| set_database_url(s, &url), axum::Router::new()).await;
    a_dead_replicas_lease_runs_out_and_another_replica_takes_over(&app).await;
}
