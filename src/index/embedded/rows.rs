//! Hot rows: the text and payload of recently returned chunks, kept in memory so that a search
//! whose winners were returned recently skips the SQLite fetch (a round trip through the pool's
//! worker thread, the largest fixed cost of a warm search after the scan). Readers of one book
//! ask about the same passages, so a few thousand rows cover most answers.
//!
//! Keys are `(epoch, rowid)`. The epoch is a process-local counter advanced under the state's
//! write guard whenever the in-memory state changes (a write here, or a reload after another
//! process wrote), and a search reads it under its read guard; so a search only ever finds rows
//! cached while its own state was current. Rows of earlier epochs are never hit again and age
//! out. The epoch, not the stored write generation, is the key because SQLite may reuse the
//! rowid of a deleted chunk and a rebuilt `index.db` starts its generations over.
//!
//! Bounded at [`CAPACITY`] rows (S3-FIFO, `quick_cache`): at ~2 KB of text and payload a row,
//! at most ~8 MB.

use std::sync::Arc;

use quick_cache::sync::Cache;

/// Rows kept.
pub const CAPACITY: usize = 4096;

/// What a hit needs from its row.
#[derive(Debug)]
pub struct Row {
    pub chunk_id: String,
    pub document_id: String,
    pub chapter: Option<String>,
    pub text: String,
    pub payload: serde_json::Value,
}

/// The cache (see the module documentation).
pub struct HotRows(Cache<(u64, i64), Arc<Row>>);

impl std::fmt::Debug for HotRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotRows").field("rows", &self.0.len()).finish()
    }
}

impl HotRows {
    pub fn new() -> Self {
        Self(Cache::new(CAPACITY))
    }

    /// The row `pk` as cached in `epoch`.
    pub fn get(&self, epoch: u64, pk: i64) -> Option<Arc<Row>> {
        self.0.get(&(epoch, pk))
    }

    pub fn insert(&self, epoch: u64, pk: i64, row: Arc<Row>) {
        self.0.insert((epoch, pk), row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str) -> Arc<Row> {
        Arc::new(Row {
            chunk_id: "c".into(),
            document_id: "d".into(),
            chapter: None,
            text: text.into(),
            payload: serde_json::json!({}),
        })
    }

    #[test]
    fn a_row_is_found_only_in_the_epoch_it_was_cached_in() {
        let rows = HotRows::new();
        rows.insert(1, 7, row("old"));
        assert_eq!(rows.get(1, 7).map(|r| r.text.clone()).as_deref(), Some("old"));
        assert!(rows.get(2, 7).is_none(), "after a change the old row is never returned");
    }
}
