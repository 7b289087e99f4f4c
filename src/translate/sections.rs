//! Cutting a protected chapter into the pieces sent to the model, one call each. Sections start
//! at headings; consecutive sections are packed into one piece while it stays within the
//! character budget, and a section larger than the budget is cut between paragraphs (then, if
//! a paragraph alone is too large, between lines). Code blocks and URLs are placeholders by
//! now, so a cut can never fall inside them.

use std::ops::Range;

use super::protect::{Heading, Line};

/// A run of protected lines translated in one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The protected lines, joined by newlines.
    pub text: String,
    /// The placeholders the piece holds, in order.
    pub placeholders: Vec<usize>,
    /// Its headings, in order.
    pub headings: Vec<Heading>,
}

/// The pieces of `lines`, in order; joined with newlines their texts are the whole body.
pub fn pieces(lines: &[Line], budget: usize) -> Vec<Piece> {
    let mut atoms = Vec::new();
    for section in split_at(0..lines.len(), |i| lines[i].heading.is_some() && i > 0) {
        if size(lines, &section) <= budget {
            atoms.push(section);
            continue;
        }
        for paragraph in split_at(section, |i| i > 0 && lines[i - 1].text.trim().is_empty()) {
            if size(lines, &paragraph) <= budget {
                atoms.push(paragraph);
            } else {
                atoms.extend(paragraph.map(|i| i..i + 1));
            }
        }
    }
    pack(lines, atoms, budget).into_iter().map(|range| piece(lines, range)).collect()
}

/// Splits `range` before every index where `starts` holds.
fn split_at(range: Range<usize>, starts: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut begin = range.start;
    for i in range.clone() {
        if i > begin && starts(i) {
            parts.push(begin..i);
            begin = i;
        }
    }
    if begin < range.end {
        parts.push(begin..range.end);
    }
    parts
}

/// Characters of the lines in `range` joined by newlines.
fn size(lines: &[Line], range: &Range<usize>) -> usize {
    lines[range.clone()].iter().map(|l| l.text.chars().count() + 1).sum::<usize>().saturating_sub(1)
}

/// Greedily merges consecutive atoms while they fit the budget.
fn pack(lines: &[Line], atoms: Vec<Range<usize>>, budget: usize) -> Vec<Range<usize>> {
    let mut packed: Vec<Range<usize>> = Vec::new();
    for atom in atoms {
        match packed.last_mut() {
            Some(last) if size(lines, &(last.start..atom.end)) <= budget => last.end = atom.end,
            _ => packed.push(atom),
        }
    }
    packed
}

fn piece(lines: &[Line], range: Range<usize>) -> Piece {
    let lines = &lines[range];
    Piece {
        text: lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n"),
        placeholders: lines.iter().flat_map(|l| l.placeholders.iter().copied()).collect(),
        headings: lines.iter().filter_map(|l| l.heading.clone()).collect(),
    }
}
