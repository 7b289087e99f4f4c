//! A scripted stub HTTP server (axum on port 0) that records every request and answers
//! with queued replies: JSON, raw text, or SSE chunks paced in time.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with a status and extra headers.
    Json(u16, Value, Vec<(&'static str, String)>),
    /// A raw body (e.g. malformed JSON).
    Raw(u16, &'static str),
    /// An SSE body: each chunk is sent after `gap`; with `hold`, the connection then stays
    /// open sending keep-alive comments every 50 ms.
    Sse { chunks: Vec<String>, gap: Duration, hold: bool },
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self::Json(200, body, Vec::new())
    }
    pub fn sse(chunks: Vec<String>) -> Self {
        Self::Sse { chunks, gap: Duration::ZERO, hold: false }
    }
}

#[derive(Debug, Default)]
struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    closed: Arc<AtomicBool>,
}

/// A running stub.
#[derive(Debug, Clone)]
pub struct Stub {
    pub url: String,
    shared: Arc<Shared>,
}

impl Stub {
    /// Starts a stub answering with `replies` in order (the last one repeats).
    pub async fn start(replies: Vec<Reply>) -> Self {
        let shared = Arc::new(Shared { replies: Mutex::new(replies.into()), ..Default::default() });
        let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// Whether a held SSE body was dropped by the server (client went away).
    pub fn stream_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let recorded = Recorded { method, path: uri.path().to_owned(), headers, body };
    shared.requests.lock().unwrap().push(recorded);
    let reply = {
        let mut replies = shared.replies.lock().unwrap();
        if replies.len() > 1 { replies.pop_front() } else { replies.front().cloned() }
    };
    match reply.expect("stub has no reply") {
        Reply::Json(status, body, headers) => {
            let mut resp = Response::builder().status(status).header("content-type", "application/json");
            for (k, v) in headers {
                resp = resp.header(k, v);
            }
            resp.body(Body::from(body.to_string())).unwrap()
        }
        Reply::Raw(status, text) => Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", "application/json")
            .body(Body::from(text))
            .unwrap(),
        Reply::Sse { chunks, gap, hold } => sse_response(chunks, gap, hold, Arc::clone(&shared.closed)),
    }
}

/// Sets the flag when the body stream is dropped (hyper drops it when the client is gone).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn sse_response(chunks: Vec<String>, gap: Duration, hold: bool, closed: Arc<AtomicBool>) -> Response {
    let state = (VecDeque::from(chunks), DropFlag(closed));
    let stream = futures::stream::unfold(state, move |(mut chunks, flag)| async move {
        if let Some(chunk) = chunks.pop_front() {
            tokio::time::sleep(gap).await;
            return Some((Ok::<_, std::convert::Infallible>(chunk), (chunks, flag)));
        }
        if !hold {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        Some((Ok(": keep-alive\n\n".to_owned()), (chunks, flag)))
    });
    Response::builder().header("content-type", "text/event-stream").body(Body::from_stream(stream)).unwrap()
}

/// One SSE frame, with an `event:` line when `event` is given.
pub fn frame(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}
