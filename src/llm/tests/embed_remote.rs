//! Remote embedders: request shapes, response decoding, dimension checks.

use super::client;
use super::stub::{Reply, Stub};
use crate::embed::remote::{CohereEmbedder, OpenAiEmbedder, RemoteEmbedConfig};
use crate::embed::{EmbedError, EmbedKind, Embedder};
use serde_json::json;

fn config(url: &str, model: &str, dimension: usize) -> RemoteEmbedConfig {
    RemoteEmbedConfig {
        base_url: url.to_owned(),
        api_key: Some("key".to_owned().into()),
        model: model.to_owned(),
        dimension,
        max_tokens: 512,
    }
}

fn texts() -> Vec<String> {
    vec!["first".into(), "second".into()]
}

#[tokio::test]
async fn cohere_sends_input_type_and_float_embedding_types() {
    let stub = Stub::start(vec![Reply::ok(json!({"id": "e1", "texts": ["first", "second"],
        "embeddings": {"float": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]}, "meta": {}}))])
    .await;
    let embedder = CohereEmbedder::new(client(), config(&stub.url, "embed-v4.0", 3));

    let docs = embedder.embed(&texts(), EmbedKind::Document).await.unwrap();
    embedder.embed(&texts(), EmbedKind::Query).await.unwrap();

    assert_eq!(docs, vec![vec![0.1, 0.2, 0.3], vec![0.4, 0.5, 0.6]]);
    let reqs = stub.requests();
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("POST", "/v2/embed"));
    assert_eq!(reqs[0].header("authorization"), Some("Bearer key"));
    assert_eq!(
        reqs[0].body,
        json!({"model": "embed-v4.0", "texts": ["first", "second"],
        "input_type": "search_document", "embedding_types": ["float"]})
    );
    assert_eq!(reqs[1].body["input_type"], "search_query");
}

#[tokio::test]
async fn openai_sends_an_input_array_and_orders_by_index() {
    let stub = Stub::start(vec![Reply::ok(json!({"object": "list", "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
                 {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2}}))])
    .await;
    let embedder = OpenAiEmbedder::new(client(), config(&stub.url, "text-embedding-3-small", 2));

    let vectors = embedder.embed(&texts(), EmbedKind::Query).await.unwrap();

    assert_eq!(vectors, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    let req = &stub.requests()[0];
    assert_eq!(req.path, "/v1/embeddings");
    assert_eq!(req.body, json!({"model": "text-embedding-3-small", "input": ["first", "second"]}));
}

#[tokio::test]
async fn a_dimension_mismatch_is_an_error() {
    let stub = Stub::start(vec![Reply::ok(json!({"data": [
        {"index": 0, "embedding": [1.0, 0.0]}, {"index": 1, "embedding": [0.0, 1.0]}]}))])
    .await;
    let embedder = OpenAiEmbedder::new(client(), config(&stub.url, "m", 384));

    let err = embedder.embed(&texts(), EmbedKind::Document).await.unwrap_err();

    assert!(matches!(&err, EmbedError::Remote(m) if m.contains("dimension mismatch")), "{err}");
}
