//! Depth-first walk of the HTML main content, emitting headings and blocks.

use scraper::ElementRef;
use scraper::node::Node;

use super::{
    Block, BlockKind, SectionBuilder, code_language, collapse, heading_anchor, heading_level, inline_text, skip,
    table_markdown,
};

/// Elements that end the current text block.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "caption",
    "details",
    "summary",
    "hr",
    "br",
    "center",
];

/// Sphinx domains whose `dl` elements describe API objects.
const API_DOMAINS: &[&str] = &["py", "c", "cpp", "js", "rst", "std"];

/// Walk state: the text being gathered and the section builder.
pub(super) struct Walker {
    pub(super) builder: SectionBuilder,
    buf: String,
    kind: BlockKind,
    pos: usize,
    prefix: Option<String>,
    api_depth: u8,
}

impl Walker {
    pub(super) fn new(title: &str) -> Self {
        Self {
            builder: SectionBuilder::new(title),
            buf: String::new(),
            kind: BlockKind::Paragraph,
            pos: 0,
            prefix: None,
            api_depth: 0,
        }
    }

    /// Emits the gathered text as a block.
    pub(super) fn flush(&mut self) {
        let text = collapse(&std::mem::take(&mut self.buf));
        let kind = std::mem::replace(&mut self.kind, BlockKind::Paragraph);
        if text.is_empty() || text == "-" {
            return;
        }
        self.emit(kind, text);
    }

    fn emit(&mut self, kind: BlockKind, text: String) {
        let text = match self.prefix.take() {
            Some(p) => format!("{p}: {text}"),
            None => text,
        };
        if self.pos > 0 {
            self.pos += 2;
        }
        let start = self.pos;
        self.pos += text.len();
        self.builder.block(Block { kind, text, start, end: self.pos, verbatim: true });
    }

    pub(super) fn walk(&mut self, el: ElementRef<'_>) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.buf.push_str(t),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child).filter(|c| !skip(*c)) {
                        self.element(c);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, el: ElementRef<'_>) {
        let v = el.value();
        let name = v.name();
        if let Some(level) = heading_level(name) {
            self.flush();
            self.builder.heading(level, &inline_text(el), heading_anchor(el));
            return;
        }
        match name {
            "pre" => {
                self.flush();
                let code: String = el.text().collect();
                let text = format!("```{}\n{}\n```", code_language(el), code.trim_end());
                self.emit(BlockKind::Code, text);
            }
            "table" => {
                self.flush();
                let t = table_markdown(el);
                self.emit(BlockKind::Table, t);
            }
            "code" => {
                self.buf.push('`');
                self.buf.push_str(&inline_text(el));
                self.buf.push('`');
            }
            "p" if v.classes().any(|c| c == "admonition-title") => {
                self.flush();
                self.prefix = Some(inline_text(el).trim_end_matches(':').to_string());
            }
            "dt" if v.id().is_some() => self.api_entry(el),
            "dl" if v.classes().any(|c| API_DOMAINS.contains(&c)) => self.api_list(el),
            _ if BLOCK_TAGS.contains(&name) => {
                self.flush();
                if matches!(name, "li" | "dt" | "dd") {
                    self.kind = BlockKind::List;
                }
                if name == "li" {
                    self.buf.push_str("- ");
                }
                self.walk(el);
                self.flush();
            }
            _ => self.walk(el),
        }
    }

    /// A Sphinx API description list (`dl.py.function`): entries nest.
    fn api_list(&mut self, el: ElementRef<'_>) {
        self.flush();
        self.api_depth += 1;
        self.walk(el);
        self.flush();
        self.api_depth -= 1;
        if self.api_depth == 0 {
            self.builder.close_above(6);
        } else {
            self.builder.close_above(6 + self.api_depth);
        }
    }

    /// `<dt id="…">`: a sub-section titled by the id, with its signature.
    /// Further `dt`s of the same run (aliases sharing one `dd`) stay in the
    /// first one's section.
    fn api_entry(&mut self, el: ElementRef<'_>) {
        self.flush();
        let id = el.value().id().unwrap_or_default().to_string();
        let level = 6 + self.api_depth.max(1);
        let prev = el.prev_siblings().find_map(ElementRef::wrap);
        if prev.is_none_or(|p| p.value().name() != "dt") {
            self.builder.heading(level, &id, Some(id.clone()));
        }
        self.kind = BlockKind::List;
        self.walk(el);
        self.flush();
    }
}
