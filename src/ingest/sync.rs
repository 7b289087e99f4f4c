//! Incremental sync of a book into the database and the index.
//!
//! For each discovered file: hash its bytes (plus the chunking/model fingerprint); unchanged →
//! nothing to do; otherwise load, chunk, embed only chunks whose ids are new (vectors of
//! unchanged chunks are reused), then replace the document and its chunks in ONE database
//! transaction (the source of truth) and the document in the index (one index transaction).
//! A crash between the two is repaired by [`reconcile`], which runs before every sync and at
//! server start: any document whose indexed version differs from the database is re-indexed
//! from the stored vectors, and index entries without a database document are removed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::records::{self, DocumentParts};
use super::{ChunkOptions, DiscoveredFile, IngestError, LoadOptions, LoadedDocument, chunk_document};
use crate::components::Components;
use crate::db::{Db, DbError};
use crate::embed::{EmbedError, EmbedKind, Embedder};
use crate::index::{IndexError, VectorIndex};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("background task failed: {0}")]
    Task(String),
}

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub prune: bool,
    pub base_url: Option<String>,
    pub chunk: ChunkOptions,
    pub max_file_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocumentCounts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChunkCounts {
    pub embedded: usize,
    pub total: usize,
}

/// What a sync did; printed by `docent ingest --json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub documents: DocumentCounts,
    pub chunks: ChunkCounts,
    pub seconds: f64,
    #[serde(skip)]
    pub skipped_files: Vec<(PathBuf, String)>,
}

