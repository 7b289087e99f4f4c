//! Plain-text loader: one section titled by the file name, one block per
//! paragraph (blank-line separated), offsets exact into the file.

use super::builder::SectionBuilder;
use super::{Block, BlockKind, DiscoveredFile, Format, LoadedDocument, humanize};

/// Splits `text` into paragraph blocks at blank lines; offsets are byte
/// offsets into `text` and every block is verbatim.
pub fn paragraph_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end();
        if content.trim().is_empty() {
            if let Some(s) = start.take() {
                blocks.push(verbatim_block(text, s, end));
            }
        } else {
            let lead = content.len() - content.trim_start().len();
            start.get_or_insert(offset + lead);
            end = offset + content.len();
        }
        offset += line.len();
    }
    if let Some(s) = start {
        blocks.push(verbatim_block(text, s, end));
    }
    blocks
}

fn verbatim_block(text: &str, start: usize, end: usize) -> Block {
    Block { kind: BlockKind::Paragraph, text: text[start..end].to_string(), start, end, verbatim: true }
}

/// Loads a plain-text file (already decoded).
pub(crate) fn load(file: &DiscoveredFile, text: &str) -> LoadedDocument {
    let title = humanize(file.file_name());
    let mut builder = SectionBuilder::new(&title);
    for block in paragraph_blocks(text) {
        builder.block(block);
    }
    LoadedDocument::from_file(file, Format::Text, title, builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_have_exact_offsets() {
        let text = "First line\ncontinues.\n\n\n  Second para.  \n";
        let blocks = paragraph_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].text, "First line\ncontinues.");
        assert_eq!(&text[blocks[1].start..blocks[1].end], "Second para.");
    }

    #[test]
    fn loads_text_file() {
        let file = DiscoveredFile::single(crate::ingest::test_support::fixture("books/notes.txt"));
        let doc = crate::ingest::load_file(&file, &Default::default()).unwrap();
        assert_eq!(doc.title, "Notes");
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(doc.sections[0].heading_path, vec!["Notes"]);
        assert!(doc.sections[0].blocks.len() >= 2);
    }
}
