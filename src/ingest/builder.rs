//! Shared section assembly: turns a stream of headings and blocks into
//! [`Section`]s with heading paths.

use super::{Block, Section};

/// One open heading on the stack.
#[derive(Debug, Clone)]
struct Open {
    level: u8,
    text: String,
    anchor: Option<String>,
}

/// Collects headings and blocks in document order.
#[derive(Debug)]
pub(crate) struct SectionBuilder {
    title: String,
    stack: Vec<Open>,
    blocks: Vec<Block>,
    sections: Vec<Section>,
    page: Option<u32>,
}

impl SectionBuilder {
    /// A builder whose root heading path entry is `title`.
    pub(crate) fn new(title: &str) -> Self {
        Self { title: title.to_string(), stack: Vec::new(), blocks: Vec::new(), sections: Vec::new(), page: None }
    }

    /// Starts a new page (PDF): closes the current section.
    pub(crate) fn page(&mut self, page: u32) {
        self.flush();
        self.page = Some(page);
    }

    /// Opens a heading of `level` (1–6); closes the current section.
    pub(crate) fn heading(&mut self, level: u8, text: &str, anchor: Option<String>) {
        self.flush();
        while self.stack.last().is_some_and(|o| o.level >= level) {
            self.stack.pop();
        }
        self.stack.push(Open { level, text: text.trim().to_string(), anchor });
    }

    /// Closes the current section and every heading deeper than `level`, so
    /// following blocks belong to the enclosing heading again.
    pub(crate) fn close_above(&mut self, level: u8) {
        if self.stack.last().is_some_and(|o| o.level > level) {
            self.flush();
            self.stack.retain(|o| o.level <= level);
        }
    }

    /// Adds a block to the current section; blank blocks are ignored.
    pub(crate) fn block(&mut self, block: Block) {
        if !block.text.trim().is_empty() {
            self.blocks.push(block);
        }
    }

    /// The heading path of the current position.
    fn heading_path(&self) -> Vec<String> {
        let mut path: Vec<String> = self.stack.iter().map(|o| o.text.clone()).filter(|t| !t.is_empty()).collect();
        let first_is_root = self.stack.first().is_some_and(|o| o.level == 1 || o.text == self.title);
        if !first_is_root && !self.title.is_empty() {
            path.insert(0, self.title.clone());
        }
        path
    }

    fn flush(&mut self) {
        if self.blocks.is_empty() {
            return;
        }
        let blocks = std::mem::take(&mut self.blocks);
        let text = blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n\n");
        let start = blocks.first().map_or(0, |b| b.start);
        let end = blocks.iter().map(|b| b.end).max().unwrap_or(start);
        self.sections.push(Section {
            heading_path: self.heading_path(),
            anchor: self.stack.last().and_then(|o| o.anchor.clone()),
            text,
            blocks,
            page: self.page,
            start,
            end,
        });
    }

    /// Closes the last section and returns all non-empty sections.
    pub(crate) fn finish(mut self) -> Vec<Section> {
        self.flush();
        self.sections
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::BlockKind;

    fn para(text: &str, start: usize) -> Block {
        Block { kind: BlockKind::Paragraph, text: text.into(), start, end: start + text.len(), verbatim: true }
    }

    #[test]
    fn builds_heading_paths() {
        let mut b = SectionBuilder::new("Doc");
        b.block(para("intro", 0));
        b.heading(2, "A", Some("a".into()));
        b.heading(3, "A1", Some("a1".into()));
        b.block(para("x", 10));
        b.heading(2, "B", None);
        b.block(para("y", 20));
        let s = b.finish();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].heading_path, vec!["Doc"]);
        assert_eq!(s[1].heading_path, vec!["Doc", "A", "A1"]);
        assert_eq!(s[1].anchor.as_deref(), Some("a1"));
        assert_eq!(s[2].heading_path, vec!["Doc", "B"]);
        assert_eq!(s[2].anchor, None);
    }
}
