//! Settings of chapter translations: the glossary of terms kept as-is, how long a reader's
//! request grants access, and the translator's per-call budget and parallelism.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;

/// Longest glossary term accepted, in characters.
pub const MAX_TERM_CHARS: usize = 100;
/// Most glossary terms accepted.
pub const MAX_TERMS: usize = 500;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TranslateSettings {
    /// Terms kept exactly as written in the chapter (e.g. `ROS 2 node`).
    pub glossary: Vec<String>,
    /// Days a reader's request grants access to a translation.
    pub expiry_days: u32,
    /// Budget of one translation call, in characters of protected Markdown.
    pub section_chars: usize,
    /// Sections of one chapter translated concurrently.
    pub parallel_sections: usize,
}

impl Default for TranslateSettings {
    fn default() -> Self {
        Self { glossary: Vec::new(), expiry_days: 30, section_chars: 6000, parallel_sections: 2 }
    }
}

impl TranslateSettings {
    /// The glossary, trimmed, without empty or repeated terms.
    pub fn terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = Vec::new();
        for term in self.glossary.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if !terms.iter().any(|t| t.eq_ignore_ascii_case(term)) {
                terms.push(term.to_owned());
            }
        }
        terms
    }
}

/// Checks the glossary: at most [`MAX_TERMS`] single-line terms of at most [`MAX_TERM_CHARS`].
pub(super) fn validate(settings: &TranslateSettings) -> Result<(), ConfigError> {
    let invalid = |got: &str| ConfigError::Invalid {
        name: "DOCENT_TRANSLATE__GLOSSARY".into(),
        expected: format!(
            "a comma-separated list of at most {MAX_TERMS} terms, each one line of at most {MAX_TERM_CHARS} characters"
        ),
        got: got.to_owned(),
    };
    if settings.glossary.len() > MAX_TERMS {
        return Err(invalid(&format!("{} terms", settings.glossary.len())));
    }
    match settings.glossary.iter().find(|t| t.chars().count() > MAX_TERM_CHARS || t.contains(['\n', '\r'])) {
        Some(term) => Err(invalid(term)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glossary_terms_are_trimmed_and_deduplicated_ignoring_case() {
        let settings = TranslateSettings {
            glossary: vec![" ROS 2 node ".into(), "".into(), "ros 2 node".into()],
            ..Default::default()
        };
        assert_eq!(settings.terms(), ["ROS 2 node"]);
    }

    #[test]
    fn an_overlong_term_is_refused_naming_the_variable() {
        let settings = TranslateSettings { glossary: vec!["x".repeat(101)], ..Default::default() };
        let err = validate(&settings).unwrap_err().to_string();
        assert!(err.contains("DOCENT_TRANSLATE__GLOSSARY") && err.contains("100 characters"), "{err}");
    }
}
