//! In-memory state: a contiguous row-major matrix of unit vectors (stored as f16, see
//! `half`; queries stay f32; on CPUs with AMX also as int8, the copy the tiles of the batch
//! scan read, see `scan_amx::codes`) plus per-row metadata,
//! mirroring the `chunks` table of `index.db`, and the lexical postings of the same rows
//! (`lexical`), so both sides change together under one lock.
//!
//! Rows are addressed by the chunk's SQLite rowid (`pk`). Removing a document
//! swap-removes its rows (moving the last rows into the holes), so a
//! replacement costs O(chunks of the document x dimension), independent of the
//! index size. Document and chapter ids are interned to `u32` so that filters
//! are integer comparisons inside the scan loop.

use foldhash::HashMap;

use super::lexical::{Lexical, RowTerms};
use super::scan::{self, Scored};
use super::scan_amx;
use crate::half;

/// Sentinel for "no chapter".
const NO_CHAPTER: u32 = u32::MAX;

/// From this many rows a lone search scans the int8 copy on tiles rather than the f16 rows.
/// Below it the tiles' fixed costs (packing the query, the wider candidate heap, rescoring)
/// outweigh the bytes saved; one thread, top-100, measured with `bench/index_1m.rs`: 2k rows
/// 0.06 ms f16 against 0.11 on tiles, 8k 0.24 against 0.27, 16k 0.52 against 0.45, 32k 0.97
/// against 0.88.
pub(super) const TILES_MIN_ROWS: usize = 16_384;

/// String <-> `u32` interner (entries are never freed; ids are few).
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.ids.len()).unwrap_or(NO_CHAPTER - 1);
        self.ids.insert(s.to_owned(), id);
        id
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
}

/// One row to add: SQLite rowid, chapter, and its analysed text (its vector travels in
/// [`DocUpdate::vectors`]).
#[derive(Debug, Clone)]
pub struct NewRow {
    /// SQLite rowid of the chunk (checked to fit the postings' `u32`).
    pub pk: u32,
    /// Chapter of the chunk.
    pub chapter: Option<String>,
    /// Stemmed terms of the text and heading.
    pub terms: RowTerms,
}

/// A fully prepared in-memory change for one document (built outside the lock).
#[derive(Debug, Default)]
pub struct DocUpdate {
    /// Document being replaced or deleted.
    pub document_id: String,
    /// New rows (empty for a delete).
    pub rows: Vec<NewRow>,
    /// Row-major vectors of `rows`, `rows.len() * dim` values.
    pub vectors: Vec<f32>,
}

/// Dense rows (f16 bits) plus lookup tables. Invariant: `data.len() == pks.len() * dim`
/// and `pks`, `doc_of`, `chapter_of` are parallel; `row_of` and `doc_pks`
/// index exactly the rows present.
#[derive(Debug, Default)]
pub struct DenseState {
    dim: usize,
    data: Vec<u16>,
    /// int8 copy of `data` (same rows) for the AMX batch scan, where the CPU has AMX.
    codes: Option<scan_amx::Codes>,
    pks: Vec<i64>,
    doc_of: Vec<u32>,
    chapter_of: Vec<u32>,
    row_of: HashMap<i64, usize>,
    doc_pks: HashMap<u32, Vec<i64>>,
    docs: Interner,
    chapters: Interner,
    lexical: Lexical,
}

/// Which rows a dense query may return.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowFilter {
    /// `Some(None)` = filter on a document unknown to the index (matches nothing).
    doc: Option<Option<u32>>,
    chapter: Option<Option<u32>>,
}

impl RowFilter {
    /// Whether [`DenseState::search_many`] takes it: no document filter (those scan a few
    /// rows inline) and not an unknown chapter (which matches nothing).
    pub fn batchable(&self) -> bool {
        self.doc.is_none() && !matches!(self.chapter, Some(None))
    }
}

impl DenseState {
    /// Empty state for vectors of `dim` values (0 = no model recorded yet).
    pub fn new(dim: usize) -> Self {
        Self { dim, codes: scan_amx::usable(dim).then(|| scan_amx::Codes::new(dim)), ..Self::default() }
    }

