//! The best `n` rows of a BM25 query by MaxScore (Turtle & Flood, 1995; the document-at-a-time
//! form of Lucene's `MaxScoreBulkScorer`): exact, but most postings of common terms are never
//! scored.
//!
//! Each term has an upper bound on what it can add to a row's score (its idf at the list's
//! highest frequency and shortest row). Once the collector (`scan::TopN`) has a floor, that
//! score is a threshold (never above the true `n`-th best): the weakest terms whose bounds together stay below it are *non-essential*, since
//! a row matching only those cannot enter. Candidates then come from the essential lists
//! alone; the non-essential lists are only probed (a galloping search forward) for those
//! candidates, strongest first, and a candidate is dropped as soon as its score so far plus
//! the bounds of the lists not yet probed falls below the threshold. A question's common words
//! ("file", "use") have the longest lists and the smallest bounds, so they are the ones skipped.
//!
//! Results equal a full merge's bit for bit: a kept row's score is summed in the terms' given
//! order, as the merge summed it, and bounds are compared with a relative margin
//! ([`MARGIN`]) so float rounding can never prune a row that would have entered.

use super::super::scan::TopN;
use super::{B, K1, Posting};

/// Relative slack on every pruning comparison: bounds and partial sums are rounded floats.
const MARGIN: f32 = 1e-4;

/// One query term: its postings (sorted by rowid), idf and upper bound.
pub(super) struct Term<'a> {
    pub postings: &'a [Posting],
    pub idf: f32,
    pub bound: f32,
}

/// `idf · f · (k1 + 1) / (f + k1 · (1 − b + b · len / avg_len))`, the BM25 share of one term
/// at frequency `freq` in a row of `len` tokens.
#[inline]
pub(super) fn weight(idf: f32, freq: f32, len: f32, avg_len: f32) -> f32 {
    let norm = K1 * (1.0 - B + B * len / avg_len);
    idf * freq * (K1 + 1.0) / (freq + norm)
}