/// Progress reporting (a bar on a terminal, log lines otherwise).
pub trait Progress: Send + Sync {
    fn start(&self, _files: usize) {}
    fn advance(&self, _chunks_embedded: usize) {}
    fn finish(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// The outcome of syncing one file.
#[derive(Debug)]
pub enum FileOutcome {
    Added { embedded: usize, chunks: usize, document_id: String },
    Updated { embedded: usize, chunks: usize, document_id: String },
    Unchanged { document_id: String },
    Skipped(String),
}

/// Syncs every file under `paths`; with `prune`, deletes documents whose files are gone.
pub async fn sync_paths(
    c: &Components,
    paths: &[PathBuf],
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<Summary, SyncError> {
    let started = Instant::now();
    reconcile(&c.db, c.index.as_ref()).await?;
    let roots = paths.to_vec();
    let files = tokio::task::spawn_blocking(move || super::discover(&roots))
        .await
        .map_err(|e| SyncError::Task(e.to_string()))?;
    let existing: HashMap<String, (String, String)> =
        c.db.document_hashes().await?.into_iter().map(|(id, path, hash)| (path, (id, hash))).collect();
    progress.start(files.len());
    let mut summary = Summary::default();
    let mut seen = HashSet::new();
    for file in &files {
        seen.insert(file.rel_path.clone());
        let known = existing.get(&file.rel_path).map(|(_, hash)| hash.as_str());
        let outcome = sync_file(c, file, &file.rel_path, known, options, &DocMeta::default()).await?;
        tally(&mut summary, &file.path, outcome);
        progress.advance(summary.chunks.embedded);
    }
    if options.prune {
        for (path, (id, _)) in existing.iter().filter(|(p, _)| !seen.contains(*p) && !p.starts_with("upload/")) {
            tracing::info!(document = %path, "pruning document whose source is gone");
            c.db.delete_document(id).await?;
            c.index.delete_document(id).await?;
            summary.documents.deleted += 1;
        }
    }
    progress.finish();
    summary.chunks.total = c.db.chunk_count().await? as usize;
    summary.seconds = started.elapsed().as_secs_f64();
    record_metrics(&summary);
    Ok(summary)
}

fn tally(summary: &mut Summary, path: &std::path::Path, outcome: FileOutcome) {
    let d = &mut summary.documents;
    match outcome {
        FileOutcome::Added { embedded, .. } => (d.added += 1, summary.chunks.embedded += embedded).1,
        FileOutcome::Updated { embedded, .. } => (d.updated += 1, summary.chunks.embedded += embedded).1,
        FileOutcome::Unchanged { .. } => d.unchanged += 1,
        FileOutcome::Skipped(reason) => {
            tracing::warn!(file = %path.display(), %reason, "skipped");
            d.skipped += 1;
            summary.skipped_files.push((path.to_path_buf(), reason));
        }
    }
}

fn record_metrics(summary: &Summary) {
    let d = &summary.documents;
    for (outcome, n) in [
        ("added", d.added),
        ("updated", d.updated),
        ("unchanged", d.unchanged),
        ("deleted", d.deleted),
        ("skipped", d.skipped),
    ] {
        metrics::counter!("docent_ingest_documents_total", "outcome" => outcome).increment(n as u64);
    }
    metrics::counter!("docent_ingest_chunks_total").increment(summary.chunks.embedded as u64);
}

/// What makes chunks differ for the same bytes.
fn fingerprint(options: &SyncOptions, embedder: &dyn Embedder) -> String {
    format!(
        "v1|{}|{}|{}|{}|{}",
        options.chunk.max_tokens,
        options.chunk.overlap_tokens,
        options.chunk.min_tokens,
        options.base_url.as_deref().unwrap_or(""),
        embedder.model_id()
    )
}

/// Values that replace what the loader found (for uploads that name their title or URL).
#[derive(Debug, Clone, Default)]
pub struct DocMeta {
    pub title: Option<String>,
    pub url: Option<String>,
}

/// Syncs one file stored under `source_path`; `known_hash` is the database's current version.
pub async fn sync_file(
    c: &Components,
    file: &DiscoveredFile,
    source_path: &str,
    known_hash: Option<&str>,
    options: &SyncOptions,
    meta: &DocMeta,
) -> Result<FileOutcome, SyncError> {
    let id = records::document_id(source_path);
    let bytes = match read_limited(file, options.max_file_bytes).await {
        Ok(bytes) => bytes,
        Err(reason) => return Ok(FileOutcome::Skipped(reason)),
    };
    let extra = format!("{:?}|{:?}", meta.title, meta.url);
    let hash = records::content_hash(&bytes, &(fingerprint(options, c.embedder.as_ref()) + &extra));
    if known_hash == Some(hash.as_str()) {
        return Ok(FileOutcome::Unchanged { document_id: id });
    }
    let mut doc = match load(file.clone(), options.max_file_bytes).await? {
        Ok(doc) => doc,
        Err(err) => return Ok(FileOutcome::Skipped(err.to_string())),
    };
    if let Some(title) = &meta.title {
        doc.title.clone_from(title);
    }
    let doc_url = meta.url.clone().unwrap_or_else(|| super::document_url(options.base_url.as_deref(), &doc));
    let target = Target { id: &id, source_path, hash: &hash, url: &doc_url };
    let (embedded, chunks) = store_document(c, &doc, &target, &bytes, options).await?;
    Ok(if known_hash.is_some() {
        FileOutcome::Updated { embedded, chunks, document_id: id }
    } else {
        FileOutcome::Added { embedded, chunks, document_id: id }
    })
}

async fn read_limited(file: &DiscoveredFile, max: u64) -> Result<Vec<u8>, String> {
    let meta =
        tokio::fs::metadata(&file.path).await.map_err(|e| format!("cannot read {}: {e}", file.path.display()))?;
    if meta.len() > max {
        return Err(format!("{} is larger than the limit of {max} bytes", file.path.display()));
    }
    tokio::fs::read(&file.path).await.map_err(|e| format!("cannot read {}: {e}", file.path.display()))
}

async fn load(file: DiscoveredFile, max: u64) -> Result<Result<LoadedDocument, IngestError>, SyncError> {
    let opts = LoadOptions { max_file_bytes: max };
    tokio::task::spawn_blocking(move || super::load_file(&file, &opts))
        .await
        .map_err(|e| SyncError::Task(e.to_string()))
}

/// Chunks, embeds what is new and writes database then index. Returns (embedded, chunks).
/// Where a loaded document is stored.
struct Target<'a> {
    id: &'a str,
    source_path: &'a str,
    hash: &'a str,
    url: &'a str,
}

async fn store_document(
    c: &Components,
    doc: &LoadedDocument,
    target: &Target<'_>,
    bytes: &[u8],
    options: &SyncOptions,
) -> Result<(usize, usize), SyncError> {
    let Target { id, source_path, hash, url: doc_url } = *target;
    let chunks = chunk(c.embedder.clone(), doc.clone(), options.chunk.clone()).await?;
    let old: HashMap<String, Vec<u8>> =
        c.db.chunks_of(id).await?.into_iter().filter_map(|ch| Some((ch.id, ch.embedding?))).collect();
    let missing: Vec<usize> = (0..chunks.len()).filter(|&i| !old.contains_key(&chunks[i].id)).collect();
    let texts: Vec<String> = missing.iter().map(|&i| chunks[i].embedding_text()).collect();
    let fresh = c.embedder.embed(&texts, EmbedKind::Document).await?;
    let mut fresh_by_index: HashMap<usize, Vec<f32>> = missing.iter().copied().zip(fresh).collect();
    let model = c.embedder.model_id().to_owned();
    let chunk_records: Vec<_> = chunks
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let vector = fresh_by_index.remove(&i).unwrap_or_else(|| records::bytes_to_vector(&old[&ch.id]));
            records::chunk_record(id, ch, super::chunk_url(doc_url, ch.anchor.as_deref()), &vector, &model)
        })
        .collect();
    let parts = DocumentParts {
        id,
        source_path,
        hash,
        url: doc_url,
        content: String::from_utf8_lossy(bytes).into_owned(),
        size_bytes: bytes.len(),
        chunk_count: chunk_records.len(),
    };
    let record = records::document_record(doc, parts);
    c.db.replace_document(&record, &chunk_records).await?;
    let entries = chunk_records.iter().filter_map(|ch| records::index_chunk(&record, ch)).collect();
    c.index.replace_document(id, hash, entries).await?;
    Ok((missing.len(), chunk_records.len()))
}

