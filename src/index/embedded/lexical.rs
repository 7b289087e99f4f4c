//! Lexical side: an in-memory BM25 inverted index over the chunks' text and heading.
//!
//! Why not SQLite FTS5 (which an earlier version used) or tantivy: FTS5's `bm25()` ranks
//! *every* row matching an `OR` query and reads each row's size record to do it, so a
//! question with a common word ("file", "list") over the 32k chunks of the Python docs cost
//! 13–40 ms per query, the largest share of a search. tantivy would be fast but brings a
//! second durable store whose commits would have to be kept in step with `index.db`.
//! Postings in memory, rebuilt from `index.db` at open and changed under the same write
//! guard as the dense matrix, keep the one-store crash-safety story and score a query in
//! well under a millisecond: each term's postings are sorted by rowid, so a query walks a
//! few sorted lists together into a bounded collector (`scan::TopN`, shared with the dense
//! scan), skipping most postings of its common words
//! once it is full (MaxScore, `maxscore`).
//!
//! Scoring is Okapi BM25 exactly as FTS5's `bm25()` computes it (k1 = 1.2, b = 0.75;
//! the heading column's term frequency counts `HEADING_WEIGHT` times; the length of a row is
//! its tokens in both columns; `idf = ln((N - n + 0.5) / (n + 0.5))`, floored at 1e-6), so
//! the quality figures measured with FTS5 carry over. Tokens are runs of alphanumeric
//! characters, lowercased and reduced by the Snowball English (Porter 2) stemmer of
//! `rust-stemmers` (the stemmer tantivy uses).
//!
//! The maps (stems, vocabulary, per-row counts) hash with `foldhash`: SipHash was a fifth of
//! the time to rebuild the postings at open.
//!
//! Memory: 8 bytes a posting (rowid, row length, both term frequencies); the Python docs
//! (32k chunks, 2.4M postings) take about 20 MB plus the vocabulary.

use foldhash::{HashMap, HashMapExt};

use rust_stemmers::{Algorithm, Stemmer};

use super::analysis::{STOP_WORDS, words};

/// Weight of the heading column's term frequency relative to the text's.
pub const HEADING_WEIGHT: f32 = 0.5;
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// Upper bound on query terms (longer inputs are truncated).
const MAX_TERMS: usize = 64;

mod maxscore;

/// One row in one term's postings list.
#[derive(Debug, Clone, Copy)]
struct Posting {
    pk: u32,
    /// Tokens in the row (text + heading), saturated.
    len: u16,
    tf_text: u8,
    tf_heading: u8,
}

/// The analysed terms of one row, computed outside the index lock.
#[derive(Debug, Clone, Default)]
pub struct RowTerms {
    len: u16,
    /// `(stemmed term, frequency in text, frequency in heading)`.
    terms: Vec<(String, u8, u8)>,
}

/// Stems and counts the tokens of a row's text and heading.
#[cfg(test)]
pub fn analyse(text: &str, heading: &str) -> RowTerms {
    Analyser::default().analyse(text, heading)
}

