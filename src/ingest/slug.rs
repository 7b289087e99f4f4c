//! Heading slugs, as GitHub and Docusaurus generate them.
//!
//! This is the `github-slugger` algorithm (used by Docusaurus and GitHub):
//! lower-case the heading text, remove every character that is not a letter,
//! mark, number, connector punctuation (`_`), `-` or an ASCII space, then turn
//! each space into `-` (runs are *not* collapsed: `C++ & Rust` → `c--rust`).
//! Repeated slugs in one document get `-1`, `-2`, … suffixes via [`Slugger`].
//! Docusaurus' explicit `{#custom-id}` heading ids bypass the slugger and are
//! handled by the Markdown loader.

use std::collections::HashMap;

/// Returns true for characters that github-slugger keeps.
fn keeps(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_' || c == ' ' || is_mark_or_connector(c)
}

/// Combining marks (category M) and connector punctuation (Pc) not covered by
/// `char::is_alphanumeric`.
fn is_mark_or_connector(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{302A}'..='\u{302F}'
        | '\u{3099}'..='\u{309A}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{203F}'..='\u{2040}'
        | '\u{2054}'
        | '\u{FE33}'..='\u{FE34}'
        | '\u{FE4D}'..='\u{FE4F}'
        | '\u{FF3F}')
}

/// Slug of one heading text, without de-duplication.
/// For example `C++ & Rust: "quotes"` → `c--rust-quotes`.
pub fn slugify(text: &str) -> String {
    text.to_lowercase().chars().filter(|&c| keeps(c)).map(|c| if c == ' ' { '-' } else { c }).collect()
}

/// Per-document slug generator that de-duplicates like github-slugger:
/// `foo`, `foo-1`, `foo-2`, …
#[derive(Debug, Default, Clone)]
pub struct Slugger {
    occurrences: HashMap<String, usize>,
}

impl Slugger {
    /// A slugger with no slugs seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Unique slug for `text` within this document.
    pub fn slug(&mut self, text: &str) -> String {
        let original = slugify(text);
        let mut result = original.clone();
        while self.occurrences.contains_key(&result) {
            let count = self.occurrences.entry(original.clone()).or_insert(0);
            *count += 1;
            result = format!("{original}-{count}");
        }
        self.occurrences.insert(result.clone(), 0);
        result
    }

    /// Registers an explicit id (e.g. `{#custom-id}`) so later generated
    /// slugs do not collide with it.
    pub fn reserve(&mut self, id: &str) {
        self.occurrences.entry(id.to_string()).or_insert(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tricky_headings() {
        assert_eq!(slugify("C++ & Rust: \"quotes\""), "c--rust-quotes");
        assert_eq!(slugify("Hello 👋 World"), "hello--world");
        assert_eq!(slugify("🚀 Launch"), "-launch");
        assert_eq!(slugify("Über Straße"), "über-straße");
        assert_eq!(slugify("The `String` Type"), "the-string-type");
        assert_eq!(slugify("foo_bar-baz"), "foo_bar-baz");
        assert_eq!(slugify("What's new in v2.0?"), "whats-new-in-v20");
        assert_eq!(slugify("日本語 見出し"), "日本語-見出し");
        assert_eq!(slugify("a – b"), "a--b");
        assert_eq!(slugify("café"), "café");
    }

    #[test]
    fn duplicates_are_numbered() {
        let mut s = Slugger::new();
        assert_eq!(s.slug("Foo"), "foo");
        assert_eq!(s.slug("Foo"), "foo-1");
        assert_eq!(s.slug("foo"), "foo-2");
        assert_eq!(s.slug("Foo 1"), "foo-1-1");
        assert_eq!(s.slug("Bar"), "bar");
    }

    #[test]
    fn reserved_ids_are_skipped() {
        let mut s = Slugger::new();
        s.reserve("intro");
        assert_eq!(s.slug("Intro"), "intro-1");
    }
}
