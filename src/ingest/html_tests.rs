//! Tests for the HTML loader on mdBook/Sphinx-shaped fixtures and, when
//! installed, the real Debian `python3.11-doc` and `rust-doc` pages.

use std::path::Path;

use crate::ingest::test_support::fixture;
use crate::ingest::{BlockKind, DiscoveredFile, LoadOptions, LoadedDocument, load_file};

fn load(path: &Path) -> LoadedDocument {
    load_file(&DiscoveredFile::single(path.to_path_buf()), &LoadOptions::default()).unwrap()
}

fn all_text(doc: &LoadedDocument) -> String {
    doc.sections.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n\n")
}

#[test]
fn mdbook_main_content_and_anchors() {
    let doc = load(&fixture("books/html/mdbook-chapter.html"));
    assert_eq!(doc.title, "Themes");
    let paths: Vec<_> = doc.sections.iter().map(|s| s.heading_path.join(" > ")).collect();
    assert_eq!(paths, ["Themes", "Themes > The theme.toml File", "Themes > Overriding Templates"]);
    let anchors: Vec<_> = doc.sections.iter().filter_map(|s| s.anchor.as_deref()).collect();
    assert_eq!(anchors, ["themes", "the-theme-file", "overriding-templates"]);
    let text = all_text(&doc);
    for gone in ["Introduction", "Search this book", "The Lighthouse Book", "Previous chapter", "color:"] {
        assert!(!text.contains(gone), "{gone} leaked");
    }
    let code = &doc.sections[1].blocks[1];
    assert_eq!(code.kind, BlockKind::Code);
    assert_eq!(code.text, "```toml\nname = \"harbor\"\nparent = \"default\"\n```");
    let table = doc.sections[2].blocks.last().unwrap();
    assert_eq!(table.kind, BlockKind::Table);
    assert!(table.text.starts_with("| Template | Used for |\n| --- | --- |\n| page.html |"));
}

#[test]
fn sphinx_body_headerlinks_and_api_entries() {
    let doc = load(&fixture("books/html/sphinx-page.html"));
    assert_eq!(doc.title, "3. Plugins");
    let text = all_text(&doc);
    for gone in ["¶", "Quick search", "Navigation", "Table of Contents", "Copyright"] {
        assert!(!text.contains(gone), "{gone} leaked");
    }
    let s = &doc.sections[1];
    assert_eq!(s.heading_path, ["3. Plugins", "3.1. Writing a plugin"]);
    assert_eq!(s.anchor.as_deref(), Some("writing-a-plugin"));
    assert!(s.text.contains("Note: Plugins run in the order"));
    assert!(s.text.contains("```python3\ndef run(site):"));
    let api = &doc.sections[2];
    assert_eq!(api.anchor.as_deref(), Some("lighthouse.register"));
    assert!(api.text.starts_with("lighthouse.register(plugin)"));
    assert_eq!(doc.sections[3].anchor.as_deref(), Some("writing-a-plugin"));
    // Offsets index the extracted text: all block texts joined by blank lines.
    let joined = doc.sections.iter().flat_map(|s| &s.blocks).map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n\n");
    for b in doc.sections.iter().flat_map(|s| &s.blocks) {
        assert_eq!(&joined[b.start..b.end], b.text);
    }
}

#[test]
fn real_python_docs() {
    let path = crate::ingest::test_support::required_file(
        "/usr/share/doc/python3.11/html/tutorial/controlflow.html",
        "python3.11-doc",
    );
    let path = path.as_path();
    let doc = load(path);
    assert_eq!(doc.title, "4. More Control Flow Tools");
    let s = doc.sections.iter().find(|s| s.anchor.as_deref() == Some("if-statements")).unwrap();
    assert_eq!(s.heading_path, ["4. More Control Flow Tools", "4.1. if Statements"]);
    let text = all_text(&doc);
    assert!(!text.contains("Table of Contents") && !text.contains('¶'));
    assert!(text.contains("```python3\n>>> x = int(input(\"Please enter an integer: \"))"));
}

#[test]
fn real_rust_book() {
    let path = crate::ingest::test_support::required_file(
        "/usr/share/doc/rust-doc/html/book/ch04-01-what-is-ownership.html",
        "rust-doc",
    );
    let path = path.as_path();
    let doc = load(path);
    assert_eq!(doc.title, "What Is Ownership?");
    let s = doc.sections.iter().find(|s| s.anchor.as_deref() == Some("the-stack-and-the-heap")).unwrap();
    assert_eq!(s.heading_path, ["What Is Ownership?", "The Stack and the Heap"]);
    assert!(!all_text(&doc).contains("Keyboard shortcuts"));
}
