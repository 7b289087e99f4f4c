//! PDF loader: text per page with `pdf-extract` (pure Rust, on `lopdf`).
//!
//! Each page becomes its own section with `page = Some(n)` (1-based) and the
//! anchor `page=n`, which PDF viewers honour as `file.pdf#page=n`. Block
//! offsets are byte offsets into that page's extracted text. The parser runs
//! under `catch_unwind`, so a malformed PDF that makes it panic is reported
//! as a parse error for that file instead of taking the process down.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::builder::SectionBuilder;
use super::text::paragraph_blocks;
use super::{DiscoveredFile, Format, IngestError, LoadedDocument, humanize};

/// Extracts the text of every page (index 0 = page 1).
pub fn extract_pages(path: &std::path::Path, bytes: &[u8]) -> Result<Vec<String>, IngestError> {
    let parse = |message: String| IngestError::Parse { path: path.to_path_buf(), message };
    let result = catch_unwind(AssertUnwindSafe(|| pdf_extract::extract_text_from_mem_by_pages(bytes)));
    match result {
        Ok(Ok(pages)) => Ok(pages),
        Ok(Err(err)) => Err(parse(err.to_string())),
        Err(_) => Err(parse("PDF parser panicked".to_string())),
    }
}

/// Loads a PDF from its bytes.
pub(crate) fn load(file: &DiscoveredFile, bytes: &[u8]) -> Result<LoadedDocument, IngestError> {
    if !bytes.starts_with(b"%PDF") {
        return Err(IngestError::Parse {
            path: file.path.clone(),
            message: "not a PDF file (no %PDF header)".to_string(),
        });
    }
    let pages = extract_pages(&file.path, bytes)?;
    let title = humanize(file.file_name());
    let mut builder = SectionBuilder::new(&title);
    for (i, page_text) in pages.iter().enumerate() {
        let page = u32::try_from(i + 1).unwrap_or(u32::MAX);
        builder.page(page);
        builder.heading(1, &title, Some(format!("page={page}")));
        for block in paragraph_blocks(page_text) {
            builder.block(block);
        }
    }
    Ok(LoadedDocument::from_file(file, Format::Pdf, title, builder.finish()))
}

#[cfg(test)]
mod tests {
    use crate::ingest::{DiscoveredFile, LoadOptions, load_file, test_support::fixture};

    #[test]
    fn pages_are_kept() {
        let file = DiscoveredFile::single(fixture("books/pdf/field-guide.pdf"));
        let doc = load_file(&file, &LoadOptions::default()).unwrap();
        let pages: Vec<_> = doc.sections.iter().filter_map(|s| s.page).collect();
        assert!(pages.contains(&1) && pages.contains(&2), "{pages:?}");
        let p2 = doc.sections.iter().find(|s| s.page == Some(2)).unwrap();
        assert!(p2.text.contains("Second page"), "{}", p2.text);
        assert_eq!(p2.anchor.as_deref(), Some("page=2"));
    }

    #[test]
    fn garbage_pdf_is_a_skip() {
        let dir = std::env::temp_dir().join(format!("docent-pdf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("broken.pdf");
        std::fs::write(&p, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage").unwrap();
        let err = load_file(&DiscoveredFile::single(p), &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("broken.pdf"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
