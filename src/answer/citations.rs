//! Citations: a numbered quote from a retrieved chunk with the metadata to deep-link it.
//! Every quote is checked to appear verbatim (whitespace-normalised) in its chunk; a citation
//! failing the check is dropped and counted, never shown.

use serde::{Deserialize, Serialize};

use super::text::normalize_ws;
use crate::retrieve::SearchHit;

/// Words of the quote put in the URL text fragment (`#:~:text=`).
const FRAGMENT_WORDS: usize = 8;

/// One source behind an answer, referenced in the text as `[n]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Citation {
    pub n: usize,
    pub chunk_id: String,
    pub document_id: String,
    pub title: String,
    pub heading_path: String,
    pub url: Option<String>,
    pub quote: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub page: Option<u32>,
}

impl Citation {
    /// A citation of `quote` from `hit`, its URL pointing at the quote's first words.
    pub fn from_hit(n: usize, hit: &SearchHit, quote: &str) -> Self {
        Citation {
            n,
            chunk_id: hit.chunk_id.clone(),
            document_id: hit.document_id.clone(),
            title: hit.title.clone(),
            heading_path: hit.heading_path.clone(),
            url: hit.url.as_deref().map(|url| with_text_fragment(url, quote)),
            quote: normalize_ws(quote),
            page: hit.page,
        }
    }
}

/// Whether `quote` occurs in `chunk_text`, whitespace-normalised.
pub fn quote_is_verbatim(quote: &str, chunk_text: &str) -> bool {
    let quote = normalize_ws(quote);
    !quote.is_empty() && normalize_ws(chunk_text).contains(&quote)
}

/// Keeps the citations whose quote occurs in the chunk they name (looked up in `chunks`);
/// the others are dropped and counted in `docent_citations_dropped_total`.
pub fn verify(citations: Vec<Citation>, chunks: &[SearchHit]) -> Vec<Citation> {
    let (kept, dropped): (Vec<_>, Vec<_>) = citations
        .into_iter()
        .partition(|c| chunks.iter().any(|hit| hit.chunk_id == c.chunk_id && quote_is_verbatim(&c.quote, &hit.text)));
    if !dropped.is_empty() {
        metrics::counter!("docent_citations_dropped_total").increment(dropped.len() as u64);
        tracing::warn!(dropped = dropped.len(), "dropped citations whose quote is not in the cited chunk");
    }
    kept
}

/// Renumbers `kept` 1, 2, … in order and rewrites the `[n]` markers of `text` to match; markers of
/// citations that are gone are removed with the space before them.
pub fn renumber(text: &str, mut kept: Vec<Citation>) -> (String, Vec<Citation>) {
    let mapping: Vec<(usize, usize)> = kept.iter().enumerate().map(|(i, c)| (c.n, i + 1)).collect();
    for (i, c) in kept.iter_mut().enumerate() {
        c.n = i + 1;
    }
    let text = rewrite_markers(text, |old| mapping.iter().find(|(from, _)| *from == old).map(|(_, new)| *new));
    (text, kept)
}

/// Removes the `[n]` markers of `text` that no citation in `kept` carries (numbers unchanged, so
/// text already streamed to a reader keeps matching its citations).
pub fn drop_unknown_markers(text: &str, kept: &[Citation]) -> String {
    rewrite_markers(text, |n| kept.iter().any(|c| c.n == n).then_some(n))
}

/// Rewrites each `[n]` marker to `[map(n)]`, or removes it (with the space before) on `None`.
fn rewrite_markers(text: &str, map: impl Fn(usize) -> Option<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let close = rest[open..].find(']').map(|c| open + c);
        let number = close.and_then(|c| rest[open + 1..c].parse::<usize>().ok());
        match (close, number) {
            (Some(close), Some(old)) => {
                match map(old) {
                    Some(new) => out.push_str(&format!("{}[{new}]", &rest[..open])),
                    None => out.push_str(rest[..open].trim_end()),
                }
                rest = &rest[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `url` with a text fragment for the start of `quote` (`#anchor:~:text=…` or `#:~:text=…`).
pub fn with_text_fragment(url: &str, quote: &str) -> String {
    let start: Vec<&str> = quote.split_whitespace().take(FRAGMENT_WORDS).collect();
    let encoded = percent_encode(start.join(" ").trim_end_matches(['.', ',', ';', ':']));
    let base = url.split_once(":~:").map_or(url, |(b, _)| b);
    if base.contains('#') { format!("{base}:~:text={encoded}") } else { format!("{base}#:~:text={encoded}") }
}

/// Percent-encodes everything except unreserved characters (text fragments reserve `-`, `,`, `&`).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str) -> SearchHit {
        SearchHit {
            chunk_id: "c1".into(),
            document_id: "d1".into(),
            title: "Normans".into(),
            heading_path: "Normans".into(),
            url: Some("/normans#origins".into()),
            text: text.into(),
            score: 1.0,
            page: None,
            cosine: Some(0.5),
            chapter: None,
        }
    }

    #[test]
    fn a_forged_quote_is_dropped_and_a_real_one_kept() {
        let chunk = hit("Rollo agreed to swear  fealty\nto King Charles III.");
        let real = Citation::from_hit(1, &chunk, "Rollo agreed to swear fealty to King Charles III.");
        let forged = Citation { n: 2, quote: "Rollo conquered England.".into(), ..real.clone() };
        let kept = verify(vec![real.clone(), forged], &[chunk]);
        assert_eq!(kept, vec![real]);
    }

    #[test]
    fn renumbering_removes_the_markers_of_dropped_citations() {
        let chunk = hit("One. Two.");
        let second = Citation::from_hit(2, &chunk, "Two.");
        let (text, kept) = renumber("One. [1] Two. [2]", vec![second]);
        assert_eq!(text, "One. Two. [1]");
        assert_eq!(kept[0].n, 1);
    }

    #[test]
    fn the_text_fragment_follows_an_existing_anchor() {
        let url = with_text_fragment("/normans#origins", "Rollo, the leader - of raiders");
        assert_eq!(url, "/normans#origins:~:text=Rollo%2C%20the%20leader%20%2D%20of%20raiders");
        assert_eq!(with_text_fragment("/normans", "Rollo"), "/normans#:~:text=Rollo");
    }
}
