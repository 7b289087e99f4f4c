//! Tests for the chunker.

use super::*;
use crate::ingest::{DiscoveredFile, LoadOptions, load_file, test_support::fixture};

fn section(blocks: Vec<Block>) -> Section {
    Section {
        heading_path: vec!["Doc".into(), "Sec".into()],
        anchor: Some("sec".into()),
        text: String::new(),
        blocks,
        page: None,
        start: 0,
        end: 0,
    }
}

fn block(kind: BlockKind, text: &str, start: usize) -> Block {
    Block { kind, text: text.into(), start, end: start + text.len(), verbatim: true }
}

fn words(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{tag}{i}")).collect::<Vec<_>>().join(" ")
}

fn doc(sections: Vec<Section>) -> LoadedDocument {
    LoadedDocument {
        id: "doc.md".into(),
        source_path: "doc.md".into(),
        format: crate::ingest::Format::Markdown,
        title: "Doc".into(),
        sidebar_label: None,
        route: "/doc".into(),
        chapter: None,
        sidebar_position: None,
        sections,
    }
}

#[test]
fn one_paragraph_per_chunk_and_small_ones_merge() {
    let a = words(100, "a");
    let b = words(10, "b");
    let c = words(90, "c");
    let d = words(5, "d");
    let s = section(vec![
        block(BlockKind::Paragraph, &a, 0),
        block(BlockKind::Paragraph, &b, 1000),
        block(BlockKind::Paragraph, &c, 2000),
        block(BlockKind::Paragraph, &d, 3000),
    ]);
    let chunks = chunk_document(&doc(vec![s]), &ChunkOptions::default(), &whitespace_tokens);
    let sizes: Vec<usize> = chunks.iter().map(|c| c.token_count).collect();
    assert_eq!(sizes, [100, 10 + 90 + 5]);
    assert_eq!(chunks[1].text, format!("{b}\n\n{c}\n\n{d}"));
    assert_eq!((chunks[1].start, chunks[1].end), (1000, 3000 + d.len()));
    assert_eq!(chunks[0].anchor.as_deref(), Some("sec"));
    assert_eq!(chunks[0].embedding_text(), format!("Doc > Sec\n\n{a}"));
    assert_eq!(chunks[0].id.len(), 32);
    assert_eq!(chunks[0].id, chunk_id("doc.md", &chunks[0].heading_path, &a));
}

#[test]
fn long_paragraph_splits_at_sentences_with_overlap() {
    let sentences: Vec<String> = (0..40).map(|i| format!("Sentence {i} has exactly six words.")).collect();
    let text = sentences.join(" ");
    let s = section(vec![block(BlockKind::Paragraph, &text, 50)]);
    let opts = ChunkOptions { max_tokens: 60, overlap_tokens: 12, min_tokens: 10 };
    let chunks = chunk_document(&doc(vec![s]), &opts, &whitespace_tokens);
    assert!(chunks.len() >= 4);
    for c in &chunks {
        assert!(c.token_count <= 60);
        assert!(c.text.starts_with("Sentence") && c.text.ends_with("words."), "{}", c.text);
        assert_eq!(&text[c.start - 50..c.end - 50], c.text);
    }
    // Two sentences (12 tokens) of overlap between consecutive chunks.
    let tail: Vec<&str> = chunks[0].text.rsplitn(3, ". ").collect();
    assert!(chunks[1].text.starts_with(tail[0].trim_end_matches('.')) || chunks[1].text.contains(tail[0]));
    let all: String = chunks.iter().map(|c| c.text.as_str()).collect();
    for s in &sentences {
        assert!(all.contains(s.as_str()));
    }
}

#[test]
fn code_splits_at_lines_and_keeps_fences() {
    let lines: Vec<String> = (0..50).map(|i| format!("let x{i} = {i} + 1;")).collect();
    let code = format!("```rust\n{}\n```", lines.join("\n"));
    let s = section(vec![block(BlockKind::Code, &code, 0)]);
    let opts = ChunkOptions { max_tokens: 40, overlap_tokens: 0, min_tokens: 10 };
    let chunks = chunk_document(&doc(vec![s]), &opts, &whitespace_tokens);
    assert!(chunks.len() > 1);
    for c in &chunks {
        assert!(c.text.starts_with("```rust\nlet "), "{}", c.text);
        assert!(c.text.ends_with(";\n```"), "{}", c.text);
        assert!(c.token_count <= 40);
    }
}

#[test]
fn giant_word_is_cut_and_ids_are_deterministic() {
    let blob: String = (0..5000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let s = section(vec![block(BlockKind::Paragraph, &blob, 0)]);
    let chars = |t: &str| t.len().div_ceil(100);
    let opts = ChunkOptions { max_tokens: 10, overlap_tokens: 0, min_tokens: 1 };
    let d = doc(vec![s]);
    let chunks = chunk_document(&d, &opts, &chars);
    assert!(chunks.iter().all(|c| c.token_count <= 10));
    assert_eq!(chunks.iter().map(|c| c.text.len()).sum::<usize>(), 5000);
    let again = chunk_document(&d, &opts, &chars);
    assert_eq!(chunks, again);
}

#[test]
fn chunks_never_cross_sections() {
    let file = DiscoveredFile::single(fixture("books/docusaurus/intro.md"));
    let d = load_file(&file, &LoadOptions::default()).unwrap();
    let chunks = chunk_document(&d, &ChunkOptions::default(), &whitespace_tokens);
    assert_eq!(chunks.len(), d.sections.len());
    for (c, s) in chunks.iter().zip(&d.sections) {
        assert_eq!(c.heading_path, s.heading_path);
        assert_eq!(c.anchor, s.anchor);
        assert_eq!(c.text, s.text);
    }
    let ids: std::collections::HashSet<_> = chunks.iter().map(|c| &c.id).collect();
    assert_eq!(ids.len(), chunks.len());
}

#[test]
fn squad_book_chunk_sizes() {
    let dir = crate::ingest::test_support::squad_book();
    let (docs, skipped) = crate::ingest::load_paths(&[dir], &LoadOptions::default());
    assert!(skipped.is_empty());
    let chunks: Vec<Chunk> =
        docs.iter().flat_map(|d| chunk_document(d, &ChunkOptions::default(), &whitespace_tokens)).collect();
    assert!(chunks.iter().all(|c| c.token_count <= 256 && c.token_count >= 20));
    assert!(chunks.len() > 60);
}
