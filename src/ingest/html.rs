//! HTML loader for generated documentation sites (mdBook, Sphinx, Docusaurus
//! builds, rustdoc, hand-written pages), built on `scraper` (html5ever).
//!
//! * Main content only: the first of `main`, `[role=main]`, `div.body`,
//!   `article`, `#content`, `.content`, `body`; inside it, navigation,
//!   headers/footers, asides, scripts, styles, forms/search boxes, sidebars
//!   and permalink anchors (`¶`, `#`, `.headerlink`, `.hash-link`) are dropped.
//! * Headings `h1`–`h6` open sections. The anchor is the heading's `id`, else
//!   an inner `a[id]`/`a[name]`, else an inner `a[href^="#"]` permalink, else
//!   the id of a parent `<section>`/`div.section` it opens (Sphinx).
//! * Sphinx API entries (`<dt id="str.join">`) open sub-sections so answers
//!   can deep-link to a single function.
//! * `pre` becomes a fenced code block (language from `language-*` or Sphinx
//!   `highlight-*` classes), tables become Markdown tables, `li`/`dt`/`dd`
//!   become list blocks, Sphinx admonition titles prefix their content.
//!
//! Offsets are into the extracted text (all blocks joined by blank lines).

use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};

use super::builder::SectionBuilder;
use super::{Block, BlockKind, DiscoveredFile, Format, LoadedDocument, humanize, route};

const SKIP_TAGS: &[&str] = &[
    "nav", "header", "footer", "aside", "script", "style", "noscript", "form", "button", "input", "select", "textarea",
    "template", "svg", "iframe", "head", "title", "img", "video", "audio",
];
const SKIP_ROLES: &[&str] = &["navigation", "search", "banner", "contentinfo", "complementary"];
const SKIP_CLASSES: &[&str] = &[
    "headerlink",
    "hash-link",
    "sidebar",
    "sphinxsidebar",
    "sphinxsidebarwrapper",
    "related",
    "breadcrumb",
    "breadcrumbs",
    "navbar",
    "nav-wrapper",
    "nav-wide-wrapper",
    "nav-chapters",
    "mobile-nav",
    "menu-bar",
    "menu-wrapper",
    "search",
    "searchbox",
    "inline-search",
    "footer",
    "copybutton",
    "toc",
    "table-of-contents",
    "skip-link",
    "sr-only",
    "visually-hidden",
    "theme-doc-toc-mobile",
    "theme-edit-this-page",
    "pagination-nav",
    "theme-doc-footer",
];
const PERMALINK_TEXT: &[&str] = &["¶", "#", "§", "🔗", "\u{200b}"];
const ROOTS: &[&str] = &["main", "[role=main]", "div.body", "article", "#content", ".content", "body"];

/// Loads an HTML page (already decoded).
pub(crate) fn load(file: &DiscoveredFile, src: &str) -> LoadedDocument {
    let html = Html::parse_document(src);
    let root = ROOTS.iter().filter_map(|s| Selector::parse(s).ok()).find_map(|sel| html.select(&sel).next());
    let title = page_title(&html, root).unwrap_or_else(|| humanize(file.file_name()));
    let mut w = Walker::new(&title);
    if let Some(root) = root {
        w.walk(root);
    }
    w.flush();
    LoadedDocument {
        id: file.rel_path.clone(),
        source_path: file.path.clone(),
        format: Format::Html,
        title,
        sidebar_label: None,
        route: route::file_route(&file.rel_path),
        chapter: file.chapter.clone(),
        sidebar_position: None,
        sections: w.builder.finish(),
    }
}

/// First `h1` of the content, else its first heading, else `<title>`
/// without its site suffix.
fn page_title(html: &Html, root: Option<ElementRef<'_>>) -> Option<String> {
    for sel in ["h1", "h1, h2, h3, h4, h5, h6"] {
        let sel = Selector::parse(sel).ok()?;
        let found = root.and_then(|r| r.select(&sel).find(|h| !skip(*h))).map(inline_text);
        if let Some(t) = found.filter(|t| !t.is_empty()) {
            return Some(t);
        }
    }
    let sel = Selector::parse("title").ok()?;
    let raw = collapse(&html.select(&sel).next()?.text().collect::<String>());
    let cut = [" — ", " – ", " - ", " | "].iter().filter_map(|sep| raw.find(sep)).min().unwrap_or(raw.len());
    let t = raw[..cut].trim().to_string();
    (!t.is_empty()).then_some(t)
}

