//! Markdown and MDX loader (Docusaurus flavour).
//!
//! * YAML front matter: see `front_matter.rs`.
//! * MDX-only syntax is blanked by a length-preserving pre-pass
//!   (see `mdx.rs`), so offsets stay file byte offsets.
//! * The body is parsed with `pulldown-cmark` (offset iterator, GFM tables,
//!   `{#custom-id}` heading attributes). Each top-level block becomes one
//!   [`Block`]: paragraphs/lists/quotes as plain text (inline code keeps its
//!   backticks, link targets are dropped), fenced code and tables verbatim.
//! * Heading anchors: explicit `{#id}` wins, else github-slugger slugs.

use super::builder::SectionBuilder;
pub use super::front_matter::{FrontMatter, parse_front_matter, split_front_matter};
use super::mdx::{self, Admonition};
use super::slug::Slugger;
use super::{Block, BlockKind, DiscoveredFile, Format, LoadedDocument, humanize, route};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Loads one Markdown/MDX file (already decoded).
pub(crate) fn load(file: &DiscoveredFile, format: Format, src: &str) -> LoadedDocument {
    let fm = parse_front_matter(src);
    let (_, body_start) = split_front_matter(src);
    let masked = mdx::mask(src, body_start);
    let file_name = file.file_name();
    let fallback_title = fm.title.clone().unwrap_or_else(|| humanize(file_name));
    let mut walker = Walker::new(src, &masked.text, &fallback_title, &masked.admonitions);
    walker.run();
    let title = fm.title.clone().or_else(|| walker.first_h1.clone()).unwrap_or(fallback_title);
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    LoadedDocument {
        id: file.rel_path.clone(),
        source_path: file.path.clone(),
        format,
        title,
        sidebar_label: fm.sidebar_label.clone(),
        route: route::markdown_route(&file.rel_path, fm.id.as_deref(), fm.slug.as_deref()),
        chapter: file.chapter.clone(),
        sidebar_position: fm.sidebar_position.or(route::strip_number_prefix(stem).1),
        sections: walker.builder.finish(),
    }
}

/// The top-level block being rendered.
struct Current {
    kind: BlockKind,
    start: usize,
    text: String,
}

/// Event walker state.
struct Walker<'a> {
    src: &'a str,
    masked: &'a str,
    admonitions: &'a [Admonition],
    used: Vec<bool>,
    builder: SectionBuilder,
    slugger: Slugger,
    depth: usize,
    skip_to: Option<usize>,
    cur: Option<Current>,
    heading: Option<(u8, Option<String>, String)>,
    lists: Vec<Option<u64>>,
    first_h1: Option<String>,
    in_image: usize,
}

fn level_num(l: HeadingLevel) -> u8 {
    l as u8
}

impl<'a> Walker<'a> {
    fn new(src: &'a str, masked: &'a str, title: &str, admonitions: &'a [Admonition]) -> Self {
        Self {
            src,
            masked,
            admonitions,
            used: vec![false; admonitions.len()],
            builder: SectionBuilder::new(title),
            slugger: Slugger::new(),
            depth: 0,
            skip_to: None,
            cur: None,
            heading: None,
            lists: Vec::new(),
            first_h1: None,
            in_image: 0,
        }
    }

    fn run(&mut self) {
        let opts = Options::ENABLE_TABLES
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES;
        let masked = self.masked;
        for (event, range) in Parser::new_ext(masked, opts).into_offset_iter() {
            self.event(event, range);
        }
    }

    fn event(&mut self, event: Event<'_>, range: std::ops::Range<usize>) {
        match event {
            // Image alt text (badges, logos) is not content.
            Event::Start(Tag::Image { .. }) => self.in_image += 1,
            Event::End(TagEnd::Image) => self.in_image = self.in_image.saturating_sub(1),
            _ if self.in_image > 0 => {}
            Event::Start(tag) => {
                self.depth += 1;
                if self.skip_to.is_none() {
                    self.start(tag, range);
                }
            }
            Event::End(tag) => {
                self.depth = self.depth.saturating_sub(1);
                if self.skip_to == Some(self.depth) {
                    self.skip_to = None;
                } else if self.skip_to.is_none() {
                    self.end(tag, range.end);
                }
            }
            _ if self.skip_to.is_some() => {}
            other => self.inline(other),
        }
    }

