//! Grounded answers end to end: the chat API (JSON and SSE), refusals, citations, selections,
//! follow-ups and conversation isolation, over the squad-dev book.

#[path = "../common/mod.rs"]
mod common;

mod calibration;
mod chat;
mod cli;
mod conversations;
mod llm;
mod selection;
mod support;
