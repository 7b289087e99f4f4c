//! BM25 side: turning arbitrary user text into a safe FTS5 `MATCH` expression.
//!
//! User text is never handed to the FTS5 query parser as-is (`C++ "foo" AND NOT
//! -x *` would be a syntax error or change meaning). Instead it is split into
//! words on every non-alphanumeric character (the same boundaries as the
//! `unicode61` tokenizer), lowercased, de-duplicated, stripped of English stop
//! words (unless nothing else remains), and each word is emitted as a quoted
//! string, the strings joined with `OR`. Quoted strings go through the table's
//! tokenizer, so the porter stemmer applies to query terms as well; a word that
//! is an FTS keyword (`AND`, `NEAR`...) is inert inside quotes.
//!
//! Dropping stop words does not change BM25 much (their IDF is tiny) but keeps
//! FTS5 from scoring nearly every row for an `OR` of `the`, `of`, `is`.
//!
//! Quality on the squad-dev book (126 paragraphs, 473 answerable questions,
//! `tests_eval`): hit@1 0.846, hit@5 0.977, vs 0.797 / 0.958 for plain Okapi
//! BM25. Without the stop list: 0.841 / 0.977 at twice the query time; heading
//! column weight 0 / 0.5 / 1.0: hit@1 0.844 / 0.846 / 0.841 (0.5 kept).

/// Upper bound on query terms (longer inputs are truncated).
const MAX_TERMS: usize = 64;

/// Small English stop list (function words only; no content words).
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being",
    "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "during", "each", "for", "from",
    "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "itself", "me", "my", "of", "on", "or", "our", "ours", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to",
    "too", "under", "until", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "whom", "whose", "why", "will", "with", "would", "you", "your", "yours",
];

/// Lowercased words of `text`, split on non-alphanumeric characters.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Safe FTS5 `MATCH` expression for `text`, or `None` if it has no words.
pub fn match_expression(text: &str) -> Option<String> {
    let mut all = words(text);
    let mut seen = std::collections::HashSet::new();
    all.retain(|w| seen.insert(w.clone()));
    let content: Vec<&String> = all.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).collect();
    let chosen: Vec<&String> = if content.is_empty() { all.iter().collect() } else { content };
    if chosen.is_empty() {
        return None;
    }
    let quoted: Vec<String> =
        chosen.into_iter().take(MAX_TERMS).map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
    Some(quoted.join(" OR "))
}

/// Text indexed in the `heading` FTS column: payload `title` and `heading_path`
/// (a string or an array of strings), joined with " / ".
pub fn heading_text(payload: &serde_json::Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    for key in ["title", "heading_path"] {
        match payload.get(key) {
            Some(serde_json::Value::String(s)) => parts.push(s.clone()),
            Some(serde_json::Value::Array(items)) => {
                parts.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            _ => {}
        }
    }
    parts.join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_becomes_quoted_or_terms() {
        let expr = match_expression(r#"C++ "foo" AND NOT -x * NEAR(a b)"#).unwrap();
        assert_eq!(expr, r#""c" OR "foo" OR "not" OR "x" OR "near" OR "b""#);
    }

    #[test]
    fn stop_words_dropped_unless_nothing_remains() {
        assert_eq!(match_expression("What is the Norman?").unwrap(), r#""norman""#);
        assert_eq!(match_expression("to be or not").unwrap(), r#""not""#);
        assert_eq!(match_expression("The The").unwrap(), r#""the""#);
        assert_eq!(match_expression("  *** -- \"\" "), None);
    }

    #[test]
    fn heading_text_joins_title_and_path() {
        let p = serde_json::json!({"title": "Book", "heading_path": ["Part I", "Ch 2"]});
        assert_eq!(heading_text(&p), "Book / Part I / Ch 2");
        assert_eq!(heading_text(&serde_json::json!({"page": 3})), "");
    }
}
