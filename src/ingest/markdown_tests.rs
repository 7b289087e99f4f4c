//! Tests for the Markdown/MDX loader on the Docusaurus fixture book.

use super::*;
use crate::ingest::test_support::fixture;
use crate::ingest::{LoadOptions, Section, discover, document_url, load_file};

fn load(rel: &str) -> LoadedDocument {
    let files = discover(&[fixture("books/docusaurus")]);
    let file = files.iter().find(|f| f.rel_path == rel).expect(rel);
    load_file(file, &LoadOptions::default()).unwrap()
}

fn section<'a>(doc: &'a LoadedDocument, heading: &str) -> &'a Section {
    doc.sections
        .iter()
        .find(|s| s.heading_path.last().map(String::as_str) == Some(heading))
        .unwrap_or_else(|| panic!("no section {heading}"))
}

#[test]
fn front_matter_keys_and_unknown_keys() {
    let src = "---\nid: 7\ntitle: 'T: x'\nslug: /a\nsidebar_position: 2.5\nsidebar_label: L\nfoo: [1, 2]\n---\nbody";
    let fm = parse_front_matter(src);
    assert_eq!(fm.id.as_deref(), Some("7"));
    assert_eq!(fm.title.as_deref(), Some("T: x"));
    assert_eq!(fm.slug.as_deref(), Some("/a"));
    assert_eq!(fm.sidebar_position, Some(2.5));
    assert_eq!(fm.sidebar_label.as_deref(), Some("L"));
    assert_eq!(split_front_matter(src).1, src.find("body").unwrap());
    assert_eq!(parse_front_matter("---\n: : bad [\n---\nx"), FrontMatter::default());
    assert_eq!(split_front_matter("no front matter").1, 0);
}

#[test]
fn admonitions_and_duplicate_slugs() {
    let doc = load("intro.md");
    assert_eq!(doc.title, "Welcome to Lighthouse");
    assert_eq!(doc.route, "/intro");
    assert!(doc.sections[0].text.contains("Note: You do not need to know Rust"));
    let anchors: Vec<_> = doc.sections.iter().filter_map(|s| s.anchor.as_deref()).collect();
    assert_eq!(anchors, ["welcome-to-lighthouse", "what-you-will-learn", "what-you-will-learn-1"]);
    assert!(doc.sections[1].text.contains("Tip (Pro tip): Keep the dev server"));
    assert!(!doc.sections.iter().any(|s| s.text.contains(":::")));
}

#[test]
fn mdx_imports_jsx_and_code() {
    let doc = load("01-getting-started/02-install.mdx");
    assert_eq!(doc.title, "Installing Lighthouse");
    assert_eq!(doc.route, "/getting-started/installation");
    assert_eq!(doc.sidebar_position, Some(2.0));
    let all: String = doc.sections.iter().map(|s| s.text.as_str()).collect();
    for gone in ["import", "export", "<Tabs", "TabItem", "Highlight", "editorial"] {
        assert!(!all.contains(gone), "{gone} leaked: {all}");
    }
    assert!(all.contains("Use Homebrew: brew install lighthouse."));
    assert!(all.contains("Download the archive"));
    let verify = section(&doc, "Verify the installation");
    assert_eq!(verify.anchor.as_deref(), Some("verify"));
    let code = verify.blocks.iter().find(|b| b.kind == BlockKind::Code).unwrap();
    assert!(code.text.starts_with("```bash title=\"terminal\"\nlighthouse --version"));
    assert!(code.text.ends_with("```"));
    assert!(code.verbatim);
    let src = std::fs::read_to_string(&doc.source_path).unwrap();
    assert_eq!(&src[code.start..code.end], code.text);
    assert!(verify.text.contains("Warning (Old versions): Versions before 1.0"));
}

#[test]
fn tables_and_tricky_headings() {
    let doc = load("01-getting-started/configuration.md");
    assert_eq!(doc.route, "/config");
    let table = &section(&doc, "Options").blocks[0];
    assert_eq!(table.kind, BlockKind::Table);
    assert!(table.text.starts_with("| Option | Default | Meaning |\n| ------"));
    let anchors: Vec<_> = doc.sections.iter().filter_map(|s| s.anchor.as_deref()).collect();
    assert_eq!(anchors, ["configuration", "options", "c--rust-quotes", "über-unicode--headings", "options-1"]);
    assert_eq!(doc.sections[2].heading_path, ["Configuration", "C++ & Rust: \"quotes\""]);
    let url = document_url(Some("https://book.example.com/docs/"), &doc);
    assert_eq!(url, "https://book.example.com/docs/config");
}

#[test]
fn lists_quotes_details_and_titles() {
    let doc = load("advanced/tabs-and-jsx.mdx");
    let s = &doc.sections[0];
    assert_eq!(s.heading_path, ["Themes"]);
    let list = s.blocks.iter().find(|b| b.kind == BlockKind::List).unwrap();
    assert_eq!(
        list.text,
        "- Themes can override any template.\n- Themes can ship static assets.\n  - Nested assets are copied as is."
    );
    assert!(s.text.contains("Why templates?"));
    assert!(s.blocks.iter().any(|b| b.kind == BlockKind::Quote && b.text.contains("keep themes small")));
    let reference = load("advanced/reference.md");
    assert_eq!(reference.title, "CLI reference");
    assert_eq!(reference.sections[0].heading_path, ["CLI reference"]);
    assert_eq!(reference.sections[0].anchor, None);
    assert_eq!(reference.sections[2].heading_path, ["CLI reference", "build", "Flags"]);
    let index = load("01-getting-started/index.md");
    assert_eq!(index.route, "/getting-started");
    assert_eq!(index.chapter.as_ref().unwrap().label, "Getting Started");
    assert_eq!(index.sidebar_label.as_deref(), Some("Overview"));
}

#[test]
fn squad_style_book_sections() {
    let book = crate::ingest::test_support::squad_book();
    let path = book.join("normans.md");
    let path = path.as_path();
    let doc = load_file(&crate::ingest::DiscoveredFile::single(path.into()), &LoadOptions::default()).unwrap();
    assert_eq!(doc.title, "Normans");
    assert_eq!(doc.route, "/normans");
    assert!(doc.sections[0].blocks.len() > 10);
}
