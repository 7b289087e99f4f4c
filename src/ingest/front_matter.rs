//! YAML front matter of Markdown/MDX files.
//!
//! Parsed with `serde_norway`, the maintained fork of the archived
//! `serde_yaml` (same API, RustSec-clean; `serde_yml` is flagged unsound by
//! RUSTSEC-2025-0068 and `saphyr` has no stable serde layer yet). Only `id`,
//! `title`, `slug`, `sidebar_position` and `sidebar_label` are read; other
//! keys are ignored, numbers are accepted where strings are expected, and
//! malformed YAML is logged and treated as absent, never fatal.

use serde::Serialize;

/// The front matter keys Docent uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FrontMatter {
    /// Document id (replaces the file name in the route).
    pub id: Option<String>,
    /// Document title.
    pub title: Option<String>,
    /// Route override (absolute or relative).
    pub slug: Option<String>,
    /// Order inside the sidebar category.
    pub sidebar_position: Option<f64>,
    /// Sidebar label.
    pub sidebar_label: Option<String>,
}

/// Splits YAML front matter off: returns (yaml, byte offset of the body).
pub fn split_front_matter(src: &str) -> (Option<&str>, usize) {
    let lead = src.len() - src.trim_start_matches(' ').len();
    let rest = &src[lead..];
    let Some(after) = rest.strip_prefix("---") else {
        return (None, 0);
    };
    let Some(nl) = after.find('\n') else {
        return (None, 0);
    };
    if !after[..nl].trim().is_empty() {
        return (None, 0);
    }
    let yaml_start = lead + 3 + nl + 1;
    let mut pos = yaml_start;
    for line in src[yaml_start..].split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            return (Some(&src[yaml_start..pos]), pos + line.len());
        }
        pos += line.len();
    }
    (None, 0)
}

/// Parses the front matter of a Markdown text (lenient).
pub fn parse_front_matter(src: &str) -> FrontMatter {
    let Some(yaml) = split_front_matter(src).0 else {
        return FrontMatter::default();
    };
    let value: serde_norway::Value = match serde_norway::from_str(yaml) {
        Ok(v) => v,
        Err(err) => {
            tracing::warn!("ignoring malformed front matter: {err}");
            return FrontMatter::default();
        }
    };
    let text = |k: &str| match value.get(k)? {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    FrontMatter {
        id: text("id"),
        title: text("title"),
        slug: text("slug"),
        sidebar_position: value
            .get("sidebar_position")
            .and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))),
        sidebar_label: text("sidebar_label"),
    }
}
