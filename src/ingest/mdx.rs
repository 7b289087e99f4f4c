//! Length-preserving MDX/Docusaurus pre-pass for the Markdown loader.
//!
//! Instead of deleting text (which would break source offsets), syntax that
//! CommonMark does not know is overwritten with spaces, so the masked text has
//! exactly the same byte length and line structure as the file:
//! * YAML front matter;
//! * top-level `import`/`export` statements;
//! * JSX component tags (`<Tabs>`, `</TabItem>`, `<Foo />`, `<>`), and
//!   `{/* comments */}`; text between tags is kept, and lines inside a JSX
//!   element are de-indented (indent moved to the line end) so MDX content
//!   indented under a component does not become an indented code block;
//! * admonition fences `:::note Title` / `:::` (ranges are returned so the
//!   loader can prefix their content with e.g. `Note: `).
//!
//! Fenced code blocks and inline code spans are left untouched.

/// An admonition's content range and its label (`Note`, `Tip (Title)`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Admonition {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// Result of [`mask`].
#[derive(Debug)]
pub(crate) struct Masked {
    pub text: String,
    pub admonitions: Vec<Admonition>,
}

/// Per-line scanner state.
#[derive(Default)]
struct State {
    fence: Option<(u8, usize)>,
    open: Vec<(usize, usize, String)>,
    admonitions: Vec<Admonition>,
    jsx_depth: usize,
    in_tag: bool,
    in_esm: bool,
}

/// Masks `source`; bytes before `body_start` (front matter) are blanked.
pub(crate) fn mask(source: &str, body_start: usize) -> Masked {
    let mut out = String::with_capacity(source.len());
    let mut st = State::default();
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let masked =
            if offset < body_start { blank(body) } else { mask_line(body, offset, offset + line.len(), &mut st) };
        debug_assert_eq!(masked.len(), body.len());
        out.push_str(&masked);
        out.push_str(eol);
        offset += line.len();
    }
    for (_, start, label) in st.open.drain(..) {
        st.admonitions.push(Admonition { start, end: source.len(), label });
    }
    Masked { text: out, admonitions: st.admonitions }
}

fn blank(s: &str) -> String {
    " ".repeat(s.len())
}

/// Opening code fence: (char, run length).
fn fence_of(trimmed: &str) -> Option<(u8, usize)> {
    let c = *trimmed.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = trimmed.bytes().take_while(|&b| b == c).count();
    (n >= 3).then_some((c, n))
}

fn mask_line(line: &str, start: usize, next: usize, st: &mut State) -> String {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if let Some((c, n)) = st.fence {
        let closes =
            fence_of(trimmed).is_some_and(|(c2, n2)| c2 == c && n2 >= n && trimmed.trim_end().bytes().all(|b| b == c));
        if closes {
            st.fence = None;
        }
        return dedent_in_jsx(line, st);
    }
    if (indent <= 3 || st.jsx_depth > 0)
        && let Some(f) = fence_of(trimmed)
    {
        st.fence = Some(f);
        return dedent_in_jsx(line, st);
    }
    if let Some(masked) = admonition_line(trimmed, line, start, next, st) {
        return masked;
    }
    if st.in_esm || (indent == 0 && is_esm(trimmed)) {
        st.in_esm = esm_continues(trimmed.trim_end(), st.in_esm);
        return blank(line);
    }
    let masked = mask_jsx(line, st);
    dedent_in_jsx(&masked, st)
}

/// Whether a (possibly multi-line) ESM statement goes on after this line.
fn esm_continues(t: &str, continuing: bool) -> bool {
    if t.starts_with("import") && !continuing {
        return !(t.contains(" from ") || t.ends_with(';') || t.contains("import '") || t.contains("import \""));
    }
    if continuing {
        let ends = t.contains(" from ") || t.ends_with(';') || t.starts_with(['}', ')', ']']);
        return !ends;
    }
    t.ends_with(['{', '(', '['])
}

fn is_esm(t: &str) -> bool {
    let import =
        t.starts_with("import ") && (t.contains(" from ") || t.contains('\'') || t.contains('"') || t.ends_with('{'));
    let export = ["export const ", "export default ", "export function ", "export let ", "export {"]
        .iter()
        .any(|p| t.starts_with(p));
    import || export
}

