//! Heading-aware, token-bounded chunking.
//!
//! Rules:
//! * chunks never cross a section (so never a document): each chunk has
//!   exactly one heading path and anchor;
//! * inside a section, whole blocks are packed while the chunk is still
//!   shorter than `min_tokens` and the total stays within `max_tokens` (so a
//!   normal paragraph is one chunk, short ones are grouped); a short trailing
//!   block joins the previous chunk when it fits;
//! * a block longer than `max_tokens` is split at line boundaries (code,
//!   tables, lists — code keeps its fence line and tables their header row in
//!   every piece), then sentences, then words, then characters; consecutive
//!   pieces of one split block overlap by up to `overlap_tokens`;
//! * chunk ids are the first 32 hex chars of
//!   `sha256(document_id \0 heading path joined by \x1f \0 text)`; exact
//!   duplicates inside a document are dropped.
//!
//! The chunk text carries no heading prefix; [`Chunk::embedding_text`] adds
//! the heading path for the embedder.

use std::collections::HashSet;
use std::ops::Range;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::split::{Level, atomize, frame, pack, trim_range};
use super::{Block, BlockKind, LoadedDocument, Section};

/// Counts tokens in a text (the real one wraps the embedding tokenizer).
pub type TokenCounter<'a> = &'a (dyn Fn(&str) -> usize + Sync);

/// Whitespace token counter, for tests and rough sizing.
pub fn whitespace_tokens(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Chunking parameters (all in tokens of the given counter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChunkOptions {
    /// Hard upper bound per chunk (unless a single character exceeds it).
    pub max_tokens: usize,
    /// Overlap between consecutive pieces of one split block.
    pub overlap_tokens: usize,
    /// Blocks are merged into a chunk only while it is below this size.
    pub min_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self { max_tokens: 256, overlap_tokens: 32, min_tokens: 64 }
    }
}

/// One retrievable unit of a document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chunk {
    /// Deterministic id (32 hex chars).
    pub id: String,
    /// [`LoadedDocument::id`] of the source document.
    pub document_id: String,
    /// 0-based position of the chunk in its document.
    pub index: usize,
    /// The chunk text (no heading prefix).
    pub text: String,
    /// Heading path of the section the chunk comes from.
    pub heading_path: Vec<String>,
    /// Deep-link anchor of that section, if any.
    pub anchor: Option<String>,
    /// Page number (PDF).
    pub page: Option<u32>,
    /// Byte offset in the source text (see the module docs of `ingest`).
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// Token count of `text`.
    pub token_count: usize,
}

impl Chunk {
    /// Text to embed: the heading path (`A > B`), a blank line, the text.
    pub fn embedding_text(&self) -> String {
        embedding_text(&self.heading_path, &self.text)
    }
}

/// `A > B\n\ntext`, or just `text` without a heading path.
pub fn embedding_text(heading_path: &[String], text: &str) -> String {
    if heading_path.is_empty() { text.to_string() } else { format!("{}\n\n{text}", heading_path.join(" > ")) }
}

