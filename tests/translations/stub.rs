//! A stand-in translator speaking the OpenAI-compatible wire format (`POST
//! /v1/chat/completions`, non-streamed `chat.completion` JSON with usage). It records every
//! request and "translates" by upper-casing every letter outside the placeholder tokens, so a
//! test can tell translated prose (upper case) from protected spans (left as written). It can
//! be slowed down, or made to tamper with the tokens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// How the stub answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Upper-cases the prose, keeps every token.
    Faithful,
    /// Like `Faithful`, but drops the first placeholder token of each answer.
    DropsAToken,
    /// Answers HTTP 500.
    Fails,
}

#[derive(Debug)]
struct Shared {
    requests: Mutex<Vec<Value>>,
    behaviour: Mutex<Behaviour>,
    delay: Mutex<Duration>,
}

/// A running stub.
#[derive(Debug, Clone)]
pub struct TranslatorStub {
    pub url: String,
    shared: Arc<Shared>,
}

impl TranslatorStub {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            behaviour: Mutex::new(Behaviour::Faithful),
            delay: Mutex::new(Duration::ZERO),
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, shared }
    }

    /// The request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// The user turns (the Markdown pieces) received so far.
    pub fn pieces(&self) -> Vec<String> {
        self.requests().iter().map(|r| r["messages"][1]["content"].as_str().unwrap_or_default().to_owned()).collect()
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }
}

async fn complete(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> axum::response::Response {
    use axum::response::IntoResponse;
    shared.requests.lock().unwrap().push(body.clone());
    let (behaviour, delay) = (*shared.behaviour.lock().unwrap(), *shared.delay.lock().unwrap());
    tokio::time::sleep(delay).await;
    let piece = body["messages"][1]["content"].as_str().unwrap_or_default();
    let text = match behaviour {
        Behaviour::Fails => {
            let error = json!({"error": {"message": "upstream exploded"}});
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response();
        }
        Behaviour::Faithful => upper_outside_tokens(piece),
        Behaviour::DropsAToken => drop_first_token(&upper_outside_tokens(piece)),
    };
    let usage = json!({"prompt_tokens": 100, "completion_tokens": 80, "total_tokens": 180});
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage,
    }))
    .into_response()
}

/// Every letter outside `⟦…⟧` tokens upper-cased.
pub fn upper_outside_tokens(text: &str) -> String {
    let mut in_token = false;
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '⟦' => in_token = true,
            '⟧' => in_token = false,
            _ => {}
        }
        if in_token || c == '⟧' { out.push(c) } else { out.extend(c.to_uppercase()) }
    }
    out
}

fn drop_first_token(text: &str) -> String {
    match (text.find('⟦'), text.find('⟧')) {
        (Some(open), Some(close)) if open < close => format!("{}{}", &text[..open], &text[close + '⟧'.len_utf8()..]),
        _ => text.to_owned(),
    }
}