/// Handles `:::kind Title`, `:::kind[Title]` and closing `:::` lines.
fn admonition_line(trimmed: &str, line: &str, start: usize, next: usize, st: &mut State) -> Option<String> {
    let colons = trimmed.bytes().take_while(|&b| b == b':').count();
    if colons < 3 {
        return None;
    }
    let rest = trimmed[colons..].trim();
    if rest.is_empty() {
        let (_, content_start, label) = st.open.pop()?;
        st.admonitions.push(Admonition { start: content_start, end: start, label });
        return Some(blank(line));
    }
    let kind: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
    if kind.is_empty() {
        return None;
    }
    let title = rest[kind.len()..].trim().trim_start_matches('[').split([']', '{']).next().unwrap_or("").trim();
    let mut label = crate::ingest::humanize(&kind);
    if !title.is_empty() {
        label = format!("{label} ({title})");
    }
    st.open.push((colons, next, label));
    Some(blank(line))
}

/// Blanks JSX tags of capitalised components/fragments and MDX comments.
fn mask_jsx(line: &str, st: &mut State) -> String {
    let bytes = line.as_bytes();
    let mut out = line.as_bytes().to_vec();
    let mut i = 0;
    let mut in_code = false;
    if st.in_tag {
        match line.find('>') {
            Some(p) => {
                out[..=p].fill(b' ');
                st.in_tag = false;
                if p > 0 && bytes[p - 1] != b'/' {
                    st.jsx_depth += 1;
                }
                i = p + 1;
            }
            None => return blank(line),
        }
    }
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'`' {
            in_code = !in_code;
        } else if !in_code && b == b'{' && line[i..].starts_with("{/*") {
            let end = line[i..].find("*/}").map_or(bytes.len(), |p| i + p + 3);
            out[i..end].fill(b' ');
            i = end;
            continue;
        } else if !in_code && b == b'<' && is_jsx_start(bytes, i) {
            let end = tag_end(line, i, st);
            out[i..end].fill(b' ');
            i = end;
            continue;
        }
        i += 1;
    }
    // Only ASCII bytes were overwritten with ASCII spaces, so this is valid.
    String::from_utf8(out).unwrap_or_else(|_| line.to_string())
}

fn is_jsx_start(bytes: &[u8], i: usize) -> bool {
    let next = bytes.get(i + 1).copied();
    // `Vec<String>` is not JSX, but `text</Foo>` closes one.
    let prev_ok = i == 0 || next == Some(b'/') || !bytes[i - 1].is_ascii_alphanumeric();
    let name = if next == Some(b'/') { bytes.get(i + 2).copied() } else { next };
    prev_ok && matches!(name, Some(c) if c.is_ascii_uppercase() || c == b'>')
}

/// End (exclusive) of the tag starting at `i`; updates JSX depth.
fn tag_end(line: &str, i: usize, st: &mut State) -> usize {
    let closing = line[i + 1..].starts_with('/');
    match line[i..].find('>') {
        Some(p) => {
            let self_closing = p > 0 && line.as_bytes()[i + p - 1] == b'/';
            if closing {
                st.jsx_depth = st.jsx_depth.saturating_sub(1);
            } else if !self_closing {
                st.jsx_depth += 1;
            }
            i + p + 1
        }
        None => {
            st.in_tag = true;
            line.len()
        }
    }
}

/// Inside a JSX element, moves leading indentation to the end of the line.
fn dedent_in_jsx(line: &str, st: &State) -> String {
    if st.jsx_depth == 0 {
        return line.to_string();
    }
    let trimmed = line.trim_start_matches([' ', '\t']);
    let pad = line.len() - trimmed.len();
    format!("{trimmed}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_preserving_length() {
        let src = "---\nid: x\n---\nimport Tabs from '@theme/Tabs';\n\n:::tip Pro tip\nUse `Vec<String>`.\n:::\n\n<Tabs>\n    <TabItem value=\"a\">\n    Apple text\n    </TabItem>\n</Tabs>\n```js\n<Foo />\n```\n";
        let body = src.find("import").unwrap();
        let m = mask(src, body);
        assert_eq!(m.text.len(), src.len());
        assert!(!m.text.contains("id: x"));
        assert!(!m.text.contains("import"));
        assert!(!m.text.contains(":::"));
        assert!(m.text.contains("Use `Vec<String>`."));
        assert!(!m.text.contains("<Tabs>"));
        assert!(m.text.contains("\nApple text"));
        assert!(m.text.contains("<Foo />"));
        assert_eq!(m.admonitions.len(), 1);
        assert_eq!(m.admonitions[0].label, "Tip (Pro tip)");
        let a = &m.admonitions[0];
        assert_eq!(&src[a.start..a.end], "Use `Vec<String>`.\n");
    }

    #[test]
    fn bracket_titles_and_inline_components() {
        let src = ":::note[Heads up]\nSee <Highlight color=\"red\">this</Highlight> now.\n:::\n";
        let m = mask(src, 0);
        assert_eq!(m.admonitions[0].label, "Note (Heads up)");
        assert!(m.text.contains("this"));
        assert!(!m.text.contains("Highlight"), "{}", m.text);
    }
}
