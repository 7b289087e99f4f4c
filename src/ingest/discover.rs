//! Finding the files of a book and their chapter structure.
//!
//! Each folder given to [`discover`] is a book root. Its top-level folders are
//! chapters (named and ordered by `_category_.json`/`.yml` `label` and
//! `position`, else the humanised folder name and number prefix); a top-level
//! file is a chapter of its own (titled by the document title at load time).
//!
//! Skipped while walking, as Docusaurus does: hidden entries, `_`-prefixed
//! entries, `node_modules`, `build`, `_build`, `.docusaurus`, and generated
//! index pages of doc sites (`genindex.html`, `search.html`, mdBook's
//! `print.html`, …). Other unsupported files are returned with
//! `format: None` so loading reports them as skips.
//!
//! Order is deterministic: at every folder level entries sort by position
//! (category `position`, `sidebar_position`, or number prefix; positioned
//! entries first), then by name.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Chapter, Format, humanize, markdown, route};

/// Generated pages of doc sites that are not content.
const GENERATED_PAGES: &[&str] =
    &["genindex.html", "search.html", "py-modindex.html", "print.html", "toc.html", "404.html"];

/// Folder names never walked.
const SKIPPED_DIRS: &[&str] = &["node_modules", "build", "_build", ".docusaurus", "target"];

/// Folder depth limit (guards against symlink loops).
const MAX_DEPTH: usize = 24;

/// A file to load, with its place in the book.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiscoveredFile {
    /// Path on disk.
    pub path: PathBuf,
    /// Path relative to the book root, `/`-separated (the document id).
    pub rel_path: String,
    /// Detected format; `None` = unsupported (reported when loading).
    pub format: Option<Format>,
    /// Chapter from the top-level folder; `None` for top-level files.
    pub chapter: Option<Chapter>,
    /// `sidebar_position` from front matter or the number prefix.
    pub sidebar_position: Option<f64>,
    /// True for files directly in the root (or given directly).
    pub top_level: bool,
    /// Rank of this file's chapter in the book.
    pub chapter_order: usize,
}

impl DiscoveredFile {
    /// The file's name: the last component of [`DiscoveredFile::rel_path`].
    pub fn file_name(&self) -> &str {
        self.rel_path.rsplit('/').next().unwrap_or(&self.rel_path)
    }

    /// A file given on its own: its own chapter, id = file name.
    pub fn single(path: PathBuf) -> Self {
        let rel_path =
            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        Self {
            format: Format::from_path(&path),
            sidebar_position: route::strip_number_prefix(&rel_path).1,
            path,
            rel_path,
            chapter: None,
            top_level: true,
            chapter_order: 0,
        }
    }
}

/// `_category_.json` / `_category_.yml` contents.
#[derive(Debug, Default, Deserialize)]
struct Category {
    label: Option<String>,
    position: Option<f64>,
}

/// One directory entry with its sort key.
struct Entry {
    path: PathBuf,
    name: String,
    is_dir: bool,
    position: Option<f64>,
    label: Option<String>,
}

/// Walks `paths` (files or folders) and returns the files in book order.
pub fn discover(paths: &[PathBuf]) -> Vec<DiscoveredFile> {
    let mut out = Vec::new();
    let mut chapter_order = 0;
    for path in paths {
        if path.is_dir() {
            for entry in entries(path) {
                walk_top(path, entry, chapter_order, &mut out);
                chapter_order += 1;
            }
        } else {
            let mut file = DiscoveredFile::single(path.clone());
            file.chapter_order = chapter_order;
            chapter_order += 1;
            out.push(file);
        }
    }
    out
}

fn walk_top(root: &Path, entry: Entry, order: usize, out: &mut Vec<DiscoveredFile>) {
    if entry.is_dir {
        let chapter =
            Chapter { label: entry.label.unwrap_or_else(|| humanize(&entry.name)), position: entry.position, order };
        walk_dir(root, &entry.path, &chapter, 1, out);
    } else {
        out.push(file_entry(root, &entry, None, order));
    }
}

