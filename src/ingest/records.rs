//! Conversions between what the loaders produce, what the database stores (the source of
//! truth) and what the index holds (derived from the database).

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{Chunk, LoadedDocument, slugify};
use crate::db::documents::{ChunkRecord, DocumentRecord};
use crate::index::IndexChunk;

/// Stable, URL-safe document id from the document's source path.
pub fn document_id(source_path: &str) -> String {
    let digest = Sha256::digest(source_path.as_bytes());
    format!("doc_{}", &hex::encode(digest)[..16])
}

/// Hash of the source bytes plus everything that changes the chunks or their vectors, so a new
/// chunk size, base URL or embedding model re-ingests an otherwise unchanged file.
pub fn content_hash(bytes: &[u8], fingerprint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.update([0u8]);
    hasher.update(fingerprint.as_bytes());
    hex::encode(hasher.finalize())
}

/// Little-endian f32 bytes, as stored in `chunks.embedding`.
pub fn vector_to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn bytes_to_vector(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

pub struct DocumentParts<'a> {
    pub id: &'a str,
    pub source_path: &'a str,
    pub hash: &'a str,
    pub url: &'a str,
    pub content: String,
    pub size_bytes: usize,
    pub chunk_count: usize,
}

pub fn document_record(doc: &LoadedDocument, parts: DocumentParts<'_>) -> DocumentRecord {
    let now = Utc::now();
    let chapter = doc.chapter.as_ref();
    DocumentRecord {
        id: parts.id.to_owned(),
        source_path: parts.source_path.to_owned(),
        title: doc.title.clone(),
        format: format!("{:?}", doc.format).to_lowercase(),
        chapter: Some(chapter.map_or_else(|| slugify(&doc.title), |c| slugify(&c.label))),
        chapter_label: Some(chapter.map_or_else(|| doc.title.clone(), |c| c.label.clone())),
        chapter_position: chapter.map(|c| c.order as i64),
        position: doc.sidebar_position.map(|p| (p * 1000.0) as i64),
        url: Some(parts.url.to_owned()),
        content_hash: parts.hash.to_owned(),
        content: parts.content,
        size_bytes: parts.size_bytes as i64,
        chunk_count: parts.chunk_count as i64,
        created_at: now,
        updated_at: now,
    }
}

pub fn chunk_record(doc_id: &str, chunk: &Chunk, url: String, vector: &[f32], model: &str) -> ChunkRecord {
    ChunkRecord {
        id: chunk.id.clone(),
        document_id: doc_id.to_owned(),
        ordinal: chunk.index as i64,
        heading_path: chunk.heading_path.join(" > "),
        anchor: chunk.anchor.clone(),
        text: chunk.text.clone(),
        page: chunk.page.map(i64::from),
        start_offset: chunk.start as i64,
        end_offset: chunk.end as i64,
        token_count: chunk.token_count as i64,
        url: Some(url),
        embedding: Some(vector_to_bytes(vector)),
        embedding_model: Some(model.to_owned()),
        created_at: Utc::now(),
    }
}

/// The index entry of a stored chunk; `None` when the chunk has no embedding.
pub fn index_chunk(doc: &DocumentRecord, chunk: &ChunkRecord) -> Option<IndexChunk> {
    let vector = bytes_to_vector(chunk.embedding.as_deref()?);
    Some(IndexChunk {
        id: chunk.id.clone(),
        document_id: doc.id.clone(),
        chapter: doc.chapter.clone(),
        text: chunk.text.clone(),
        payload: serde_json::json!({
            "title": doc.title,
            "heading_path": chunk.heading_path,
            "url": chunk.url,
            "page": chunk.page,
        }),
        vector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_their_byte_form() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        assert_eq!(bytes_to_vector(&vector_to_bytes(&v)), v);
    }

    #[test]
    fn document_ids_are_stable_and_url_safe() {
        assert_eq!(document_id("guide/intro.md"), document_id("guide/intro.md"));
        assert_ne!(document_id("guide/intro.md"), document_id("guide/other.md"));
        assert!(document_id("a b/ü.md").chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
}
