//! The translator's prompt: `prompts/translate.md` with the target language filled in as the
//! system prompt, and one piece of protected Markdown as the user turn. Temperature 0, and an
//! output cap sized from the piece (scripts such as Urdu take more tokens than English).

use super::language::Language;
use crate::llm::{ChatMessage, ChatRequest};

/// The template, as committed; `{language}` is the only substitution.
pub const TEMPLATE: &str = include_str!("../../prompts/translate.md");

/// The system prompt for `language`.
pub fn system(language: &Language) -> String {
    TEMPLATE.replace("{language}", &language.describe())
}

/// The chat request translating `piece` into `language`.
pub fn request(piece: &str, language: &Language) -> ChatRequest {
    ChatRequest {
        system: system(language),
        messages: vec![ChatMessage::user(piece)],
        documents: Vec::new(),
        max_tokens: Some(max_tokens(piece)),
        temperature: Some(0.0),
    }
}

/// Room for the translation: three tokens per four input characters, plus slack, capped.
fn max_tokens(piece: &str) -> u32 {
    let chars = u32::try_from(piece.chars().count()).unwrap_or(u32::MAX);
    chars.saturating_mul(3).div_ceil(4).saturating_add(256).min(32_000)
}