fn walk_dir(root: &Path, dir: &Path, chapter: &Chapter, depth: usize, out: &mut Vec<DiscoveredFile>) {
    if depth > MAX_DEPTH {
        tracing::warn!("not descending into {}: deeper than {MAX_DEPTH} folders (symlink loop?)", dir.display());
        return;
    }
    for entry in entries(dir) {
        if entry.is_dir {
            walk_dir(root, &entry.path, chapter, depth + 1, out);
        } else {
            out.push(file_entry(root, &entry, Some(chapter.clone()), chapter.order));
        }
    }
}

fn file_entry(root: &Path, e: &Entry, chapter: Option<Chapter>, order: usize) -> DiscoveredFile {
    let rel = e.path.strip_prefix(root).unwrap_or(&e.path);
    let rel_path = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    DiscoveredFile {
        path: e.path.clone(),
        rel_path,
        format: Format::from_path(&e.path),
        top_level: chapter.is_none(),
        chapter,
        sidebar_position: e.position,
        chapter_order: order,
    }
}

fn skipped(name: &str, is_dir: bool) -> bool {
    name.starts_with('.')
        || name.starts_with('_')
        || (is_dir && SKIPPED_DIRS.contains(&name))
        || (!is_dir && GENERATED_PAGES.contains(&name))
}

/// The walkable entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<Entry> {
    let Ok(read) = std::fs::read_dir(dir) else {
        tracing::warn!("cannot read folder {}", dir.display());
        return Vec::new();
    };
    let mut list: Vec<Entry> = read
        .filter_map(Result::ok)
        .filter_map(|d| {
            let name = d.file_name().to_string_lossy().into_owned();
            let is_dir = d.path().is_dir();
            (!skipped(&name, is_dir)).then(|| entry(d.path(), name, is_dir))
        })
        .collect();
    list.sort_by(compare);
    list
}

fn entry(path: PathBuf, name: String, is_dir: bool) -> Entry {
    let prefix = route::strip_number_prefix(&name).1;
    let (position, label) = if is_dir {
        let cat = read_category(&path);
        (cat.position.or(prefix), cat.label)
    } else {
        (file_position(&path).or(prefix), None)
    };
    Entry { path, name, is_dir, position, label }
}

fn compare(a: &Entry, b: &Entry) -> Ordering {
    let pos = match (a.position, b.position) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    pos.then_with(|| a.name.cmp(&b.name))
}

/// `sidebar_position` from a Markdown file's front matter.
fn file_position(path: &Path) -> Option<f64> {
    if !matches!(Format::from_path(path), Some(Format::Markdown | Format::Mdx)) {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    markdown::parse_front_matter(&text).sidebar_position
}

fn read_category(dir: &Path) -> Category {
    if let Ok(text) = std::fs::read_to_string(dir.join("_category_.json")) {
        return serde_json::from_str(&text).unwrap_or_else(|err| {
            tracing::warn!("bad {}/_category_.json: {err}", dir.display());
            Category::default()
        });
    }
    for name in ["_category_.yml", "_category_.yaml"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
            return serde_norway::from_str(&text).unwrap_or_default();
        }
    }
    Category::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::test_support::fixture;

    #[test]
    fn docusaurus_book_order_and_chapters() {
        let files = discover(&[fixture("books/docusaurus")]);
        let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(
            rels,
            vec![
                "intro.md",
                "01-getting-started/index.md",
                "01-getting-started/02-install.mdx",
                "01-getting-started/configuration.md",
                "advanced/tabs-and-jsx.mdx",
                "advanced/reference.md",
                "advanced/img.svg",
            ]
        );
        let gs = files[1].chapter.as_ref().unwrap();
        assert_eq!(gs.label, "Getting Started");
        assert_eq!(files[4].chapter.as_ref().unwrap().label, "Advanced Topics");
        assert!(files[0].chapter.is_none() && files[0].top_level);
        assert_eq!(files[6].format, None);
        let orders: Vec<usize> = files.iter().map(|f| f.chapter_order).collect();
        assert_eq!(orders, vec![0, 1, 1, 1, 2, 2, 2]);
    }
}
