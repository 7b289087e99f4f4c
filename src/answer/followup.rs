//! Follow-up questions: "and who succeeded him?" means nothing to the index on its own, so
//! the retrieval query borrows the key terms of the previous user questions. This heuristic is
//! the offline way; with a chat model configured, [`super::rewrite`] asks the model first.

use super::text::{is_follow_up, key_terms};
use crate::llm::{ChatMessage, Role};

/// Earlier user questions consulted, newest first, until one stands on its own.
const LOOKBACK: usize = 3;

/// The query to retrieve with: `message` itself, or, when it leans on earlier turns, the key
/// terms of the previous user questions followed by `message`.
pub fn retrieval_query(message: &str, history: &[ChatMessage]) -> String {
    if !is_follow_up(message) {
        return message.to_owned();
    }
    let mut borrowed: Vec<String> = Vec::new();
    for turn in history.iter().rev().filter(|m| m.role == Role::User).take(LOOKBACK) {
        let mut terms = key_terms(&turn.content);
        terms.retain(|t| !borrowed.iter().any(|b| b.eq_ignore_ascii_case(t)));
        terms.append(&mut borrowed);
        borrowed = terms;
        if !is_follow_up(&turn.content) {
            break;
        }
    }
    if borrowed.is_empty() { message.to_owned() } else { format!("{} {message}", borrowed.join(" ")) }
}
