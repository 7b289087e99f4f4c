//! Document ingestion: discovery, loading and chunking of book sources.
//!
//! Everything here is a pure function of the files on disk: no database, no
//! embedding. The pipeline is
//!
//! 1. [`discover()`] walks the given files/folders and returns
//!    [`DiscoveredFile`]s in book order, each with its chapter (the top-level
//!    folder, named by its `_category_.json`).
//! 2. [`load_file`] parses one file into a [`LoadedDocument`]: title, route,
//!    chapter and a list of [`Section`]s (one per heading), each made of
//!    [`Block`]s (paragraph, list, code, table, …). Markdown/MDX, HTML, PDF
//!    and plain text are supported; anything else is an [`IngestError`] that
//!    names the file and says why it was skipped.
//! 3. [`chunk_document`] cuts the sections into token-bounded [`Chunk`]s with
//!    deterministic ids, deep-link anchors and source offsets.
//!
//! [`load_paths`] runs steps 1 and 2 for a whole book.
//!
//! # Offsets
//! `start`/`end` on sections, blocks and chunks are **byte** offsets (always on
//! UTF-8 char boundaries) into the document's *source text*:
//! * Markdown/MDX and plain text: the file itself (front matter included);
//! * HTML: the extracted main-content text, i.e. all section texts joined by
//!   `"\n\n"` (html5ever exposes no source positions);
//! * PDF: the extracted text of the section's page (see [`Section::page`]).

mod builder;
pub mod chunker;
pub mod discover;
mod front_matter;
pub mod html;
pub mod jobs;
pub mod markdown;
mod mdx;
pub mod pdf;
pub mod rebuild;
pub mod records;
pub mod route;
pub mod slug;
mod split;
pub mod sync;
pub mod text;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use chunker::{Chunk, ChunkOptions, TokenCounter, chunk_document, chunk_id, embedding_text, whitespace_tokens};
pub use discover::{DiscoveredFile, discover};
pub use front_matter::FrontMatter;
pub use route::{chunk_url, document_url};
pub use slug::{Slugger, slugify};

/// Default size limit for one source file (bytes).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// The kind of source a document was loaded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CommonMark / GitHub-flavoured Markdown (`.md`, `.markdown`).
    Markdown,
    /// Docusaurus MDX (`.mdx`).
    Mdx,
    /// Generated HTML pages (`.html`, `.htm`, `.xhtml`).
    Html,
    /// PDF, one section per page.
    Pdf,
    /// Plain text (`.txt`, `.text`, `.rst`, `.adoc`).
    Text,
}

impl Format {
    /// Detects the format from a file extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Self::Markdown),
            "mdx" => Some(Self::Mdx),
            "html" | "htm" | "xhtml" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            "txt" | "text" | "rst" | "adoc" => Some(Self::Text),
            _ => None,
        }
    }
}

/// A chapter of the book: a top-level folder or a top-level file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chapter {
    /// Display name (`_category_.json` `label`, else the humanised folder
    /// name; for a top-level file, the document title).
    pub label: String,
    /// Explicit position (`_category_.json` `position`, `sidebar_position`,
    /// or a `01-` number prefix), if any.
    pub position: Option<f64>,
    /// 0-based rank of the chapter in book order (deterministic).
    pub order: usize,
}

/// What a block of text is; lets the chunker avoid cutting code and tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Running text.
    Paragraph,
    /// A list (Markdown) or one list item / definition (HTML).
    List,
    /// A fenced code block, kept whole with its fence and language.
    Code,
    /// A table rendered as Markdown text.
    Table,
    /// A block quote or admonition body.
    Quote,
}

/// One block of a section.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    /// Block kind.
    pub kind: BlockKind,
    /// Cleaned text of the block.
    pub text: String,
    /// Byte offset of the block in the source text (see module docs).
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// True when `text` is exactly `source[start..end]`, so sub-ranges of the
    /// text map to exact source offsets.
    pub verbatim: bool,
}

/// The content under one heading (up to the next heading of any level).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Section {
    /// Titles from the document title down to this section's heading.
    pub heading_path: Vec<String>,
    /// Deep-link fragment (without `#`) of the innermost heading, if any.
    pub anchor: Option<String>,
    /// The blocks' texts joined by blank lines.
    pub text: String,
    /// The blocks, in order.
    pub blocks: Vec<Block>,
    /// 1-based page number (PDF only).
    pub page: Option<u32>,
    /// Byte offset of the first block in the source text.
    pub start: usize,
    /// End byte offset of the last block (exclusive).
    pub end: usize,
}

/// One parsed source file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadedDocument {
    /// Stable document id: the path relative to the discovered root, with
    /// `/` separators (e.g. `guides/01-setup.md`).
    pub id: String,
    /// Path of the file on disk.
    pub source_path: PathBuf,
    /// Source format.
    pub format: Format,
    /// Document title (front matter `title`, else first heading, else the
    /// humanised file name).
    pub title: String,
    /// Front matter `sidebar_label`, if any.
    pub sidebar_label: Option<String>,
    /// URL path of the document relative to the site base, starting with
    /// `/` (Docusaurus routing rules for Markdown; the file path for others).
    pub route: String,
    /// Chapter the document belongs to.
    pub chapter: Option<Chapter>,
    /// Position inside the chapter (`sidebar_position` or number prefix).
    pub sidebar_position: Option<f64>,
    /// Sections in document order; empty sections are dropped.
    pub sections: Vec<Section>,
}