    /// Vector dimension (0 when no model is recorded).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.pks.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.pks.is_empty()
    }

    /// Reserves room for `rows` more rows (avoids regrowth while loading).
    pub fn reserve(&mut self, rows: usize) {
        self.data.reserve_exact(rows * self.dim);
        if let Some(codes) = &mut self.codes {
            codes.reserve(rows);
        }
        self.pks.reserve_exact(rows);
        self.doc_of.reserve_exact(rows);
        self.chapter_of.reserve_exact(rows);
        self.row_of.reserve(rows);
    }

    /// Appends one row without text (benchmarks of the dense side).
    pub fn push(&mut self, pk: i64, document_id: &str, chapter: Option<&str>, vector: &[f32]) {
        self.push_row(pk, document_id, chapter, vector);
    }

    /// Appends one row with its analysed text; call [`DenseState::finish_document`] after
    /// the last row of a document.
    pub fn push_with_terms(
        &mut self,
        pk: u32,
        document_id: &str,
        chapter: Option<&str>,
        vector: &[f32],
        terms: RowTerms,
    ) {
        self.push_row(i64::from(pk), document_id, chapter, vector);
        self.lexical.add(document_id, pk, terms);
    }

    /// Compacts the lexical bookkeeping of `document_id` once all its rows are pushed.
    pub fn finish_document(&mut self, document_id: &str) {
        self.lexical.finish_document(document_id);
    }

    fn push_row(&mut self, pk: i64, document_id: &str, chapter: Option<&str>, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dim);
        let doc = self.docs.intern(document_id);
        let chapter = chapter.map_or(NO_CHAPTER, |c| self.chapters.intern(c));
        self.row_of.insert(pk, self.pks.len());
        self.doc_pks.entry(doc).or_default().push(pk);
        self.pks.push(pk);
        self.doc_of.push(doc);
        self.chapter_of.push(chapter);
        half::extend_f16(&mut self.data, vector);
        if let Some(codes) = &mut self.codes {
            codes.push(vector);
        }
    }

    /// Removes every row of `document_id`.
    pub fn remove_document(&mut self, document_id: &str) {
        let Some(doc) = self.docs.get(document_id) else {
            return;
        };
        let Some(pks) = self.doc_pks.remove(&doc) else {
            return;
        };
        let mut lexical_pks: Vec<u32> = pks.iter().filter_map(|&pk| u32::try_from(pk).ok()).collect();
        lexical_pks.sort_unstable();
        self.lexical.remove_document(document_id, &lexical_pks);
        for pk in pks {
            if let Some(row) = self.row_of.remove(&pk) {
                self.swap_remove_row(row);
            }
        }
    }

    /// Moves the last row into `row` and truncates, fixing `row_of`.
    fn swap_remove_row(&mut self, row: usize) {
        let last = self.pks.len() - 1;
        if row != last {
            let dim = self.dim;
            self.data.copy_within(last * dim..(last + 1) * dim, row * dim);
            if let Some(codes) = &mut self.codes {
                codes.copy_row(last, row);
            }
            let moved = self.pks[last];
            self.row_of.insert(moved, row);
        }
        self.data.truncate(last * self.dim);
        if let Some(codes) = &mut self.codes {
            codes.truncate(last);
        }
        self.pks.swap_remove(row);
        self.doc_of.swap_remove(row);
        self.chapter_of.swap_remove(row);
    }

    /// Applies a prepared replacement (old rows out, new rows in).
    pub fn apply(&mut self, update: DocUpdate) {
        self.remove_document(&update.document_id);
        let dim = self.dim;
        for (row, vector) in update.rows.into_iter().zip(update.vectors.chunks_exact(dim.max(1))) {
            self.push_with_terms(row.pk, &update.document_id, row.chapter.as_deref(), vector, row.terms);
        }
        self.finish_document(&update.document_id);
    }

    /// Best-first BM25 `(pk, score)` of at most `n` rows matching any of `terms` (stemmed,
    /// see `lexical::query_terms`) within `filter`.
    pub fn bm25(&self, terms: &[String], n: usize, filter: RowFilter) -> Vec<(i64, f32)> {
        if matches!(filter.doc, Some(None)) || matches!(filter.chapter, Some(None)) {
            return Vec::new();
        }
        let (doc, chapter) = (filter.doc.flatten(), filter.chapter.flatten());
        let allow = |pk: u32| {
            if doc.is_none() && chapter.is_none() {
                return true;
            }
            self.row_of.get(&i64::from(pk)).is_some_and(|&row| {
                doc.is_none_or(|d| self.doc_of[row] == d) && chapter.is_none_or(|c| self.chapter_of[row] == c)
            })
        };
        self.lexical.search(terms, n, &allow).into_iter().map(|(pk, s)| (i64::from(pk), s)).collect()
    }

    /// Builds a row filter for optional document/chapter restrictions.
    pub fn filter(&self, document_id: Option<&str>, chapter: Option<&str>) -> RowFilter {
        RowFilter { doc: document_id.map(|d| self.docs.get(d)), chapter: chapter.map(|c| self.chapters.get(c)) }
    }

    /// Exact top-`n` rows by cosine (dot product of unit vectors), as
    /// `(pk, cosine)`, best first.
    pub fn search(&self, query: &[f32], n: usize, filter: RowFilter, threads: usize) -> Vec<(i64, f32)> {
        if matches!(filter.doc, Some(None)) || matches!(filter.chapter, Some(None)) {
            return Vec::new();
        }
        let chapter = filter.chapter.flatten();
        let found: Vec<Scored> = match filter.doc.flatten() {
            Some(doc) => {
                let pks = self.doc_pks.get(&doc).map(Vec::as_slice).unwrap_or_default();
                let rows = pks
                    .iter()
                    .filter_map(|pk| self.row_of.get(pk).copied())
                    .filter(|&r| chapter.is_none_or(|c| self.chapter_of[r] == c));
                scan::top_n_rows(&self.data, self.dim, query, rows, n)
            }
            // On tiles one query is a batch of one: the int8 pass streams half the bytes of
            // the f16 scan below, which pays once the matrix is large (see TILES_MIN_ROWS).
            None if self.codes.is_some() && self.len() >= TILES_MIN_ROWS => {
                return self.search_many(&[(query, n, filter)], threads).pop().unwrap_or_default();
            }
            None => match chapter {
                Some(c) => {
                    let keep = |r: usize| self.chapter_of[r] == c;
                    scan::top_n(&self.data, self.dim, query, n, threads, &keep)
                }
                None => scan::top_n(&self.data, self.dim, query, n, threads, &|_| true),
            },
        };
        found.into_iter().map(|s| (self.pks[s.row], s.score)).collect()
    }

    /// [`DenseState::search`] for several unfiltered or chapter-filtered queries in one pass
    /// over the matrix (`scan::top_n_many`); `(query, n, filter)` each, results in order.
    pub fn search_many(&self, queries: &[(&[f32], usize, RowFilter)], threads: usize) -> Vec<Vec<(i64, f32)>> {
        let batch: Vec<scan::BatchQuery> = queries
            .iter()
            .map(|&(vector, n, filter)| {
                debug_assert!(filter.batchable());
                scan::BatchQuery { vector, n, chapter: filter.chapter.flatten() }
            })
            .collect();
        let found = scan::top_n_many(&self.data, self.codes.as_ref(), self.dim, &self.chapter_of, &batch, threads);
        found.into_iter().map(|rows| rows.into_iter().map(|s| (self.pks[s.row], s.score)).collect()).collect()
    }

    /// Cosine of one row with `query`, if the row exists.
    pub fn cosine(&self, pk: i64, query: &[f32]) -> Option<f32> {
        let row = *self.row_of.get(&pk)?;
        Some(half::dot(&self.data[row * self.dim..(row + 1) * self.dim], query))
    }

    /// Approximate heap bytes of the matrix and tables (for stats/logging).
    pub fn memory_bytes(&self) -> usize {
        let codes = self.codes.as_ref().map_or(0, scan_amx::Codes::memory_bytes);
        self.data.capacity() * 2
            + codes
            + self.pks.capacity() * 16
            + self.row_of.capacity() * 24
            + self.lexical.memory_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(doc: &str, pks: &[i64], chapter: Option<&str>) -> DocUpdate {
        DocUpdate {
            document_id: doc.into(),
            rows: pks
                .iter()
                .map(|&pk| NewRow { pk: pk as u32, chapter: chapter.map(Into::into), terms: Default::default() })
                .collect(),
            vectors: pks.iter().flat_map(|&pk| [pk as f32, 1.0]).collect(),
        }
    }

    #[test]
    fn replace_and_delete_keep_tables_consistent() {
        let mut s = DenseState::new(2);
        s.apply(update("a", &[1, 2, 3], Some("c1")));
        s.apply(update("b", &[4, 5], None));
        s.apply(update("a", &[6], Some("c2")));
        assert_eq!(s.len(), 3);
        for (&pk, &row) in &s.row_of {
            assert_eq!(s.pks[row], pk);
            assert_eq!(half::from_f16(s.data[row * 2]), pk as f32, "vector moved with its row");
        }
        let only_a = s.search(&[1.0, 0.0], 10, s.filter(Some("a"), None), 1);
        assert_eq!(only_a, vec![(6, 6.0)]);
        let c1 = s.search(&[1.0, 0.0], 10, s.filter(None, Some("c1")), 1);
        assert!(c1.is_empty());
        s.remove_document("b");
        assert_eq!(s.len(), 1);
        assert!(s.search(&[1.0, 0.0], 10, s.filter(Some("zzz"), None), 1).is_empty());
    }

    #[test]
    fn the_int8_copy_for_the_tiles_moves_with_its_rows() {
        let dim = 64;
        let mut s = DenseState::new(dim);
        if s.codes.is_none() {
            eprintln!("this CPU has no AMX-INT8: no int8 copy is kept");
            return;
        }
        // Each row: its pk, then zeros, so its int8 code is 127 and its scale pk / 127.
        let rows = |doc: &str, pks: &[i64]| DocUpdate {
            document_id: doc.into(),
            rows: pks.iter().map(|&pk| NewRow { pk: pk as u32, chapter: None, terms: Default::default() }).collect(),
            vectors: pks.iter().flat_map(|&pk| std::iter::once(pk as f32).chain([0.0; 63])).collect(),
        };
        s.apply(rows("a", &[1, 2, 3]));
        s.apply(rows("b", &[4, 5]));
        s.remove_document("a");
        s.apply(rows("c", &[6]));
        let codes = s.codes.as_ref().expect("kept");
        assert_eq!(codes.values().len(), s.data.len());
        assert_eq!(codes.scales().len(), s.len());
        for (&pk, &row) in &s.row_of {
            assert_eq!(codes.values()[row * dim], 127);
            assert_eq!(codes.scales()[row], pk as f32 / 127.0, "the int8 row moved with its row");
        }
    }
}
