//! The inline half of protection: scans one line of prose and hands every span the model must
//! not touch to `put`, which returns the placeholder token written in its place. Protected:
//! inline code, HTML/JSX tags and autolinks, `{…}` expressions, link and image targets,
//! reference labels, footnote references, bare URLs, HTML entities, glossary terms and the
//! placeholder brackets themselves.

use super::protect::{CLOSE, OPEN};

/// The protected form of `line`.
pub(super) fn protect_line(line: &str, glossary: &[String], put: &mut dyn FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let c = rest.chars().next().unwrap_or(' ');
        if let Some(len) = span_at(line, i, glossary) {
            out.push_str(&put(&line[i..i + len]));
            i += len;
        } else if c == ']'
            && let Some(len) = link_target(&rest[1..])
        {
            out.push(']');
            out.push_str(&put(&rest[1..1 + len]));
            i += 1 + len;
        } else {
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Length of the protected span starting at byte `i` of `line`, if one does.
fn span_at(line: &str, i: usize, glossary: &[String]) -> Option<usize> {
    let rest = &line[i..];
    let before = line[..i].chars().next_back();
    match rest.chars().next()? {
        '`' => Some(code_span(rest)),
        '<' => tag(rest),
        '{' => braces(rest),
        '&' => entity(rest),
        '[' if rest.starts_with("[^") => rest.find(']').map(|end| end + 1),
        c if c == OPEN || c == CLOSE => Some(c.len_utf8()),
        'h' | 'H' if !before.is_some_and(char::is_alphanumeric) => url(rest).or_else(|| term(rest, glossary)),
        _ if !before.is_some_and(char::is_alphanumeric) => term(rest, glossary),
        _ => None,
    }
}

/// A code span: a run of n backticks up to the next run of exactly n; an unclosed run alone.
fn code_span(rest: &str) -> usize {
    let n = rest.bytes().take_while(|b| *b == b'`').count();
    let mut j = n;
    while let Some(found) = rest[j..].find('`') {
        let start = j + found;
        let run = rest[start..].bytes().take_while(|b| *b == b'`').count();
        if run == n {
            return start + run;
        }
        j = start + run;
    }
    n
}

/// `<tag …>`, `</tag>`, `<Component />`, `<!-- … -->` or `<https://…>`, quotes respected.
fn tag(rest: &str) -> Option<usize> {
    let second = rest[1..].chars().next()?;
    if !(second.is_ascii_alphabetic() || second == '/' || second == '!') {
        return None;
    }
    if rest.starts_with("<!--") {
        return rest.find("-->").map(|end| end + 3);
    }
    let mut quote = None;
    for (j, c) in rest.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(j + 1),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// A balanced `{…}` on this line (JSX expressions, MDX comments, heading ids).
fn braces(rest: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (j, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `&name;`, `&#123;` or `&#x1F600;`.
fn entity(rest: &str) -> Option<usize> {
    let end = rest[1..].find(';')? + 1;
    let name = &rest[1..end];
    let ok = (1..=10).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#');
    ok.then_some(end + 1)
}

/// `(target "title")` or `[label]` right after a link's `]`.
fn link_target(after: &str) -> Option<usize> {
    let (open, close) = match after.chars().next()? {
        '(' => ('(', ')'),
        '[' => ('[', ']'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (j, c) in after.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(j + 1);
            }
        }
    }
    None
}

/// A bare `http(s)://` URL, without trailing punctuation or an unbalanced `)`.
fn url(rest: &str) -> Option<usize> {
    let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let mut end = rest.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`')).unwrap_or(rest.len());
    loop {
        let candidate = &rest[..end];
        let last = candidate.chars().next_back()?;
        let unbalanced = last == ')' && candidate.matches('(').count() < candidate.matches(')').count();
        if !(matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_') || unbalanced) {
            break;
        }
        end -= last.len_utf8();
    }
    (end > "https://".len()).then_some(end)
}

/// The longest glossary term starting here (ASCII case-insensitive) that ends a word.
fn term(rest: &str, glossary: &[String]) -> Option<usize> {
    glossary
        .iter()
        .filter(|t| {
            let n = t.len();
            rest.len() >= n
                && rest.is_char_boundary(n)
                && rest.as_bytes()[..n].eq_ignore_ascii_case(t.as_bytes())
                && !rest[n..].chars().next().is_some_and(char::is_alphanumeric)
        })
        .map(String::len)
        .max()
}