/// Deterministic chunk id.
pub fn chunk_id(document_id: &str, heading_path: &[String], text: &str) -> String {
    let mut h = Sha256::new();
    h.update(document_id.as_bytes());
    h.update([0]);
    h.update(heading_path.join("\u{1f}").as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    let mut id = hex::encode(h.finalize());
    id.truncate(32);
    id
}

/// A piece of text with its source range and token count.
#[derive(Clone, Debug)]
struct Piece {
    text: String,
    start: usize,
    end: usize,
    tokens: usize,
}

/// Chunks every section of a document.
pub fn chunk_document(doc: &LoadedDocument, opts: &ChunkOptions, count: TokenCounter<'_>) -> Vec<Chunk> {
    let mut seen = HashSet::new();
    let mut chunks = Vec::new();
    for section in &doc.sections {
        for piece in chunk_section(section, opts, count) {
            let id = chunk_id(&doc.id, &section.heading_path, &piece.text);
            if !seen.insert(id.clone()) {
                continue;
            }
            chunks.push(Chunk {
                id,
                document_id: doc.id.clone(),
                index: chunks.len(),
                text: piece.text,
                heading_path: section.heading_path.clone(),
                anchor: section.anchor.clone(),
                page: section.page,
                start: piece.start,
                end: piece.end,
                token_count: piece.tokens,
            });
        }
    }
    chunks
}

/// Chunks one section into pieces.
fn chunk_section(section: &Section, opts: &ChunkOptions, count: TokenCounter<'_>) -> Vec<Piece> {
    let max = opts.max_tokens.max(1);
    let mut out: Vec<Piece> = Vec::new();
    let mut cur: Option<Piece> = None;
    for block in &section.blocks {
        for piece in block_pieces(block, max, opts.overlap_tokens, count) {
            let merged = match &cur {
                Some(c) if c.tokens < opts.min_tokens => merge(c, &piece, max, count),
                _ => None,
            };
            cur = match merged {
                Some(m) => Some(m),
                None => {
                    out.extend(cur.take());
                    Some(piece)
                }
            };
        }
    }
    if let Some(last) = cur {
        let merged = match out.last() {
            Some(prev) if last.tokens < opts.min_tokens => merge(prev, &last, max, count),
            _ => None,
        };
        match merged {
            Some(m) => {
                out.pop();
                out.push(m);
            }
            None => out.push(last),
        }
    }
    out.retain(|p| !p.text.trim().is_empty());
    out
}

/// Joins two pieces with a blank line if the result fits in `max`.
fn merge(a: &Piece, b: &Piece, max: usize, count: TokenCounter<'_>) -> Option<Piece> {
    if a.tokens + b.tokens > max.saturating_add(2) {
        return None;
    }
    let text = format!("{}\n\n{}", a.text, b.text);
    let tokens = count(&text);
    (tokens <= max).then(|| Piece { text, start: a.start.min(b.start), end: a.end.max(b.end), tokens })
}

/// A block as one piece, or split into pieces of at most `max` tokens.
fn block_pieces(block: &Block, max: usize, overlap: usize, count: TokenCounter<'_>) -> Vec<Piece> {
    let tokens = count(&block.text);
    if tokens <= max {
        return vec![Piece { text: block.text.clone(), start: block.start, end: block.end, tokens }];
    }
    let text = block.text.as_str();
    let (mut header, mut footer) = frame(block);
    let mut frame_tokens = count(header) + count(footer);
    if frame_tokens > max / 4 {
        // A huge header row (layout tables) is not worth repeating.
        (header, footer, frame_tokens) = ("", "", 0);
    }
    let inner = header.len()..text.len() - footer.len();
    let budget = max.saturating_sub(frame_tokens).max(1);
    let first =
        if matches!(block.kind, BlockKind::Paragraph | BlockKind::Quote) { Level::Sentences } else { Level::Lines };
    let units = atomize(text, inner.clone(), first, budget, count);
    let tok: Vec<usize> = units.iter().map(|r| count(&text[r.clone()])).collect();
    let frame = (header, footer);
    pack(&units, &tok, budget, overlap)
        .into_iter()
        .map(|(a, b)| {
            let r = trim_range(text, units[a].start..units[b - 1].end);
            piece_of(block, r, &inner, frame, count)
        })
        .collect()
}

/// The piece for `r` (a range of `block.text`), framed, with source offsets.
fn piece_of(
    block: &Block,
    r: Range<usize>,
    inner: &Range<usize>,
    (header, footer): (&str, &str),
    count: TokenCounter<'_>,
) -> Piece {
    let text = format!("{header}{}{footer}", &block.text[r.clone()]);
    let (start, end) = if block.verbatim {
        // The first/last piece also covers the frame lines in the source.
        let s = if r.start <= inner.start { 0 } else { r.start };
        let e = if r.end >= inner.end { block.text.len() } else { r.end };
        (block.start + s, block.start + e)
    } else {
        (block.start, block.end)
    };
    Piece { tokens: count(&text), text, start, end }
}

#[cfg(test)]
#[path = "chunker_tests.rs"]
mod tests;
