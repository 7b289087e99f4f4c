//! Splitting of oversized blocks for the chunker: line, sentence, word and
//! character boundaries, and greedy packing with overlap.

use std::ops::Range;

use super::chunker::TokenCounter;
use super::{Block, BlockKind};

/// Lines repeated in every piece of a split code block or table.
pub(crate) fn frame(block: &Block) -> (&str, &str) {
    let t = block.text.as_str();
    match block.kind {
        BlockKind::Code if t.starts_with("```") || t.starts_with("~~~") => {
            let h = t.find('\n').map_or(0, |p| p + 1);
            let last = t.rfind('\n').filter(|&p| p >= h);
            let f = match last {
                Some(p) if t[p + 1..].trim_start().starts_with(&t[..3]) => &t[p..],
                _ => "",
            };
            (&t[..h], f)
        }
        BlockKind::Table => {
            let h = t.match_indices('\n').nth(1).map_or(0, |(p, _)| p + 1);
            (&t[..h], "")
        }
        _ => ("", ""),
    }
}

/// Granularity of a split.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    /// Line by line.
    Lines,
    /// Sentence by sentence.
    Sentences,
    /// Word by word.
    Words,
    /// Fixed character windows.
    Chars,
}

/// Splits `range` of `text` into contiguous units of at most `budget` tokens.
pub(crate) fn atomize(
    text: &str,
    range: Range<usize>,
    level: Level,
    budget: usize,
    count: TokenCounter<'_>,
) -> Vec<Range<usize>> {
    let parts = match level {
        Level::Lines => boundaries(text, range, |s, i| s.as_bytes()[i - 1] == b'\n'),
        Level::Sentences => boundaries(text, range, sentence_start),
        Level::Words => boundaries(text, range, |s, i| {
            s.as_bytes()[i - 1].is_ascii_whitespace() && !s.as_bytes()[i].is_ascii_whitespace()
        }),
        Level::Chars => return char_split(text, range, budget, count),
    };
    let next = match level {
        Level::Lines => Level::Sentences,
        Level::Sentences => Level::Words,
        _ => Level::Chars,
    };
    let mut out = Vec::new();
    for p in parts {
        if count(&text[p.clone()]) <= budget {
            out.push(p);
        } else {
            out.extend(atomize(text, p, next, budget, count));
        }
    }
    out
}

/// Cuts `range` at every byte index `i` (char boundary) where `at(text, i)`.
fn boundaries(text: &str, range: Range<usize>, at: impl Fn(&str, usize) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    for (i, _) in text[range.clone()].char_indices().skip(1) {
        let i = range.start + i;
        if at(text, i) {
            out.push(start..i);
            start = i;
        }
    }
    out.push(start..range.end);
    out
}

/// A sentence starts at `i` when the text before ends with `.`, `!` or `?`
/// (plus closing quotes/brackets) and whitespace, and `i` is not lowercase.
fn sentence_start(text: &str, i: usize) -> bool {
    let before = &text[..i];
    let Some(ws) = before.chars().last() else {
        return false;
    };
    if !ws.is_whitespace() || text[i..].starts_with(char::is_whitespace) {
        return false;
    }
    let core = before.trim_end().trim_end_matches(['"', '\'', ')', ']', '”', '’']);
    let ends = core.ends_with(['.', '!', '?', '。', '！', '？']);
    ends && !text[i..].starts_with(char::is_lowercase)
}

/// Last resort: fixed-size character windows that fit the budget.
fn char_split(text: &str, range: Range<usize>, budget: usize, count: TokenCounter<'_>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let mut len = (range.end - start).min(budget.saturating_mul(4).max(1));
        loop {
            let mut end = (start + len).min(range.end);
            while !text.is_char_boundary(end) {
                end += 1;
            }
            if len <= 1 || count(&text[start..end]) <= budget {
                out.push(start..end);
                start = end;
                break;
            }
            len /= 2;
        }
    }
    out
}

/// Greedy packing of units into windows `[a, b)` with overlap.
pub(crate) fn pack(units: &[Range<usize>], tok: &[usize], budget: usize, overlap: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let mut j = i + 1;
        let mut sum = tok[i];
        while j < units.len() && sum + tok[j] <= budget {
            sum += tok[j];
            j += 1;
        }
        out.push((i, j));
        if j >= units.len() {
            break;
        }
        let mut k = j;
        let mut ov = 0;
        while k > i + 1 && ov + tok[k - 1] <= overlap {
            k -= 1;
            ov += tok[k];
        }
        i = k;
    }
    out
}

pub(crate) fn trim_range(text: &str, r: Range<usize>) -> Range<usize> {
    let s = &text[r.clone()];
    let start = r.start + (s.len() - s.trim_start().len());
    let end = r.end - (s.len() - s.trim_end().len());
    start..end.max(start)
}