    fn start(&mut self, tag: Tag<'_>, range: std::ops::Range<usize>) {
        if self.depth == 1 {
            match tag {
                Tag::Heading { level, id, .. } => {
                    self.heading = Some((level_num(level), id.map(|s| s.to_string()), String::new()));
                }
                Tag::CodeBlock(_) | Tag::Table(_) => {
                    let kind = if matches!(tag, Tag::Table(_)) { BlockKind::Table } else { BlockKind::Code };
                    self.verbatim_block(kind, range);
                    self.skip_to = Some(0);
                }
                other => self.open_block(&other, range.start),
            }
            return;
        }
        let Some(cur) = self.cur.as_mut() else { return };
        match tag {
            Tag::List(first) => self.lists.push(first),
            Tag::Item => {
                let indent = "  ".repeat(self.lists.len().saturating_sub(1));
                let bullet = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                push_line(&mut cur.text, &format!("{indent}{bullet}"));
            }
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(lang) => lang.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                push_line(&mut cur.text, &format!("```{lang}\n"));
            }
            _ => {}
        }
    }

    fn open_block(&mut self, tag: &Tag<'_>, start: usize) {
        let kind = match tag {
            Tag::List(first) => {
                self.lists.push(*first);
                BlockKind::List
            }
            Tag::BlockQuote(_) => BlockKind::Quote,
            _ => BlockKind::Paragraph,
        };
        self.cur = Some(Current { kind, start, text: String::new() });
    }

    fn end(&mut self, tag: TagEnd, end: usize) {
        if self.depth == 0 {
            if let Some((level, id, text)) = self.heading.take() {
                self.close_heading(level, id, &text);
            } else if let Some(cur) = self.cur.take() {
                self.lists.clear();
                let text = tidy(&cur.text, cur.kind);
                self.push_block(cur.kind, text, cur.start, end, false);
            }
            return;
        }
        let Some(cur) = self.cur.as_mut() else { return };
        match tag {
            TagEnd::List(_) => {
                self.lists.pop();
            }
            TagEnd::CodeBlock => push_line(&mut cur.text, "```"),
            TagEnd::Paragraph | TagEnd::Item => cur.text.push('\n'),
            _ => {}
        }
    }

    fn inline(&mut self, event: Event<'_>) {
        let piece = match &event {
            Event::Text(t) => t.to_string(),
            Event::Code(c) => format!("`{c}`"),
            Event::SoftBreak => " ".to_string(),
            Event::HardBreak => "\n".to_string(),
            Event::TaskListMarker(done) => if *done { "[x] " } else { "[ ] " }.to_string(),
            Event::Html(h) | Event::InlineHtml(h) => strip_tags(h),
            _ => String::new(),
        };
        if let Some((_, _, text)) = self.heading.as_mut() {
            text.push_str(match &event {
                Event::Code(c) => c,
                _ => &piece,
            });
        } else if let Some(cur) = self.cur.as_mut() {
            cur.text.push_str(&piece);
        }
    }

    fn close_heading(&mut self, level: u8, id: Option<String>, text: &str) {
        let text = text.trim();
        let anchor = id.unwrap_or_else(|| self.slugger.slug(text));
        if level == 1 && self.first_h1.is_none() {
            self.first_h1 = Some(text.to_string());
        }
        self.builder.heading(level, text, Some(anchor));
    }

    fn verbatim_block(&mut self, kind: BlockKind, range: std::ops::Range<usize>) {
        let masked = self.masked[range.clone()].trim_end();
        let end = range.start + masked.len();
        let verbatim = self.src.get(range.start..end) == Some(masked);
        self.push_block(kind, masked.to_string(), range.start, end, verbatim);
    }

    fn push_block(&mut self, kind: BlockKind, mut text: String, start: usize, end: usize, verbatim: bool) {
        let mut verbatim = verbatim;
        if let Some(i) = self.admonition_at(start) {
            let sep = if kind == BlockKind::Paragraph { " " } else { "\n" };
            text = format!("{}:{sep}{text}", self.admonitions[i].label);
            verbatim = false;
        }
        self.builder.block(Block { kind, text, start, end, verbatim });
    }

    /// Index of a not-yet-used admonition whose content starts at `start`.
    fn admonition_at(&mut self, start: usize) -> Option<usize> {
        let i = self
            .admonitions
            .iter()
            .enumerate()
            .position(|(i, a)| !self.used[i] && start >= a.start && start < a.end.max(a.start + 1))?;
        self.used[i] = true;
        Some(i)
    }
}

fn push_line(buf: &mut String, s: &str) {
    if !buf.is_empty() && !buf.ends_with('\n') {
        buf.push('\n');
    }
    buf.push_str(s);
}

/// Collapses inner space runs (left by masked JSX), keeping indentation;
/// a masked run right before punctuation is removed.
fn squeeze(line: &str) -> String {
    let body = line.trim_start();
    let mut out = line[..line.len() - body.len()].to_string();
    let mut run = 0;
    for c in body.chars() {
        if c == ' ' {
            run += 1;
            continue;
        }
        let drop = run > 1 && matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')');
        if run > 0 && !drop {
            out.push(' ');
        }
        run = 0;
        out.push(c);
    }
    out
}

/// Trims trailing spaces per line and outer whitespace.
fn tidy(text: &str, kind: BlockKind) -> String {
    let lines: Vec<String> = text.lines().map(|l| squeeze(l.trim_end())).collect();
    let joined = lines.join("\n");
    let t = joined.trim();
    if kind == BlockKind::Quote { t.to_string() } else { t.replace("\n\n\n", "\n\n") }
}

/// Removes HTML tags and comments, keeping text.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(p) = rest.find('<') {
        out.push_str(&rest[..p]);
        let close = if rest[p..].starts_with("<!--") { "-->" } else { ">" };
        match rest[p..].find(close) {
            Some(q) => rest = &rest[p + q + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
