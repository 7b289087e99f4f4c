//! Protection of everything a translation must leave byte-identical. The chapter's front matter
//! is set aside whole; in the body, fenced code blocks, HTML comments, MDX `import`/`export`
//! statements, table delimiter rows and link reference definitions become one placeholder
//! token each (`⟦P7⟧`), admonition fences keep their `:::kind`, and prose lines go through the
//! inline scanner ([`super::inline`]). Headings (ATX, and setext ones as ATX) are rewritten as
//! `## text` with their anchor set aside: the anchor the ingested chapter's deep links use (explicit `{#id}`, else the
//! github-slugger slug), appended as `{#anchor}` to the translated heading.

use pulldown_cmark::{Event, Options, Parser};

use super::inline::protect_line;
use crate::ingest::Slugger;
use crate::ingest::markdown::split_front_matter;

/// Opens a placeholder token.
pub const OPEN: char = '⟦';
/// Closes a placeholder token.
pub const CLOSE: char = '⟧';

/// The token standing for span `index`.
pub fn token(index: usize) -> String {
    format!("{OPEN}P{index}{CLOSE}")
}

/// A heading of the chapter: its level and the anchor deep links use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: usize,
    pub anchor: String,
}

/// One line of the protected body (a whole protected block counts as one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub heading: Option<Heading>,
    /// The placeholders this line holds.
    pub placeholders: Vec<usize>,
}

/// A chapter with its untouchable spans replaced by placeholder tokens.
#[derive(Debug, Clone)]
pub struct Protected {
    /// The front matter, delimiters included, kept verbatim.
    pub front_matter: String,
    pub lines: Vec<Line>,
    /// What each placeholder stands for.
    pub spans: Vec<String>,
}

impl Protected {
    /// Protects `source`, keeping the glossary `terms` as they are written.
    pub fn new(source: &str, terms: &[String]) -> Self {
        let (_, body_start) = split_front_matter(source);
        let mut terms = terms.to_vec();
        terms.sort_by_key(|t| std::cmp::Reverse(t.len()));
        let mut protector = Protector { spans: Vec::new(), terms, slugger: Slugger::new() };
        let raw: Vec<&str> = source[body_start..].split('\n').collect();
        let mut lines = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let (line, used) = protector.line(&raw, i);
            lines.push(line);
            i += used;
        }
        Self { front_matter: source[..body_start].to_owned(), lines, spans: protector.spans }
    }
}

struct Protector {
    spans: Vec<String>,
    terms: Vec<String>,
    slugger: Slugger,
}

impl Protector {
    /// The protected line starting at `raw[i]` and how many raw lines it took.
    fn line(&mut self, raw: &[&str], i: usize) -> (Line, usize) {
        let text = raw[i];
        if let Some(used) = block_len(raw, i) {
            return (self.whole(&raw[i..i + used].join("\n")), used);
        }
        if let Some(line) = self.heading(text) {
            return (line, 1);
        }
        if let Some((used, level)) = setext(raw, i) {
            let title = raw[i..i + used - 1].iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
            return (self.titled(level, &title), used);
        }
        let indent = text.len() - text.trim_start().len();
        if text[indent..].starts_with(":::") {
            let end = text[indent..].find(char::is_whitespace).map_or(text.len(), |e| indent + e);
            let mut line = self.whole(&text[..end]);
            let rest = self.inline(&text[end..], &mut line.placeholders);
            line.text.push_str(&rest);
            return (line, 1);
        }
        let mut placeholders = Vec::new();
        let protected = self.inline(text, &mut placeholders);
        (Line { text: protected, heading: None, placeholders }, 1)
    }

    fn put(&mut self, span: &str, placeholders: &mut Vec<usize>) -> String {
        self.spans.push(span.to_owned());
        placeholders.push(self.spans.len() - 1);
        token(self.spans.len() - 1)
    }

    /// A line that is one placeholder.
    fn whole(&mut self, span: &str) -> Line {
        let mut placeholders = Vec::new();
        let text = self.put(span, &mut placeholders);
        Line { text, heading: None, placeholders }
    }

    fn inline(&mut self, text: &str, placeholders: &mut Vec<usize>) -> String {
        let terms = std::mem::take(&mut self.terms);
        let out = protect_line(text, &terms, &mut |span| self.put(span, placeholders));
        self.terms = terms;
        out
    }

    /// An ATX heading, as `#… protected text`, with its anchor.
    fn heading(&mut self, text: &str) -> Option<Line> {
        let level = heading_level(text)?;
        Some(self.titled(level, text.trim_start()[level..].trim()))
    }

    /// A heading of `level` whose text (with any `{#id}`) is `rest`, as an ATX line.
    fn titled(&mut self, level: usize, rest: &str) -> Line {
        let (title, explicit) = split_heading_id(rest);
        let title = strip_closing_hashes(title);
        let anchor = explicit.unwrap_or_else(|| self.slugger.slug(&plain_text(title)));
        let mut placeholders = Vec::new();
        let protected = self.inline(title, &mut placeholders);
        let text = format!("{} {protected}", "#".repeat(level)).trim_end().to_owned();
        Line { text, heading: Some(Heading { level, anchor }), placeholders }
    }
}

