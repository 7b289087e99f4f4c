//! Checking and restoring the model's output for one piece. Every placeholder token of the
//! piece must come back exactly once, no other token (or stray `⟦`/`⟧`) may appear, and the
//! headings must come back in the same order and levels. Only then are the tokens replaced by
//! the spans they stand for and each heading given its original anchor as `{#anchor}`;
//! anything else is a [`Rejection`] and the piece is translated again or the request fails.

use std::collections::HashMap;

use super::protect::{CLOSE, OPEN, heading_level};
use super::sections::Piece;

/// Why the model's output for a piece was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("placeholder ⟦P{0}⟧ is missing")]
    Missing(usize),
    #[error("placeholder ⟦P{0}⟧ appears {1} times")]
    Repeated(usize, usize),
    #[error("placeholder ⟦P{0}⟧ was never sent")]
    Unknown(usize),
    #[error("a stray {0} that is not part of a placeholder")]
    Stray(char),
    #[error("expected headings of levels {expected:?}, got {got:?}")]
    Headings { expected: Vec<usize>, got: Vec<usize> },
    #[error("the output was cut off at the length limit")]
    Truncated,
}

/// The restored Markdown of `piece` from the model's `output`.
pub fn restore(output: &str, piece: &Piece, spans: &[String]) -> Result<String, Rejection> {
    let output = unwrap_fence(output);
    let found = tokens(output)?;
    check_counts(&found, &piece.placeholders)?;
    let anchored = anchor_headings(output, piece)?;
    Ok(replace_tokens(&anchored, spans))
}

/// Drops a ```` ```markdown ```` wrapper the model may have put around its answer (the input
/// never starts with a fence: code blocks are placeholders).
fn unwrap_fence(output: &str) -> &str {
    let trimmed = output.trim();
    match (trimmed.strip_prefix("```"), trimmed.ends_with("```")) {
        (Some(rest), true) if trimmed.len() >= 6 => {
            let body = rest.split_once('\n').map_or("", |(_, b)| b);
            body.strip_suffix("```").unwrap_or(body).trim_matches('\n')
        }
        _ => output.trim_start_matches(['\n', '\r']).trim_end(),
    }
}

/// The placeholder indices in `text` with their counts; a bracket outside a token is refused.
fn tokens(text: &str) -> Result<HashMap<usize, usize>, Rejection> {
    let mut found = HashMap::new();
    let mut rest = text;
    while let Some(at) = rest.find([OPEN, CLOSE]) {
        let after = &rest[at..];
        let (index, len) = parse_token(after).ok_or(Rejection::Stray(after.chars().next().unwrap_or(OPEN)))?;
        *found.entry(index).or_insert(0) += 1;
        rest = &after[len..];
    }
    Ok(found)
}

/// `⟦P12⟧` at the start of `text`: (12, byte length).
fn parse_token(text: &str) -> Option<(usize, usize)> {
    let inner = text.strip_prefix(OPEN)?.strip_prefix('P')?;
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    let rest = inner[digits..].strip_prefix(CLOSE)?;
    let index = inner[..digits].parse().ok()?;
    Some((index, text.len() - rest.len()))
}

fn check_counts(found: &HashMap<usize, usize>, expected: &[usize]) -> Result<(), Rejection> {
    for index in expected {
        match found.get(index).copied().unwrap_or(0) {
            0 => return Err(Rejection::Missing(*index)),
            1 => {}
            n => return Err(Rejection::Repeated(*index, n)),
        }
    }
    match found.keys().find(|k| !expected.contains(k)) {
        Some(extra) => Err(Rejection::Unknown(*extra)),
        None => Ok(()),
    }
}

/// Gives the k-th heading line its original anchor, after checking the levels match.
fn anchor_headings(output: &str, piece: &Piece) -> Result<String, Rejection> {
    let got: Vec<usize> = output.lines().filter_map(heading_level).collect();
    let expected: Vec<usize> = piece.headings.iter().map(|h| h.level).collect();
    if got != expected {
        return Err(Rejection::Headings { expected, got });
    }
    let mut headings = piece.headings.iter();
    let lines: Vec<String> = output
        .lines()
        .map(|line| match (heading_level(line), headings.clone().next()) {
            (Some(_), Some(heading)) => {
                headings.next();
                let text = line.trim_end();
                let text = text.rfind(" {#").filter(|_| text.ends_with('}')).map_or(text, |at| &text[..at]);
                format!("{} {{#{}}}", text.trim_end(), heading.anchor)
            }
            _ => line.to_owned(),
        })
        .collect();
    Ok(lines.join("\n"))
}

/// Every token replaced by its span (tokens were all checked to be known).
fn replace_tokens(text: &str, spans: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        match parse_token(&rest[at..]) {
            Some((index, len)) if index < spans.len() => {
                out.push_str(&spans[index]);
                rest = &rest[at + len..];
            }
            _ => {
                out.push(OPEN);
                rest = &rest[at + OPEN.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}