impl LoadedDocument {
    /// A document whose id, route, chapter and position all come from its file (plain text,
    /// PDF): no front matter to say otherwise.
    fn from_file(file: &DiscoveredFile, format: Format, title: String, sections: Vec<Section>) -> Self {
        let name = file.file_name();
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        Self {
            id: file.rel_path.clone(),
            source_path: file.path.clone(),
            format,
            title,
            sidebar_label: None,
            route: route::file_route(&file.rel_path),
            chapter: file.chapter.clone(),
            sidebar_position: route::strip_number_prefix(stem).1,
            sections,
        }
    }
}

/// Why a file was not loaded. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read.
    #[error("skipped {path}: unreadable: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file extension is not one of the supported formats.
    #[error("skipped {path}: unsupported file type")]
    Unsupported {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than the configured limit.
    #[error("skipped {path}: {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file contains NUL bytes or is not valid UTF-8.
    #[error("skipped {path}: binary or not valid UTF-8")]
    Binary {
        /// The file.
        path: PathBuf,
    },
    /// The parser failed (or panicked) on this file.
    #[error("skipped {path}: could not parse: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file parsed but holds no text.
    #[error("skipped {path}: no text content")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl IngestError {
    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::Unsupported { path }
            | Self::TooLarge { path, .. }
            | Self::Binary { path }
            | Self::Parse { path, .. }
            | Self::Empty { path } => path,
        }
    }
}

/// Options for [`load_file`].
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Files larger than this many bytes are skipped.
    pub max_file_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { max_file_bytes: DEFAULT_MAX_FILE_BYTES }
    }
}

/// Reads a file, enforcing the size limit.
pub(crate) fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, IngestError> {
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > limit {
        return Err(IngestError::TooLarge { path: path.to_path_buf(), size: meta.len(), limit });
    }
    std::fs::read(path).map_err(io)
}

/// Decodes bytes as UTF-8 text, rejecting NUL bytes; strips a BOM.
pub(crate) fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<String, IngestError> {
    let binary = || IngestError::Binary { path: path.to_path_buf() };
    if bytes.contains(&0) {
        return Err(binary());
    }
    let mut text = String::from_utf8(bytes).map_err(|_| binary())?;
    if text.starts_with('\u{feff}') {
        // Replace rather than remove so byte offsets stay file offsets.
        text.replace_range(..3, "   ");
    }
    Ok(text)
}

/// Loads one discovered file. Never panics (a panicking parser is caught and
/// reported as [`IngestError::Parse`]); failures name the file.
pub fn load_file(file: &DiscoveredFile, opts: &LoadOptions) -> Result<LoadedDocument, IngestError> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_inner(file, opts)));
    result
        .unwrap_or_else(|_| Err(IngestError::Parse { path: file.path.clone(), message: "loader panicked".to_string() }))
}

fn load_inner(file: &DiscoveredFile, opts: &LoadOptions) -> Result<LoadedDocument, IngestError> {
    let Some(format) = file.format else {
        return Err(IngestError::Unsupported { path: file.path.clone() });
    };
    let bytes = read_bytes(&file.path, opts.max_file_bytes)?;
    let mut doc = match format {
        Format::Markdown | Format::Mdx => markdown::load(file, format, &decode_text(&file.path, bytes)?),
        Format::Html => html::load(file, &decode_text(&file.path, bytes)?),
        Format::Text => text::load(file, &decode_text(&file.path, bytes)?),
        Format::Pdf => pdf::load(file, &bytes)?,
    };
    if doc.sections.is_empty() {
        return Err(IngestError::Empty { path: file.path.clone() });
    }
    if doc.chapter.is_none() && file.top_level {
        doc.chapter =
            Some(Chapter { label: doc.title.clone(), position: doc.sidebar_position, order: file.chapter_order });
    }
    Ok(doc)
}

/// Discovers and loads every file under `paths`, in book order.
///
/// Returns the loaded documents and the skipped files (with reasons).
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> (Vec<LoadedDocument>, Vec<IngestError>) {
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    for file in discover(paths) {
        match load_file(&file, opts) {
            Ok(doc) => docs.push(doc),
            Err(err) => {
                // Assets (images, CSS, JS) are expected next to docs.
                if matches!(err, IngestError::Unsupported { .. }) {
                    tracing::debug!("{err}");
                } else {
                    tracing::warn!("{err}");
                }
                skipped.push(err);
            }
        }
    }
    (docs, skipped)
}

/// Turns a file or folder name into a readable label: number prefix and
/// extension dropped, `-`/`_` to spaces, first letter upper-cased.
pub(crate) fn humanize(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let stem = route::strip_number_prefix(stem).0;
    let spaced: String = stem.chars().map(|c| if c == '-' || c == '_' { ' ' } else { c }).collect();
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the ingest unit tests.
    use std::path::{Path, PathBuf};

    /// Path of a file under `tests/fixtures`.
    pub fn fixture(p: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(p)
    }

    /// The development book (`DOCENT_SQUAD_DIR` or `../shared/eval/squad-dev` beside the crate).
    /// Its absence fails the test: it ships with the repository's shared files.
    pub fn squad_book() -> PathBuf {
        let root = std::env::var_os("DOCENT_SQUAD_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/squad-dev"));
        let book = root.join("book");
        assert!(book.is_dir(), "{} is missing (set DOCENT_SQUAD_DIR)", book.display());
        book
    }

    /// A file from a Debian documentation package; `make test` installs the package.
    pub fn required_file(path: &str, package: &str) -> PathBuf {
        let path = PathBuf::from(path);
        assert!(path.exists(), "{} is missing: `apt-get install {package}` (make test does)", path.display());
        path
    }
}

#[cfg(test)]
mod tests;