fn skip(el: ElementRef<'_>) -> bool {
    let e = el.value();
    if SKIP_TAGS.contains(&e.name()) {
        return true;
    }
    if e.attr("role").is_some_and(|r| SKIP_ROLES.contains(&r)) {
        return true;
    }
    if e.classes().any(|c| SKIP_CLASSES.contains(&c)) {
        return true;
    }
    e.name() == "a" && PERMALINK_TEXT.contains(&el.text().collect::<String>().trim())
}

/// Collapses whitespace runs into single spaces and trims.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Visible text of an element, skipping dropped nodes, whitespace collapsed.
fn inline_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    collect_text(el, &mut out);
    collapse(&out).trim_end_matches(['¶', '#']).trim().to_string()
}

fn collect_text(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(_) => {
                if let Some(c) = ElementRef::wrap(child).filter(|c| !skip(*c)) {
                    collect_text(c, out);
                }
            }
            _ => {}
        }
    }
}

/// Heading anchor (see module docs).
fn heading_anchor(el: ElementRef<'_>) -> Option<String> {
    if let Some(id) = el.value().id() {
        return Some(id.to_string());
    }
    for d in el.descendants().filter_map(ElementRef::wrap) {
        let v = d.value();
        if v.name() == "a" {
            if let Some(id) = v.id().or_else(|| v.attr("name")) {
                return Some(id.to_string());
            }
            if let Some(h) = v.attr("href").and_then(|h| h.strip_prefix('#')) {
                return Some(h.to_string());
            }
        }
    }
    let parent = el.parent().and_then(ElementRef::wrap)?;
    let first_heading =
        parent.children().filter_map(ElementRef::wrap).find(|c| heading_level(c.value().name()).is_some())?;
    let is_section = parent.value().name() == "section" || parent.value().classes().any(|c| c == "section");
    if is_section && first_heading.id() == el.id() { parent.value().id().map(str::to_string) } else { None }
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Language of a `pre` from `language-*`/`lang-*` or Sphinx `highlight-*`.
fn code_language(pre: ElementRef<'_>) -> String {
    let mut classes: Vec<&str> = pre.value().classes().collect();
    for d in pre.descendants().filter_map(ElementRef::wrap).take(3) {
        classes.extend(d.value().classes());
    }
    let mut up = pre.parent().and_then(ElementRef::wrap);
    for _ in 0..2 {
        if let Some(p) = up {
            classes.extend(p.value().classes());
            up = p.parent().and_then(ElementRef::wrap);
        }
    }
    classes
        .iter()
        .find_map(|c| {
            c.strip_prefix("language-").or_else(|| c.strip_prefix("lang-")).or_else(|| c.strip_prefix("highlight-"))
        })
        .filter(|l| !["default", "none", "text"].contains(l))
        .unwrap_or("")
        .to_string()
}

/// Renders a table as Markdown (first row is the header).
fn table_markdown(table: ElementRef<'_>) -> String {
    let (Ok(tr), Ok(cell)) = (Selector::parse("tr"), Selector::parse("th, td")) else {
        return String::new();
    };
    let mut lines = Vec::new();
    for (i, row) in table.select(&tr).enumerate() {
        let cells: Vec<String> = row.select(&cell).map(|c| inline_text(c).replace('|', "\\|")).collect();
        lines.push(format!("| {} |", cells.join(" | ")));
        if i == 0 {
            lines.push(format!("|{}", " --- |".repeat(cells.len().max(1))));
        }
    }
    lines.join("\n")
}

#[path = "html_walker.rs"]
mod walker;
use walker::Walker;

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
