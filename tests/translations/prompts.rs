//! The translator's prompt, pinned by a snapshot of the OpenAI-compatible request body for one
//! piece. After an intended change, regenerate with
//! `DOCENT_UPDATE_SNAPSHOTS=1 cargo test --test translations prompts` and review the diff of
//! `tests/fixtures/prompts/translate.json`.

use docent::llm::ProviderEndpoint;
use docent::llm::openai::OpenAiChat;
use docent::translate::{Language, prompt};

#[test]
fn the_translation_request_body_matches_its_snapshot() {
    docent::install_crypto_provider();
    let endpoint = ProviderEndpoint {
        api_key: Some("k".to_owned().into()),
        base_url: "http://127.0.0.1:1".into(),
        model: "gpt-4o-mini".into(),
    };
    let chat = OpenAiChat::new(reqwest::Client::new(), endpoint);
    let piece = "## Writing a node\n\nCreate it with ⟦P0⟧ and read [the guide]⟦P1⟧.\n\n⟦P2⟧";
    let request = prompt::request(piece, &Language::parse("ur").unwrap());

    let rendered = serde_json::to_string_pretty(&chat.body(&request, false)).unwrap() + "\n";

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prompts/translate.json");
    if std::env::var_os("DOCENT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(rendered, expected, "translate.json differs from its snapshot; see this module's doc to update it");
}
