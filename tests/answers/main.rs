//! Grounded answers end to end: the chat API (JSON and SSE), refusals, citations, selections,
//! follow-ups and conversation isolation, over the squad-dev book.

#[path = "../common/mod.rs"]
mod common;

mod background;
mod calibration;
mod chat;
mod cli;
mod conversations;
mod injection;
mod llm;
mod prompts;
mod providers;
mod rewrite;
mod selection;
mod streaming;
#[allow(dead_code)]
#[path = "../../src/llm/tests/stub.rs"]
mod stub;
mod study;
mod support;
mod upstream;
