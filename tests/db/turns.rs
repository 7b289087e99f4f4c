//! The turn log: chat turns' writes committed in groups, each write stored exactly once, and a
//! bad write failing alone, on both dialects.

use docent::db::conversations::{ConversationRecord, NewMessage, Owner};
use docent::db::turns::{MessageRow, TurnLog, TurnWrite};
use docent::db::{Db, migrate};

use super::{postgres_db, sqlite_db};

fn message(id: &str, conversation_id: &str, content: &str) -> MessageRow {
    MessageRow::new(NewMessage::user(id, conversation_id, content), chrono::Utc::now())
}

fn start(owner: &Owner, conversation_id: &str) -> TurnWrite {
    let conversation = ConversationRecord::new(conversation_id, owner, "a question");
    let first = message(&format!("{conversation_id}-q1"), conversation_id, "the first question");
    TurnWrite::Start { conversation, first }
}

/// Twenty conversations started and answered in one burst: every row is there once, in order.
async fn a_burst_of_turns_is_stored_whole(db: Db) {
    migrate::up(&db).await.unwrap();
    let (log, owner) = (TurnLog::new(db.clone()), Owner::anonymous("b".repeat(64)));
    let ids: Vec<String> = (0..20).map(|i| format!("conversation-{i:02}")).collect();

    // Queued before any is awaited: the writer finds them all waiting and commits them together.
    let starts: Vec<_> = ids.iter().map(|id| log.submit(start(&owner, id))).collect();
    let answers: Vec<_> =
        ids.iter().map(|id| log.submit(TurnWrite::Append(message(&format!("{id}-a1"), id, "an answer")))).collect();
    for written in futures::future::join_all(starts.into_iter().chain(answers)).await {
        written.expect("every write is committed");
    }

    let conversations = db.conversations_of(&owner, 100).await.unwrap();
    assert_eq!(conversations.len(), 20);
    // One commit marked every answered conversation active: one instant for all of them.
    let active: std::collections::HashSet<_> = conversations.iter().map(|c| c.updated_at).collect();
    assert_eq!(active.len(), 1, "the twenty answers were committed together: {active:?}");
    for id in &ids {
        let contents: Vec<String> = db.messages_of(id).await.unwrap().into_iter().map(|m| m.content).collect();
        assert_eq!(contents, ["the first question", "an answer"], "{id}");
    }
}

/// An append to a conversation that does not exist, queued among good writes.
async fn a_bad_write_fails_alone_and_its_batch_is_kept(db: Db) {
    migrate::up(&db).await.unwrap();
    let (log, owner) = (TurnLog::new(db.clone()), Owner::anonymous("c".repeat(64)));
    db.write_turns(&[]).await.expect("nothing to write is not an error");

    let good: Vec<_> = (0..5).map(|i| log.submit(start(&owner, &format!("kept-{i}")))).collect();
    let bad = log.submit(TurnWrite::Append(message("orphan", "no-such-conversation", "lost")));
    let more: Vec<_> = (5..10).map(|i| log.submit(start(&owner, &format!("kept-{i}")))).collect();

    assert!(bad.await.is_err(), "the orphan message is refused");
    for written in futures::future::join_all(good.into_iter().chain(more)).await {
        written.expect("the good writes of the failed batch are stored");
    }
    assert_eq!(db.conversations_of(&owner, 100).await.unwrap().len(), 10);
    assert!(db.messages_of("no-such-conversation").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_burst_of_turns_is_committed_with_every_row_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_burst_of_turns_is_stored_whole(sqlite_db(dir.path()).await.0).await;
}

#[tokio::test]
async fn a_burst_of_turns_is_committed_with_every_row_once_on_postgres() {
    a_burst_of_turns_is_stored_whole(postgres_db().await.0).await;
}

#[tokio::test]
async fn a_bad_write_in_a_batch_fails_alone_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_bad_write_fails_alone_and_its_batch_is_kept(sqlite_db(dir.path()).await.0).await;
}

#[tokio::test]
async fn a_bad_write_in_a_batch_fails_alone_on_postgres() {
    a_bad_write_fails_alone_and_its_batch_is_kept(postgres_db().await.0).await;
}
