//! Target languages: BCP 47 tags such as `ur`, `pt-BR` or `zh-Hant`, checked and put in their
//! canonical case (`pt-br` → `pt-BR`), with an English name for the prompt when one is known.

use std::fmt;

/// A checked, canonically cased language tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

/// What a valid tag looks like, for 422 messages.
pub const EXPECTED: &str = "a BCP 47 language tag: a 2-3 letter language, then optionally a 4-letter script, a 2-letter or 3-digit region and variants (e.g. ur, pt-BR, zh-Hant)";

impl Language {
    /// Parses `raw` (`_` is accepted for `-`); `Err` says what a tag looks like.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 35 {
            return Err(EXPECTED.to_owned());
        }
        let mut parts = raw.split(['-', '_']);
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(EXPECTED.to_owned());
        }
        let mut tag = primary.to_ascii_lowercase();
        let mut stage = 0;
        for part in parts {
            let (next, canonical) = subtag(part, stage).ok_or_else(|| EXPECTED.to_owned())?;
            stage = next;
            tag.push('-');
            tag.push_str(&canonical);
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `Urdu (ur)` for known languages, else the tag itself.
    pub fn describe(&self) -> String {
        let primary = self.0.split('-').next().unwrap_or_default();
        match NAMES.iter().find(|(code, _)| *code == primary) {
            Some((_, name)) => format!("{name} ({})", self.0),
            None => self.0.clone(),
        }
    }
}

/// Classifies a subtag after the stage reached so far (0 language, 1 script, 2 region,
/// 3 variants): returns the new stage and the canonically cased subtag.
fn subtag(part: &str, stage: u8) -> Option<(u8, String)> {
    let alpha = part.bytes().all(|b| b.is_ascii_alphabetic());
    let digits = part.bytes().all(|b| b.is_ascii_digit());
    let alnum = part.bytes().all(|b| b.is_ascii_alphanumeric());
    match part.len() {
        4 if stage < 1 && alpha => {
            let mut script = part.to_ascii_lowercase();
            script[..1].make_ascii_uppercase();
            Some((1, script))
        }
        2 if stage < 2 && alpha => Some((2, part.to_ascii_uppercase())),
        3 if stage < 2 && digits => Some((2, part.to_owned())),
        5..=8 if alnum => Some((3, part.to_ascii_lowercase())),
        4 if part.as_bytes()[0].is_ascii_digit() && alnum => Some((3, part.to_ascii_lowercase())),
        _ => None,
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const NAMES: &[(&str, &str)] = &[
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("cs", "Czech"),
    ("de", "German"),
    ("el", "Greek"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fa", "Persian"),
    ("fr", "French"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("hu", "Hungarian"),
    ("id", "Indonesian"),
    ("it", "Italian"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("ms", "Malay"),
    ("nl", "Dutch"),
    ("pa", "Punjabi"),
    ("pl", "Polish"),
    ("ps", "Pashto"),
    ("pt", "Portuguese"),
    ("ro", "Romanian"),
    ("ru", "Russian"),
    ("sd", "Sindhi"),
    ("sv", "Swedish"),
    ("sw", "Swahili"),
    ("ta", "Tamil"),
    ("te", "Telugu"),
    ("th", "Thai"),
    ("tr", "Turkish"),
    ("uk", "Ukrainian"),
    ("ur", "Urdu"),
    ("vi", "Vietnamese"),
    ("zh", "Chinese"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_accepted_in_any_case_and_returned_canonically() {
        for (raw, canonical) in [("ur", "ur"), ("pt-br", "pt-BR"), ("ZH_hant", "zh-Hant"), ("es-419", "es-419")] {
            assert_eq!(Language::parse(raw).unwrap().as_str(), canonical);
        }
        assert_eq!(Language::parse("sr-Latn-RS").unwrap().as_str(), "sr-Latn-RS");
    }

    #[test]
    fn anything_else_is_refused_with_what_a_tag_looks_like() {
        for raw in ["", "u", "urdu", "ur-", "en-US-US", "../etc", "ur PK", "é"] {
            assert!(Language::parse(raw).unwrap_err().contains("BCP 47"), "{raw:?}");
        }
    }

    #[test]
    fn known_languages_are_named_for_the_prompt() {
        assert_eq!(Language::parse("ur").unwrap().describe(), "Urdu (ur)");
        assert_eq!(Language::parse("qaa").unwrap().describe(), "qaa");
    }
}
