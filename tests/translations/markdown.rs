//! What a translation keeps: front matter, code blocks, inline code, URLs, JSX, tables, glossary
//! terms and heading anchors byte-identical; prose and headings translated; long chapters cut
//! into several calls within the budget.

use crate::access_support::signup;
use crate::stub::{TranslatorStub, upper_outside_tokens};
use crate::support::{app_with, chapter_id, translate, translating_app, write_book};

#[tokio::test]
async fn code_links_markup_front_matter_and_glossary_survive_while_prose_and_headings_are_translated() {
    let (app, stub, _book) = translating_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let body = translate(&app, &reader, &id, "ur").await;

    let content = body["content"].as_str().unwrap();
    assert!(content.starts_with("---\ntitle: Nodes\nsidebar_position: 1\n---\n\n# NODES {#nodes}\n"), "{content}");
    for kept in [
        "[GUIDE](https://docs.ros.org/en/rolling/Concepts.html)",
        "VISIT https://ros.org/.",
        "A ROS 2 node IS A PROCESS",
        "`ros2 pkg create`",
        "```python\nimport rclpy  # a comment in English stays\nnode = rclpy.create_node(\"talker\")\n```",
        "<Tabs groupId=\"lang\">\n<TabItem value=\"py\">PYTHON NODES ARE SIMPLE.</TabItem>\n</Tabs>",
        "|------|---------|\n| `rate` | HOW OFTEN THE ROS 2 node PUBLISHES |",
        ":::tip KEEP IT SMALL\nONE NODE, ONE JOB.\n:::\n",
    ] {
        assert!(content.contains(kept), "{kept:?} not in:\n{content}");
    }
    let headings: Vec<&str> = content.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headings,
        [
            "# NODES {#nodes}",
            "## WRITING A NODE {#writing-a-node}",
            "## WRITING A NODE {#writing-a-node-1}",
            "## RUNNING A NODE {#running-a-node}",
            "### PARAMETERS {#params}"
        ]
    );
    assert_eq!((body["chapter_id"].as_str(), body["language"].as_str()), (Some(id.as_str()), Some("ur")));
    assert_eq!((body["model"].as_str(), body["from_cache"].as_bool()), (Some("gpt-4o-mini"), Some(false)));
    let pieces = stub.pieces().join("\n");
    assert!(!pieces.contains("rclpy") && !pieces.contains("https://") && !pieces.contains("title: Nodes"), "{pieces}");
}

#[tokio::test]
async fn every_call_is_the_documented_openai_request_with_the_translation_prompt() {
    let (app, stub, _book) = translating_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/02-topics.md").await;

    translate(&app, &reader, &id, "pt-br").await;

    let request = &stub.requests()[0];
    let language = docent::translate::Language::parse("pt-BR").unwrap();
    assert_eq!(request["model"], "gpt-4o-mini");
    assert_eq!(request["stream"], false);
    assert_eq!(request["temperature"], 0.0);
    assert_eq!(request["messages"][0]["role"], "system");
    assert_eq!(request["messages"][0]["content"], docent::translate::prompt::system(&language));
    assert_eq!(request["messages"][1]["role"], "user");
    assert_eq!(request["messages"][1]["content"], "# Topics\n\nTopics carry messages between nodes.");
    assert!(request["max_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_long_chapter_is_translated_section_by_section_each_call_within_the_budget() {
    let (stub, book) = (TranslatorStub::start().await, tempfile::tempdir().unwrap());
    write_book(book.path());
    let paragraph = "Robots sense the world and act on it with motors and code. ".repeat(4);
    let long: String = (1..=8).map(|i| format!("## Step {i}\n\n{paragraph}\n\n{paragraph}\n\n")).collect();
    std::fs::write(book.path().join("02-long.md"), format!("# Long\n\n{long}")).unwrap();
    let app = app_with(&stub, book.path(), |s| s.translate.section_chars = 700).await;
    let reader = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "02-long.md").await;

    let body = translate(&app, &reader, &id, "ur").await;

    let pieces = stub.pieces();
    assert!(pieces.len() >= 6, "{} calls", pieces.len());
    assert!(
        pieces.iter().all(|p| p.chars().count() <= 700),
        "{:?}",
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
    );
    let expected = format!("# LONG {{#long}}\n\n{}", upper_outside_tokens(&long));
    let expected = (1..=8)
        .fold(expected, |text, i| text.replace(&format!("## STEP {i}\n"), &format!("## STEP {i} {{#step-{i}}}\n")));
    assert_eq!(body["content"].as_str().unwrap(), expected);
}

#[tokio::test]
async fn translated_headings_carry_the_same_anchors_as_the_ingested_chunks_deep_links() {
    let (app, _stub, _book) = translating_app().await;
    let reader = signup(&app, "ada@example.com").await;
    let id = chapter_id(&app, "01-robots/01-nodes.md").await;

    let body = translate(&app, &reader, &id, "ur").await;

    let mut linked: Vec<String> =
        app.state.db.chunks_of(&id).await.unwrap().into_iter().filter_map(|c| c.anchor).collect();
    linked.dedup();
    let content = body["content"].as_str().unwrap();
    let anchors: Vec<&str> =
        content.lines().filter_map(|l| l.rsplit_once(" {#")).map(|(_, a)| a.trim_end_matches('}')).collect();
    assert!(!linked.is_empty());
    for anchor in &linked {
        assert!(anchors.contains(&anchor.as_str()), "citation anchor {anchor} missing from {anchors:?}");
    }
}