/// The best `n` rows that `allow` accepts (rowids as the collector's rows).
pub(super) fn top(terms: &[Term<'_>], n: usize, avg_len: f32, allow: &dyn Fn(u32) -> bool) -> TopN {
    let mut top = TopN::new(n);
    // Terms by bound, weakest first; `below[j]` is the sum of the bounds of order[..j].
    let mut order: Vec<usize> = (0..terms.len()).collect();
    order.sort_by(|&a, &b| terms[a].bound.total_cmp(&terms[b].bound));
    let below: Vec<f32> = std::iter::once(0.0)
        .chain(order.iter().scan(0.0, |sum, &i| {
            *sum += terms[i].bound;
            Some(*sum)
        }))
        .collect();
    let mut cursors = vec![0usize; terms.len()];
    let mut shares = vec![0f32; terms.len()];
    // order[..essential] are the non-essential terms.
    let mut essential = 0;
    while essential < terms.len() {
        let Some(pk) = order[essential..].iter().filter_map(|&i| terms[i].postings.get(cursors[i]).map(|p| p.pk)).min()
        else {
            break;
        };
        shares.fill(0.0);
        let mut partial = 0.0;
        for &i in &order[essential..] {
            if let Some(p) = terms[i].postings.get(cursors[i]).filter(|p| p.pk == pk) {
                shares[i] = share(&terms[i], p, avg_len);
                partial += shares[i];
                cursors[i] += 1;
            }
        }
        if !allow(pk) {
            continue;
        }
        let bar = top.threshold();
        if !probe(terms, (&order[..essential], &below), (&mut cursors, &mut shares), (pk, partial, bar), avg_len) {
            continue;
        }
        // Summed in the terms' order, as a merge of all the lists sums it.
        let score = shares.iter().fold(0.0, |sum, &s| sum + s);
        top.push(score, pk as usize);
        let bar = top.threshold();
        while essential < terms.len() && below[essential + 1] * (1.0 + MARGIN) < bar {
            essential += 1;
        }
    }
    top
}

/// One term's share for posting `p`.
#[inline]
fn share(term: &Term<'_>, p: &Posting, avg_len: f32) -> f32 {
    weight(term.idf, super::frequency(p), f32::from(p.len), avg_len)
}

/// Adds the non-essential terms' shares of row `pk`, strongest first; false as soon as the
/// row cannot beat `threshold` any more.
fn probe(
    terms: &[Term<'_>],
    (weak, below): (&[usize], &[f32]),
    (cursors, shares): (&mut [usize], &mut [f32]),
    (pk, mut partial, threshold): (u32, f32, f32),
    avg_len: f32,
) -> bool {
    for j in (0..weak.len()).rev() {
        if (partial + below[j + 1]) * (1.0 + MARGIN) < threshold {
            return false;
        }
        let term = &terms[weak[j]];
        let cursor = &mut cursors[weak[j]];
        *cursor += gallop(&term.postings[*cursor..], pk);
        if let Some(p) = term.postings.get(*cursor).filter(|p| p.pk == pk) {
            shares[weak[j]] = share(term, p, avg_len);
            partial += shares[weak[j]];
        }
    }
    partial * (1.0 + MARGIN) >= threshold
}

/// Index of the first posting at or after `pk`: doubling steps, then a binary search.
fn gallop(postings: &[Posting], pk: u32) -> usize {
    let mut step = 1;
    let mut low = 0;
    while low + step < postings.len() && postings[low + step].pk < pk {
        low += step;
        step *= 2;
    }
    let high = (low + step + 1).min(postings.len());
    low + postings[low..high].partition_point(|p| p.pk < pk)
}

#[cfg(test)]
mod tests {
    use super::super::{Lexical, analyse, query_terms};

    /// SplitMix64, for a reproducible corpus.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A word of a Zipf-like vocabulary: word k about 1/(k+1) as often as word 0.
    fn word(state: &mut u64) -> String {
        let u = (next(state) % 1_000_000) as f64 / 1_000_000.0;
        format!("w{}", (40f64.powf(u) as usize).saturating_sub(1))
    }

    /// Every matching row scored by summing its terms' shares in query order, then sorted.
    fn exhaustive(lexical: &Lexical, terms: &[String], n: usize, allow: &dyn Fn(u32) -> bool) -> Vec<(u32, f32)> {
        let avg_len = lexical.total_len as f32 / lexical.rows as f32;
        let mut scores: std::collections::BTreeMap<u32, f32> = Default::default();
        for term in terms {
            let Some(&id) = lexical.vocabulary.get(term.as_str()) else { continue };
            let list = &lexical.postings[id as usize];
            if list.is_empty() {
                continue;
            }
            let idf = lexical.idf(list.len());
            for p in list {
                *scores.entry(p.pk).or_default() +=
                    super::weight(idf, super::super::frequency(p), f32::from(p.len), avg_len);
            }
        }
        let mut all: Vec<(u32, f32)> = scores.into_iter().filter(|&(pk, _)| allow(pk)).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    #[test]
    fn maxscore_keeps_exactly_the_rows_and_scores_of_an_exhaustive_scoring() {
        let mut state = 7;
        let mut lexical = Lexical::default();
        for pk in 1..=3000u32 {
            let len = 3 + next(&mut state) % 40;
            let text: Vec<String> = (0..len).map(|_| word(&mut state)).collect();
            let heading = if pk % 5 == 0 { word(&mut state) } else { String::new() };
            lexical.add(&format!("doc{}", pk / 100), pk, analyse(&text.join(" "), &heading));
        }
        lexical.finish_document("doc0");
        // Removing documents leaves the lists' peaks recomputed from what remains.
        lexical.remove_document("doc3", &(300..400).collect::<Vec<_>>());
        let every_third = |pk: u32| !pk.is_multiple_of(3);
        for round in 0..300 {
            let words = 1 + next(&mut state) % 6;
            let query: Vec<String> = (0..words).map(|_| word(&mut state)).collect();
            let terms = query_terms(&query.join(" "));
            for n in [1, 10, 50] {
                let allow: &dyn Fn(u32) -> bool = if round % 2 == 0 { &|_| true } else { &every_third };
                let want = exhaustive(&lexical, &terms, n, allow);
                assert_eq!(lexical.search(&terms, n, allow), want, "query {query:?}, n {n}");
            }
        }
    }
}
