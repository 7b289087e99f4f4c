//! Incremental parsing of streamed responses: Server-Sent Events (Cohere, OpenAI,
//! Anthropic) and newline-delimited JSON, fed with arbitrary byte chunks (lines and UTF-8
//! sequences may be split anywhere), plus [`drive`], which turns an HTTP response into a
//! [`ChatStream`] through a provider-specific [`Decoder`].
//!
//! No task is spawned: the stream owns the response body, so dropping it closes the
//! upstream connection.

use super::http::transport_error;
use super::{ChatStream, LlmError, StreamEvent};
use futures::StreamExt;
use std::collections::VecDeque;

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field (empty when absent).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Splits a byte stream into complete lines (without the `\n` / `\r\n`).
#[derive(Debug, Default)]
struct LineBuffer {
    buf: Vec<u8>,
}

impl LineBuffer {
    fn push(&mut self, chunk: &[u8], mut on_line: impl FnMut(&str)) {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            let line = &self.buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            on_line(&String::from_utf8_lossy(line));
            start = end + 1;
        }
        self.buf.drain(..start);
    }

    fn take_rest(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        (!rest.is_empty()).then(|| String::from_utf8_lossy(&rest).trim_end_matches('\r').to_owned())
    }
}

/// Incremental SSE parser (WHATWG event-stream rules; `id`/`retry` are ignored).
#[derive(Debug, Default)]
pub struct SseParser {
    lines: LineBuffer,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds a chunk, returning the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let (event, data) = (&mut self.event, &mut self.data);
        self.lines.push(chunk, |line| Self::line(event, data, line, &mut out));
        out
    }

    /// Flushes at end of input; an event without its terminating blank line is dispatched.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut out = Vec::new();
        if let Some(line) = self.lines.take_rest() {
            Self::line(&mut self.event, &mut self.data, &line, &mut out);
        }
        Self::line(&mut self.event, &mut self.data, "", &mut out);
        out.pop()
    }

    fn line(event: &mut String, data: &mut Vec<String>, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if !data.is_empty() {
                let data = std::mem::take(data).join("\n");
                out.push(SseEvent { event: std::mem::take(event), data });
            }
            event.clear();
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => *event = value.to_owned(),
            "data" => data.push(value.to_owned()),
            _ => {}
        }
    }
}

/// Incremental NDJSON parser: one JSON value per non-empty line.
#[derive(Debug, Default)]
pub struct NdjsonParser {
    lines: LineBuffer,
}

impl NdjsonParser {
    /// Feeds a chunk, returning the complete lines' values (or their parse errors).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Result<serde_json::Value, serde_json::Error>> {
        let mut out = Vec::new();
        self.lines.push(chunk, |line| {
            if !line.trim().is_empty() {
                out.push(serde_json::from_str(line));
            }
        });
        out
    }

    /// Parses a final line left without a newline.
    pub fn finish(&mut self) -> Option<Result<serde_json::Value, serde_json::Error>> {
        let rest = self.lines.take_rest()?;
        (!rest.trim().is_empty()).then(|| serde_json::from_str(&rest))
    }
}

/// Turns one provider's SSE events into [`StreamEvent`]s.
pub trait Decoder: Send + 'static {
    /// Handles one event; may yield several stream events.
    fn decode(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, LlmError>;
    /// Whether the terminal event was seen (a body ending before it is truncated).
    fn is_done(&self) -> bool;
}

struct Driver<D> {
    provider: String,
    resp: reqwest::Response,
    parser: SseParser,
    decoder: D,
    pending: VecDeque<StreamEvent>,
    finished: bool,
}

impl<D: Decoder> Driver<D> {
    /// Produces the next stream item, reading more of the body as needed.
    async fn next(mut self) -> Option<(Result<StreamEvent, LlmError>, Self)> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some((Ok(ev), self));
            }
            if self.finished {
                return None;
            }
            if let Err(e) = self.fill().await {
                self.finished = true;
                return Some((Err(e), self));
            }
        }
    }

    /// Reads one chunk and decodes the events it completes.
    async fn fill(&mut self) -> Result<(), LlmError> {
        let chunk = self.resp.chunk().await.map_err(|e| transport_error(&self.provider, &e))?;
        let events = match &chunk {
            Some(bytes) => self.parser.push(bytes),
            None => {
                self.finished = true;
                self.parser.finish().into_iter().collect()
            }
        };
        for event in events {
            if self.decoder.is_done() {
                break;
            }
            self.pending.extend(self.decoder.decode(event)?);
        }
        if self.decoder.is_done() {
            self.finished = true;
        } else if self.finished {
            return Err(LlmError::malformed(&self.provider, "stream ended before completion"));
        }
        Ok(())
    }
}

/// Streams `resp` (an SSE body) through `decoder`. Ends after the decoder's terminal event;
/// a body that ends before it yields a [`LlmError::Malformed`].
pub fn drive<D: Decoder>(provider: &str, resp: reqwest::Response, decoder: D) -> ChatStream {
    let driver = Driver {
        provider: provider.to_owned(),
        resp,
        parser: SseParser::default(),
        decoder,
        pending: VecDeque::new(),
        finished: false,
    };
    futures::stream::unfold(driver, Driver::next).boxed()
}

/// Parses an SSE `data` payload as JSON.
pub fn json(provider: &str, data: &str) -> Result<serde_json::Value, LlmError> {
    serde_json::from_str(data).map_err(|e| LlmError::malformed(provider, format!("bad event JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_survive_arbitrary_chunk_boundaries() {
        let text = "event: a\r\ndata: {\"x\":\"é\"}\r\n\r\n: comment\n\ndata: 1\ndata: 2\n\n";
        let bytes = text.as_bytes();
        for split in 1..bytes.len() {
            let mut p = SseParser::default();
            let mut out = p.push(&bytes[..split]);
            out.extend(p.push(&bytes[split..]));
            assert_eq!(out.len(), 2, "split at {split}");
            assert_eq!(out[0], SseEvent { event: "a".into(), data: "{\"x\":\"é\"}".into() });
            assert_eq!(out[1].data, "1\n2");
        }
    }

    #[test]
    fn an_unterminated_last_event_is_flushed_on_finish() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: [DONE]").is_empty());
        assert_eq!(p.finish().map(|e| e.data), Some("[DONE]".to_owned()));
    }

    #[test]
    fn ndjson_lines_are_parsed_one_by_one() {
        let mut p = NdjsonParser::default();
        let first = p.push(b"{\"a\":1}\n\n{\"b\"");
        assert_eq!(first.len(), 1);
        assert!(p.push(b":2}").is_empty());
        assert_eq!(p.finish().and_then(Result::ok), Some(serde_json::json!({"b": 2})));
    }
}