async fn chunk(
    embedder: Arc<dyn Embedder>,
    doc: LoadedDocument,
    opts: ChunkOptions,
) -> Result<Vec<super::Chunk>, SyncError> {
    tokio::task::spawn_blocking(move || {
        let count = |text: &str| embedder.count_tokens(text);
        chunk_document(&doc, &opts, &count)
    })
    .await
    .map_err(|e| SyncError::Task(e.to_string()))
}

/// Makes the index match the database: re-indexes documents whose indexed version differs
/// (from the stored vectors, no embedding) and drops index entries of deleted documents.
/// Returns how many documents it touched.
pub async fn reconcile(db: &Db, index: &dyn VectorIndex) -> Result<usize, SyncError> {
    let indexed = index.versions().await?;
    let stored = db.document_hashes().await?;
    let mut touched = 0;
    for (id, _, hash) in &stored {
        if indexed.get(id) == Some(hash) {
            continue;
        }
        let Some(doc) = db.document(id).await? else { continue };
        let chunks = db.chunks_of(id).await?;
        let entries = chunks.iter().filter_map(|ch| records::index_chunk(&doc, ch)).collect();
        index.replace_document(id, hash, entries).await?;
        touched += 1;
    }
    let live: HashSet<&String> = stored.iter().map(|(id, _, _)| id).collect();
    for id in indexed.keys().filter(|id| !live.contains(id)) {
        index.delete_document(id).await?;
        touched += 1;
    }
    Ok(touched)
}

impl SyncOptions {
    /// Options from the settings; `prune` is the caller's choice.
    pub fn from_settings(settings: &crate::config::Settings, prune: bool) -> Self {
        let ingest = &settings.ingest;
        SyncOptions {
            prune,
            base_url: ingest.base_url.clone(),
            chunk: ChunkOptions {
                max_tokens: ingest.max_tokens,
                overlap_tokens: ingest.overlap_tokens,
                ..ChunkOptions::default()
            },
            max_file_bytes: ingest.max_file_bytes,
        }
    }
}
