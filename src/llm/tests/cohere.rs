//! Cohere v2 wire format: `/v2/chat` (plain and SSE) and `/v2/rerank`.

use super::stub::{Reply, Stub, frame};
use super::{client, collect, endpoint, question};
use crate::llm::cohere::{CohereChat, CohereReranker, Reranker};
use crate::llm::{ChatModel, Citation, StreamEvent, Usage};
use serde_json::json;

fn chat(stub: &Stub) -> CohereChat {
    CohereChat::new(client(), endpoint(&stub.url, Some("co-key"), "command-a-03-2025"))
}

fn citation_json() -> serde_json::Value {
    json!({"start": 0, "end": 6, "text": "Docent", "type": "TEXT_CONTENT",
        "sources": [{"type": "document", "id": "doc-1",
            "document": {"id": "doc-1", "title": "Intro", "text": "Docent is a RAG backend."}}]})
}

fn expected_citation() -> Citation {
    Citation { start: 0, end: 6, text: "Docent".into(), document_ids: vec!["doc-1".into()] }
}

#[tokio::test]
async fn a_grounded_chat_sends_documents_and_returns_citations() {
    let stub = Stub::start(vec![Reply::ok(json!({
        "id": "c1", "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "Docent is a RAG backend."}],
            "citations": [citation_json()]},
        "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 6},
            "tokens": {"input_tokens": 50, "output_tokens": 7}}
    }))])
    .await;

    let resp = chat(&stub).chat(question()).await.unwrap();

    assert_eq!(resp.text, "Docent is a RAG backend.");
    assert_eq!(resp.citations, vec![expected_citation()]);
    assert_eq!(resp.usage, Some(Usage { prompt_tokens: 50, completion_tokens: 7 }));
    assert_eq!(resp.finish_reason.as_deref(), Some("COMPLETE"));
    let req = &stub.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/v2/chat"));
    assert_eq!(req.header("authorization"), Some("Bearer co-key"));
    assert_eq!(req.body["model"], "command-a-03-2025");
    assert_eq!(req.body["stream"], false);
    assert_eq!(req.body["messages"][0], json!({"role": "system", "content": "Answer from the book."}));
    assert_eq!(req.body["messages"][1], json!({"role": "user", "content": "What is Docent?"}));
    assert_eq!(
        req.body["documents"][0],
        json!({"id": "doc-1", "data": {"title": "Intro", "text": "Docent is a RAG backend."}})
    );
    assert_eq!(req.body["max_tokens"], 200);
}

pub fn stream_frames() -> Vec<String> {
    vec![
        frame(
            Some("message-start"),
            &json!({"id": "c1", "type": "message-start",
            "delta": {"message": {"role": "assistant", "content": [], "citations": []}}}),
        ),
        frame(
            Some("content-start"),
            &json!({"type": "content-start", "index": 0,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        ),
        frame(
            Some("content-delta"),
            &json!({"type": "content-delta", "index": 0,
            "delta": {"message": {"content": {"text": "Docent"}}}}),
        ),
        frame(
            Some("content-delta"),
            &json!({"type": "content-delta", "index": 0,
            "delta": {"message": {"content": {"text": " is a RAG backend."}}}}),
        ),
        frame(
            Some("citation-start"),
            &json!({"type": "citation-start", "index": 0,
            "delta": {"message": {"citations": citation_json()}}}),
        ),
        frame(Some("citation-end"), &json!({"type": "citation-end", "index": 0})),
        frame(Some("content-end"), &json!({"type": "content-end", "index": 0})),
        frame(
            Some("message-end"),
            &json!({"type": "message-end", "delta": {"finish_reason": "COMPLETE",
            "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 6},
                "tokens": {"input_tokens": 50, "output_tokens": 7}}}}),
        ),
    ]
}

#[tokio::test]
async fn a_streamed_chat_yields_deltas_citations_usage_and_done() {
    let stub = Stub::start(vec![Reply::sse(stream_frames())]).await;

    let stream = chat(&stub).chat_stream(question()).await.unwrap();
    let (text, events, err) = collect(stream).await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(text, "Docent is a RAG backend.");
    assert!(events.contains(&StreamEvent::Citation(expected_citation())));
    let tail = &events[events.len() - 2..];
    assert_eq!(tail[0], StreamEvent::Usage(Usage { prompt_tokens: 50, completion_tokens: 7 }));
    assert_eq!(tail[1], StreamEvent::Done { finish_reason: Some("COMPLETE".into()) });
    assert_eq!(stub.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn rerank_returns_scores_in_document_order() {
    let stub = Stub::start(vec![Reply::ok(json!({"id": "r1",
        "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}]}))])
    .await;
    let reranker = CohereReranker::new(client(), endpoint(&stub.url, Some("co-key"), "rerank-v3.5"));

    let scores = reranker.rerank("q", &["a".into(), "b".into()]).await.unwrap();

    assert_eq!(scores, vec![0.1, 0.9]);
    let req = &stub.requests()[0];
    assert_eq!(req.path, "/v2/rerank");
    assert_eq!(req.body, json!({"model": "rerank-v3.5", "query": "q", "documents": ["a", "b"], "top_n": 2}));
}
