//! Text helpers shared by the generators and the citation checker: sentence splitting,
//! whitespace normalisation, content-word extraction and lexical overlap.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Common English words that carry no topic (ignored by lexical overlap and query rewriting).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "during",
    "each",
    "for",
    "from",
    "had",
    "has",
    "have",
    "he",
    "her",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "many",
    "me",
    "more",
    "most",
    "much",
    "my",
    "name",
    "named",
    "no",
    "not",
    "of",
    "on",
    "one",
    "or",
    "other",
    "our",
    "she",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "type",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "called",
    "kind",
    "term",
    "two",
    "three",
    "first",
    "used",
    "use",
    "known",
    "usually",
    "typically",
    "give",
    "gave",
];

/// Words that point back at an earlier turn ("and who succeeded him?").
const ANAPHORS: &[&str] = &[
    "he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "this", "that", "these", "those", "there",
];

/// Collapses every run of whitespace to one space and trims.
pub fn normalize_ws(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower-cased word tokens (letters and digits).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// [`STOPWORDS`] as a set: every answer checks thousands of words against it.
static STOPWORD_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| STOPWORDS.iter().copied().collect());

fn is_stopword(word: &str) -> bool {
    STOPWORD_SET.contains(word)
}

/// A crude stem so "kings" matches "king" and "ruled" matches "rule".
fn stem(mut word: String) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if word.len() > suffix.len() + 3 && word.ends_with(suffix) {
            word.truncate(word.len() - suffix.len());
            break;
        }
    }
    word
}

/// A set of stemmed words (`foldhash`: these sets are built for every sentence compared).
pub type Terms = foldhash::HashSet<String>;

/// The stemmed content words of `text` (stopwords removed).
pub fn content_terms(text: &str) -> Terms {
    words(text).into_iter().filter(|w| !is_stopword(w)).map(stem).collect()
}

/// Content words of `text` in order of appearance, deduplicated, stopwords and anaphors removed.
pub fn key_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !is_stopword(&w.to_lowercase()))
        .filter(|w| seen.insert(w.to_lowercase()))
        .map(str::to_owned)
        .collect()
}

/// Whether `text` leans on an earlier turn: an anaphoric pronoun, or very few content words.
pub fn is_follow_up(text: &str) -> bool {
    let tokens = words(text);
    let anaphoric = tokens.iter().any(|w| ANAPHORS.contains(&w.as_str()));
    anaphoric || content_terms(text).len() <= 1 || tokens.first().is_some_and(|w| w == "and")
}

/// Fraction of `query` terms found in `terms` (0 when the query has none).
pub fn overlap(query: &Terms, terms: &Terms) -> f32 {
    if query.is_empty() {
        return 0.0;
    }
    query.iter().filter(|t| terms.contains(*t)).count() as f32 / query.len() as f32
}

/// Splits prose into sentences, keeping abbreviations and initials ("St.", "J. S. Bach") whole.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        let paragraph_end = c == '\n' && chars.get(i + 1) == Some(&'\n');
        if paragraph_end || (matches!(c, '.' | '?' | '!') && ends_sentence(&chars, i, &current)) {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let sentence = normalize_ws(current);
    if sentence.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
        out.push(sentence);
    }
    current.clear();
}

fn ends_sentence(chars: &[char], i: usize, current: &str) -> bool {
    let mut j = i + 1;
    while j < chars.len() && matches!(chars[j], '"' | '\'' | ')' | '”' | '’') {
        j += 1;
    }
    if j >= chars.len() {
        return true;
    }
    if !chars[j].is_whitespace() {
        return false;
    }
    let next = chars[j..].iter().find(|c| !c.is_whitespace());
    if !next.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '“' | '(')) {
        return false;
    }
    let last_word = current.trim_end_matches(['.', '?', '!', '"', '\'', ')']).rsplit(' ').next().unwrap_or("");
    let abbreviation = ["Mr", "Mrs", "Dr", "St", "Mt", "Jr", "Sr", "vs", "c", "ca", "e.g", "i.e", "U.S", "No"];
    !(last_word.chars().count() == 1 && last_word.chars().all(char::is_uppercase) || abbreviation.contains(&last_word))
}
