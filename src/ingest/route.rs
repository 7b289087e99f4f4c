//! Document routes and deep-link URLs.
//!
//! Markdown/MDX routes follow Docusaurus' docs plugin:
//! * folder and file names lose their number prefix (`01-intro` → `intro`,
//!   but not dates like `2024-01-02` or versions like `1.2`);
//! * front matter `slug` wins: absolute (`/x/y`) as is, relative (`y`,
//!   `../y`) resolved against the document's folder;
//! * else a category index (`index`, `README`, or a file named like its
//!   folder) maps to the folder route;
//! * else the folder route + front matter `id` (or the unprefixed file name).
//!
//! Other formats use their path relative to the root, extension included
//! (`/tutorial/controlflow.html`), which is how generated sites are served.
//! A document's URL is `base + route`; a chunk's is that plus `#anchor`.

use super::LoadedDocument;

/// Splits a Docusaurus number prefix off a file or folder name.
///
/// Returns `(name_without_prefix, prefix_number)`.
pub fn strip_number_prefix(name: &str) -> (&str, Option<f64>) {
    if looks_like_date_or_version(name) {
        return (name, None);
    }
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (name, None);
    }
    let rest = &name[digits..];
    let after_sep = rest.trim_start_matches(|c: char| c.is_whitespace());
    let seps = after_sep.bytes().take_while(|b| matches!(b, b'-' | b'_' | b'.')).count();
    if seps == 0 {
        return (name, None);
    }
    let suffix = after_sep[seps..].trim_start();
    match suffix.chars().next() {
        Some(c) if !matches!(c, '-' | '_' | '.') => (suffix, name[..digits].parse().ok()),
        _ => (name, None),
    }
}

/// `2024-01-02-post` and `1.2-notes` keep their prefix in Docusaurus.
fn looks_like_date_or_version(name: &str) -> bool {
    let b = name.as_bytes();
    let num = |from: usize| b[from.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
    let sep = |i: usize| b.get(i).is_some_and(|c| matches!(c, b'-' | b'_' | b'.'));
    let a = num(0);
    if a == 0 || !sep(a) {
        return false;
    }
    let m = num(a + 1);
    if b[a] == b'.' && m > 0 {
        return true;
    }
    (2..=4).contains(&a) && m == 2 && sep(a + 3) && num(a + 4) == 2
}

/// Collapses `.`/`..`/empty segments; the result starts with `/`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Docusaurus route of a Markdown document relative to the docs root.
///
/// `rel_path` uses `/` separators (e.g. `02-guides/01-setup.md`).
pub fn markdown_route(rel_path: &str, id: Option<&str>, slug: Option<&str>) -> String {
    let mut parts: Vec<&str> = rel_path.split('/').filter(|s| !s.is_empty()).collect();
    let file = parts.pop().unwrap_or_default();
    let dirs: Vec<&str> = parts.iter().map(|d| strip_number_prefix(d).0).collect();
    let dir_route = format!("/{}", dirs.join("/"));
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let unprefixed = strip_number_prefix(stem).0;
    if let Some(slug) = slug.map(str::trim).filter(|s| !s.is_empty()) {
        return if slug.starts_with('/') { normalize(slug) } else { normalize(&format!("{dir_route}/{slug}")) };
    }
    let lower = unprefixed.to_lowercase();
    let is_index = lower == "index" || lower == "readme" || dirs.last().is_some_and(|d| d.to_lowercase() == lower);
    if is_index {
        return normalize(&dir_route);
    }
    let base_id = id.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(unprefixed);
    normalize(&format!("{dir_route}/{base_id}"))
}

/// Route of a non-Markdown file: its relative path, spaces percent-encoded.
pub fn file_route(rel_path: &str) -> String {
    normalize(&rel_path.replace(' ', "%20"))
}

/// Absolute (or root-relative, without a base) URL of a document.
pub fn document_url(base: Option<&str>, doc: &LoadedDocument) -> String {
    match base.map(|b| b.trim_end_matches('/')) {
        Some(b) => format!("{b}{}", doc.route),
        None => doc.route.clone(),
    }
}

/// Deep link to a chunk or section: the document URL plus `#anchor`.
pub fn chunk_url(document_url: &str, anchor: Option<&str>) -> String {
    match anchor {
        Some(a) if !a.is_empty() => format!("{document_url}#{a}"),
        _ => document_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_prefixes() {
        assert_eq!(strip_number_prefix("01-intro"), ("intro", Some(1.0)));
        assert_eq!(strip_number_prefix("2 - Setup"), ("Setup", Some(2.0)));
        assert_eq!(strip_number_prefix("10_x"), ("x", Some(10.0)));
        assert_eq!(strip_number_prefix("2024-01-02-post").0, "2024-01-02-post");
        assert_eq!(strip_number_prefix("1.2-notes").0, "1.2-notes");
        assert_eq!(strip_number_prefix("intro").0, "intro");
        assert_eq!(strip_number_prefix("42").0, "42");
    }

    #[test]
    fn docusaurus_routes() {
        assert_eq!(markdown_route("intro.md", None, None), "/intro");
        assert_eq!(markdown_route("01-guides/02-setup.mdx", None, None), "/guides/setup");
        assert_eq!(markdown_route("guides/index.md", None, None), "/guides");
        assert_eq!(markdown_route("guides/README.md", None, None), "/guides");
        assert_eq!(markdown_route("guides/guides.md", None, None), "/guides");
        assert_eq!(markdown_route("index.md", None, None), "/");
        assert_eq!(markdown_route("guides/a.md", Some("custom"), None), "/guides/custom");
        assert_eq!(markdown_route("guides/a.md", Some("x"), Some("/abs/y")), "/abs/y");
        assert_eq!(markdown_route("guides/a.md", None, Some("rel")), "/guides/rel");
        assert_eq!(markdown_route("guides/a.md", None, Some("../up")), "/up");
        assert_eq!(markdown_route("a.md", None, Some("/")), "/");
    }

    #[test]
    fn urls() {
        assert_eq!(chunk_url("https://b.example/docs/x", Some("y")), "https://b.example/docs/x#y");
        assert_eq!(chunk_url("/x", None), "/x");
        assert_eq!(file_route("a b/c.html"), "/a%20b/c.html");
    }
}