/// A setext heading starting at `raw[i]` (a paragraph over a `===` or `---` underline, as
/// CommonMark and the ingest loader read it): the raw lines it spans, underline included, and
/// its level. It is rewritten as an ATX heading, which renders the same and carries `{#anchor}`.
fn setext(raw: &[&str], i: usize) -> Option<(usize, usize)> {
    if i > 0 && !raw[i - 1].trim().is_empty() {
        return None; // inside a paragraph that started earlier
    }
    let mut j = i;
    loop {
        let line = raw.get(j)?;
        if j > i
            && let Some(level) = underline(line)
        {
            return Some((j - i + 1, level));
        }
        if !is_paragraph_text(line) {
            return None;
        }
        j += 1;
    }
}

/// `===` (level 1) or `---` (level 2), indented at most three spaces.
fn underline(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let run = trimmed.trim_end();
    match run.as_bytes().first()? {
        b'=' if run.bytes().all(|b| b == b'=') => Some(1),
        b'-' if run.bytes().all(|b| b == b'-') => Some(2),
        _ => None,
    }
}

/// A line that can belong to a plain paragraph (not blank, not a list item, quote, table row,
/// HTML, admonition, fence or heading).
fn is_paragraph_text(line: &str) -> bool {
    let trimmed = line.trim_start_matches(' ');
    if trimmed.trim().is_empty() || line.len() - trimmed.len() > 3 {
        return false;
    }
    let ordered = trimmed.trim_start_matches(|c: char| c.is_ascii_digit());
    let list = ["- ", "* ", "+ "].iter().any(|m| trimmed.starts_with(m))
        || (ordered.len() < trimmed.len() && (ordered.starts_with(". ") || ordered.starts_with(") ")));
    let block = ['#', '>', '|', '<'].iter().any(|c| trimmed.starts_with(*c))
        || [":::", "```", "~~~"].iter().any(|m| trimmed.starts_with(m));
    !list && !block
}

/// The level of an ATX heading line (`## Title`: 2), indented at most three spaces.
pub fn heading_level(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.bytes().take_while(|b| *b == b'#').count();
    let after = &trimmed[level..];
    ((1..=6).contains(&level) && (after.is_empty() || after.starts_with([' ', '\t']))).then_some(level)
}

/// How many raw lines the block starting at `raw[i]` spans, when it is protected whole.
fn block_len(raw: &[&str], i: usize) -> Option<usize> {
    let line = raw[i];
    let trimmed = line.trim_start();
    if let Some((mark, n)) = fence(trimmed) {
        let close = raw[i + 1..].iter().position(|l| is_fence_close(l.trim_start(), mark, n));
        return Some(close.map_or(raw.len() - i, |c| c + 2));
    }
    if trimmed.starts_with("<!--") && !trimmed.contains("-->") {
        let close = raw[i + 1..].iter().position(|l| l.contains("-->"));
        return Some(close.map_or(raw.len() - i, |c| c + 2));
    }
    if line.starts_with("import ") || line.starts_with("export ") {
        return Some(raw[i..].iter().position(|l| l.trim().is_empty()).unwrap_or(raw.len() - i));
    }
    (is_delimiter_row(trimmed) || is_reference_definition(line)).then_some(1)
}

fn fence(trimmed: &str) -> Option<(u8, usize)> {
    let mark = *trimmed.as_bytes().first()?;
    let n = trimmed.bytes().take_while(|b| *b == mark).count();
    (matches!(mark, b'`' | b'~') && n >= 3 && !(mark == b'`' && trimmed[n..].contains('`'))).then_some((mark, n))
}

fn is_fence_close(trimmed: &str, mark: u8, n: usize) -> bool {
    let run = trimmed.bytes().take_while(|b| *b == mark).count();
    run >= n && trimmed[run..].trim().is_empty()
}

/// `|---|:--:|` and friends.
fn is_delimiter_row(trimmed: &str) -> bool {
    trimmed.contains('-')
        && trimmed.contains(['|', ':'])
        && trimmed.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// `[label]: https://…` (footnote definitions `[^1]: text` hold prose and are not).
fn is_reference_definition(line: &str) -> bool {
    let trimmed = line.trim_start_matches(' ');
    line.len() - trimmed.len() <= 3
        && trimmed.starts_with('[')
        && !trimmed.starts_with("[^")
        && trimmed.find("]:").is_some_and(|end| !trimmed[1..end].contains('['))
}

/// Splits a trailing `{#id}` off a heading's text.
fn split_heading_id(text: &str) -> (&str, Option<String>) {
    if let Some(open) = text.rfind("{#")
        && text.ends_with('}')
    {
        let id = text[open + 2..text.len() - 1].split_whitespace().next().unwrap_or_default();
        if !id.is_empty() {
            return (text[..open].trim_end(), Some(id.to_owned()));
        }
    }
    (text, None)
}

/// `Title ##` → `Title` (a closing sequence must follow a space).
fn strip_closing_hashes(title: &str) -> &str {
    let stripped = title.trim_end_matches('#');
    if stripped.is_empty() || stripped.ends_with([' ', '\t']) { stripped.trim_end() } else { title }
}

/// A heading's text as the ingest loader reads it for its slug: inline code without backticks,
/// emphasis and link targets dropped, HTML tags removed.
fn plain_text(title: &str) -> String {
    let mut out = String::new();
    let mut in_image = 0usize;
    for event in Parser::new_ext(title, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(pulldown_cmark::Tag::Image { .. }) => in_image += 1,
            Event::End(pulldown_cmark::TagEnd::Image) => in_image = in_image.saturating_sub(1),
            _ if in_image > 0 => {}
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_owned()
}