/// Analyses many rows on all cores (rayon), in order. Each task remembers the stems of the
/// words it has seen: a book repeats a few thousand words and the Snowball stemmer is most of
/// the cost of analysing a row, so loading the postings at start-up mostly hits that map.
pub fn analyse_rows<T: Sync>(rows: &[T], fields: impl Fn(&T) -> (&str, String) + Sync) -> Vec<RowTerms> {
    use rayon::prelude::*;
    rows.par_chunks(512)
        .flat_map_iter(|part| {
            let mut analyser = Analyser::default();
            part.iter()
                .map(|row| {
                    let (text, heading) = fields(row);
                    analyser.analyse(text, &heading)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The stemmer and the stems it has computed.
struct Analyser {
    stemmer: Stemmer,
    stems: HashMap<String, Box<str>>,
}

impl Default for Analyser {
    fn default() -> Self {
        Self { stemmer: Stemmer::create(Algorithm::English), stems: HashMap::new() }
    }
}

impl Analyser {
    fn analyse(&mut self, text: &str, heading: &str) -> RowTerms {
        let mut counts: HashMap<String, (u8, u8)> = HashMap::new();
        let mut len = 0usize;
        for (column, source) in [(0, text), (1, heading)] {
            for word in words(source) {
                len += 1;
                let stemmer = &self.stemmer;
                let stem = &**self.stems.entry(word).or_insert_with_key(|w| stemmer.stem(w).into());
                let bump = |entry: &mut (u8, u8)| {
                    let count = if column == 0 { &mut entry.0 } else { &mut entry.1 };
                    *count = count.saturating_add(1);
                };
                match counts.get_mut(stem) {
                    Some(entry) => bump(entry),
                    None => bump(counts.entry(stem.to_owned()).or_default()),
                }
            }
        }
        let terms = counts.into_iter().map(|(term, (t, h))| (term, t, h)).collect();
        RowTerms { len: u16::try_from(len).unwrap_or(u16::MAX), terms }
    }
}

/// The stemmed, de-duplicated query terms: stop words dropped unless nothing else remains.
pub fn query_terms(text: &str) -> Vec<String> {
    let all = words(text);
    let content: Vec<&String> = all.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).collect();
    let chosen: Vec<&String> = if content.is_empty() { all.iter().collect() } else { content };
    let stemmer = Stemmer::create(Algorithm::English);
    let mut terms: Vec<String> = Vec::new();
    for word in chosen {
        let term = stemmer.stem(word).into_owned();
        if !terms.contains(&term) {
            terms.push(term);
        }
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

/// The highest term frequency and the shortest row of one postings list: a term's BM25 share
/// grows with the first and shrinks with the second, so together they bound it.
#[derive(Debug, Clone, Copy)]
struct Peak {
    freq: f32,
    len: u16,
}

impl Default for Peak {
    fn default() -> Self {
        Self { freq: 0.0, len: u16::MAX }
    }
}

impl Peak {
    fn include(&mut self, p: &Posting) {
        self.freq = self.freq.max(frequency(p));
        self.len = self.len.min(p.len);
    }
}

/// A posting's term frequency, the heading's occurrences weighted by [`HEADING_WEIGHT`].
fn frequency(p: &Posting) -> f32 {
    f32::from(p.tf_text) + HEADING_WEIGHT * f32::from(p.tf_heading)
}

/// Postings for every term, with the collection statistics BM25 needs.
#[derive(Debug, Default)]
pub struct Lexical {
    vocabulary: HashMap<Box<str>, u32>,
    postings: Vec<Vec<Posting>>,
    /// Per postings list, what bounds its BM25 share (`maxscore`).
    peaks: Vec<Peak>,
    /// Each document's distinct term ids and total row length, so it can be removed exactly.
    documents: HashMap<String, (Vec<u32>, u64)>,
    rows: u64,
    total_len: u64,
}

impl Lexical {
    /// Adds one row of `document_id`. Rowids grow, so postings stay sorted by appending;
    /// an out-of-order rowid is inserted at its place.
    pub fn add(&mut self, document_id: &str, pk: u32, row: RowTerms) {
        let (doc_terms, doc_len) = self.documents.entry(document_id.to_owned()).or_default();
        *doc_len += u64::from(row.len);
        for (term, tf_text, tf_heading) in row.terms {
            let id = match self.vocabulary.get(term.as_str()) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(self.postings.len()).unwrap_or(u32::MAX);
                    self.vocabulary.insert(term.into_boxed_str(), id);
                    self.postings.push(Vec::new());
                    self.peaks.push(Peak::default());
                    id
                }
            };
            let posting = Posting { pk, len: row.len, tf_text, tf_heading };
            self.peaks[id as usize].include(&posting);
            let list = &mut self.postings[id as usize];
            match list.last() {
                Some(last) if last.pk >= pk => {
                    let at = list.partition_point(|p| p.pk < pk);
                    list.insert(at, posting);
                }
                _ => list.push(posting),
            }
            doc_terms.push(id);
        }
        self.rows += 1;
        self.total_len += u64::from(row.len);
    }

    /// De-duplicates the term ids recorded for `document_id` once its rows are added.
    pub fn finish_document(&mut self, document_id: &str) {
        if let Some((terms, _)) = self.documents.get_mut(document_id) {
            terms.sort_unstable();
            terms.dedup();
            terms.shrink_to_fit();
        }
    }

    /// Removes the rows `pks` (sorted) of `document_id`.
    pub fn remove_document(&mut self, document_id: &str, pks: &[u32]) {
        let Some((mut term_ids, len)) = self.documents.remove(document_id) else {
            return;
        };
        term_ids.sort_unstable();
        term_ids.dedup();
        for id in term_ids {
            let list = &mut self.postings[id as usize];
            list.retain(|p| pks.binary_search(&p.pk).is_err());
            list.shrink_to(list.len() * 5 / 4);
            let mut peak = Peak::default();
            list.iter().for_each(|p| peak.include(p));
            self.peaks[id as usize] = peak;
        }
        self.rows = self.rows.saturating_sub(pks.len() as u64);
        self.total_len = self.total_len.saturating_sub(len);
    }

    /// Best-first `(pk, score)` of the rows matching any of `terms`, at most `n`, keeping only
    /// rows `allow` accepts. Ties go to the lower rowid.
    pub fn search(&self, terms: &[String], n: usize, allow: &dyn Fn(u32) -> bool) -> Vec<(u32, f32)> {
        if n == 0 || self.rows == 0 {
            return Vec::new();
        }
        let avg_len = self.total_len as f32 / self.rows as f32;
        let terms: Vec<maxscore::Term> = terms
            .iter()
            .filter_map(|t| self.vocabulary.get(t.as_str()))
            .map(|&id| (self.postings[id as usize].as_slice(), self.peaks[id as usize]))
            .filter(|(list, _)| !list.is_empty())
            .map(|(postings, peak)| {
                let idf = self.idf(postings.len());
                let bound = maxscore::weight(idf, peak.freq, f32::from(peak.len), avg_len);
                maxscore::Term { postings, idf, bound }
            })
            .collect();
        // The collector's rows are the rowids `top` gave it, so they fit a u32.
        maxscore::top(&terms, n, avg_len, allow).into_sorted().into_iter().map(|s| (s.row as u32, s.score)).collect()
    }

    fn idf(&self, df: usize) -> f32 {
        let (n, df) = (self.rows as f32, df as f32);
        let idf = ((n - df + 0.5) / (df + 0.5)).ln();
        if idf > 0.0 { idf } else { 1e-6 }
    }

    /// Approximate heap bytes (postings and vocabulary).
    pub fn memory_bytes(&self) -> usize {
        let postings: usize = self.postings.iter().map(|l| l.capacity() * size_of::<Posting>()).sum();
        let vocabulary: usize = self.vocabulary.keys().map(|k| k.len() + 24).sum();
        postings + vocabulary + self.documents.values().map(|(v, _)| v.capacity() * 4).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(rows: &[(&str, u32, &str, &str)]) -> Lexical {
        let mut lexical = Lexical::default();
        for &(doc, pk, text, heading) in rows {
            lexical.add(doc, pk, analyse(text, heading));
        }
        lexical
    }

    #[test]
    fn stemmed_terms_match_inflected_words_and_rarer_terms_weigh_more() {
        let lexical = index(&[
            ("a", 1, "Opening files for reading", ""),
            ("a", 2, "The file is closed", ""),
            ("b", 3, "Generators yield values lazily", ""),
            ("b", 4, "Lists and tuples", ""),
        ]);
        let hits = lexical.search(&query_terms("How do I open a file?"), 10, &|_| true);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!(hits[0].1 > hits[1].1);
    }

    #[test]
    fn headings_count_half_as_much_as_text() {
        let lexical = index(&[("a", 1, "unrelated words here", "asyncio"), ("a", 2, "asyncio runs tasks", "")]);
        let hits = lexical.search(&query_terms("asyncio"), 10, &|_| true);
        assert_eq!(hits[0].0, 2, "{hits:?}");
    }

    #[test]
    fn removing_a_document_removes_its_rows_and_statistics() {
        let mut lexical = index(&[("a", 1, "alpha beta", ""), ("b", 2, "alpha gamma", ""), ("a", 3, "beta", "")]);
        lexical.remove_document("a", &[1, 3]);
        assert_eq!(lexical.search(&query_terms("alpha beta"), 10, &|_| true).len(), 1);
        assert_eq!((lexical.rows, lexical.total_len), (1, 2));
        lexical.add("a", 4, analyse("beta", ""));
        assert_eq!(lexical.search(&query_terms("beta"), 10, &|_| true)[0].0, 4);
    }

    #[test]
    fn the_filter_and_the_limit_apply_and_ties_go_to_the_lower_rowid() {
        let lexical = index(&[("a", 5, "same words", ""), ("a", 2, "same words", ""), ("a", 9, "same words", "")]);
        assert_eq!(lexical.search(&query_terms("same"), 2, &|_| true).iter().map(|h| h.0).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(lexical.search(&query_terms("same"), 10, &|pk| pk > 5).len(), 1);
    }

    #[test]
    fn only_stop_words_still_search_and_unknown_words_find_nothing() {
        let lexical = index(&[("a", 1, "to be or not to be", "")]);
        assert_eq!(lexical.search(&query_terms("to be"), 10, &|_| true).len(), 1);
        assert!(lexical.search(&query_terms("zebra"), 10, &|_| true).is_empty());
    }
}
