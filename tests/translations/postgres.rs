//! The translation store on PostgreSQL: the shared cache, readers' requests, expiry and purge.

use crate::access::{expire_requests, request_rows};
use crate::access_support::signup;
use crate::common::{assert_problem, fresh_postgres_database, set_database_url};
use crate::stub::TranslatorStub;
use crate::support::{app_with, chapter_id, read, translate, write_book};

#[tokio::test]
async fn translations_are_cached_shared_and_expire_on_postgres() {
    let url = fresh_postgres_database().await;
    let (stub, book) = (TranslatorStub::start().await, tempfile::tempdir().unwrap());
    write_book(book.path());
    let app = app_with(&stub, book.path(), move |s| set_database_url(s, &url)).await;
    let (ada, bob) = (signup(&app, "ada@example.com").await, signup(&app, "bob@example.com").await);
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let first = translate(&app, &ada, &id, "ur").await;
    let calls = stub.calls();
    let second = translate(&app, &bob, &id, "ur").await;
    assert_eq!((first["from_cache"].as_bool(), second["from_cache"].as_bool()), (Some(false), Some(true)));
    assert_eq!(stub.calls(), calls);
    assert_eq!(read(&app, &ada, &id, "ur").await.status(), 200);

    expire_requests(&app).await;
    assert_problem(read(&app, &bob, &id, "ur").await, 404, "not_found").await;
    translate(&app, &bob, &id, "ur").await;
    assert_eq!(request_rows(&app, &ada.id).await, 0, "ada's expired request was purged");
    assert_eq!(read(&app, &bob, &id, "ur").await.status(), 200);
}
