//! Unit tests of protection, cutting and verification (no model, no database).

use super::protect::{Protected, token};
use super::sections::pieces;
use super::translator::edges;
use super::verify::{Rejection, restore};

fn terms() -> Vec<String> {
    vec!["ROS 2 node".into(), "Gazebo".into()]
}

/// The body reassembled from its pieces with every token restored, as a faithful "translation"
/// that changes nothing would.
fn identity(source: &str, budget: usize) -> String {
    let protected = Protected::new(source, &terms());
    let parts: Vec<String> = pieces(&protected.lines, budget)
        .iter()
        .map(|p| {
            let (prefix, core, suffix) = edges(&p.text);
            format!("{prefix}{}{suffix}", restore(core, p, &protected.spans).unwrap())
        })
        .collect();
    protected.front_matter + &parts.join("\n")
}

#[test]
fn code_urls_markup_and_glossary_terms_become_tokens_and_prose_stays() {
    let source = "Run `ros2 run` in a ROS 2 node; see [the docs](https://docs.ros.org \"Docs\") or https://x.io/a_(b).\n\
                  <Tabs groupId=\"os\">{/* note */} &nbsp;Gazebo ⟦P0⟧\n";
    let protected = Protected::new(source, &terms());
    let line = &protected.lines[0].text;
    assert_eq!(line, &format!("Run {} in a {}; see [the docs]{} or {}.", token(0), token(1), token(2), token(3)));
    assert_eq!(
        protected.spans[..4],
        ["`ros2 run`", "ROS 2 node", "(https://docs.ros.org \"Docs\")", "https://x.io/a_(b)"]
    );
    assert_eq!(protected.spans[4..], ["<Tabs groupId=\"os\">", "{/* note */}", "&nbsp;", "Gazebo", "⟦", "⟧"]);
}

#[test]
fn fenced_code_front_matter_and_tables_survive_byte_for_byte() {
    let source = "---\ntitle: Nodes\n---\n\n# Nodes\n\n```python\n# not a heading\nprint('hi')\n```\n\n| a | b |\n|---|:-:|\n| x | y |\n\n[ref]: https://r.io\n";
    let restored = identity(source, 6000);
    let expected = "---\ntitle: Nodes\n---\n\n# Nodes {#nodes}\n\n```python\n# not a heading\nprint('hi')\n```";
    assert!(restored.starts_with(expected), "{restored:?}");
    assert!(restored.ends_with("|---|:-:|\n| x | y |\n\n[ref]: https://r.io\n"), "{restored}");
}

#[test]
fn headings_keep_their_original_anchors_including_explicit_ids_and_duplicates() {
    let source = "## Setup\n\ntext\n\n## Setup\n\n### The `spin()` call ###\n\n## Custom {#my-id}\n";
    let protected = Protected::new(source, &[]);
    let anchors: Vec<&str> =
        protected.lines.iter().filter_map(|l| l.heading.as_ref()).map(|h| h.anchor.as_str()).collect();
    assert_eq!(anchors, ["setup", "setup-1", "the-spin-call", "my-id"]);
}

#[test]
fn setext_headings_become_anchored_headings_and_count_towards_duplicate_slugs() {
    let source = "Setup
=====

text
still text
---

Setup
-----

- a list item
---

Many
lines
===
";
    let protected = Protected::new(source, &[]);
    let headings: Vec<(&str, usize, &str)> = protected
        .lines
        .iter()
        .filter_map(|l| l.heading.as_ref().map(|h| (l.text.as_str(), h.level, h.anchor.as_str())))
        .collect();
    // "text\nstill text" over `---` is a two-line setext heading; the list item's `---` is a rule.
    assert_eq!(
        headings,
        [
            ("# Setup", 1, "setup"),
            ("## text still text", 2, "text-still-text"),
            ("## Setup", 2, "setup-1"),
            ("# Many lines", 1, "many-lines")
        ]
    );
}

#[test]
fn a_long_chapter_is_cut_at_headings_and_paragraphs_within_the_budget() {
    let paragraph = "word ".repeat(30);
    let source: String = (1..=6).map(|i| format!("## Part {i}\n\n{paragraph}\n\n{paragraph}\n\n")).collect();
    let protected = Protected::new(&source, &[]);
    let cut = pieces(&protected.lines, 200);
    assert!(cut.len() >= 6, "{}", cut.len());
    assert!(cut.iter().all(|p| p.text.chars().count() <= 200));
    let joined: Vec<&str> = cut.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(joined.join("\n").matches("## Part").count(), 6);
}

#[test]
fn a_missing_repeated_or_invented_placeholder_is_rejected() {
    let protected = Protected::new("Use `a` and `b`.", &[]);
    let piece = &pieces(&protected.lines, 6000)[0];
    let spans = &protected.spans;
    let (p0, p1) = (token(0), token(1));
    assert_eq!(restore(&format!("Nutze {p0}."), piece, spans), Err(Rejection::Missing(1)));
    assert_eq!(restore(&format!("{p0} {p1} {p1}"), piece, spans), Err(Rejection::Repeated(1, 2)));
    assert_eq!(restore(&format!("{p0} {p1} {}", token(7)), piece, spans), Err(Rejection::Unknown(7)));
    assert_eq!(restore(&format!("{p0} ⟦P1 {p1}"), piece, spans), Err(Rejection::Stray('⟦')));
    assert_eq!(restore(&format!("Nutze {p1} und {p0}."), piece, spans).unwrap(), "Nutze `b` und `a`.");
}

#[test]
fn a_lost_heading_is_rejected_and_a_wrapped_answer_is_unwrapped() {
    let protected = Protected::new("## Intro\n\nHello.", &[]);
    let piece = &pieces(&protected.lines, 6000)[0];
    let lost = restore("Einleitung\n\nHallo.", piece, &protected.spans);
    assert!(matches!(lost, Err(Rejection::Headings { .. })), "{lost:?}");
    let wrapped = restore("```markdown\n## Einleitung\n\nHallo.\n```", piece, &protected.spans).unwrap();
    assert_eq!(wrapped, "## Einleitung {#intro}\n\nHallo.");
}
