//! Documents submitted over HTTP become background jobs: the content is written to a scratch
//! file in the data directory, synced like a file from disk (under the source path
//! `upload/<path>`), and the job row records the outcome. Nothing is half-written: the document
//! replace is the same atomic operation as for `docent ingest`.

use std::path::PathBuf;

use serde::Serialize;

use super::sync::{DocMeta, FileOutcome, SyncError, SyncOptions, sync_file};
use super::{DiscoveredFile, Format};
use crate::components::Components;

/// A document handed over by a client.
#[derive(Debug, Clone)]
pub struct Upload {
    pub content: Vec<u8>,
    pub format: Format,
    pub title: Option<String>,
    pub url: Option<String>,
    /// Where the document lives in the book, e.g. `guide/intro.md`; defaults to the job id.
    pub path: Option<String>,
}

/// What a finished upload job reports.
#[derive(Debug, Clone, Serialize)]
pub struct UploadResult {
    pub document_id: Option<String>,
    pub outcome: &'static str,
    pub chunks: usize,
    pub embedded: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Runs upload jobs in the background.
#[derive(Clone)]
pub struct JobRunner {
    components: Components,
    options: SyncOptions,
    scratch: PathBuf,
}

impl JobRunner {
    pub fn new(components: Components, options: SyncOptions, data_dir: &std::path::Path) -> Self {
        Self { components, options, scratch: data_dir.join("uploads") }
    }

    /// Records a queued job and starts it; returns the job id.
    pub async fn submit(&self, upload: Upload) -> Result<String, SyncError> {
        let id = uuid::Uuid::now_v7().to_string();
        let payload = serde_json::json!({
            "format": format!("{:?}", upload.format).to_lowercase(),
            "title": upload.title,
            "url": upload.url,
            "path": upload.path,
            "bytes": upload.content.len(),
        });
        self.components.db.create_job(&id, "upload", &payload).await?;
        let runner = self.clone();
        let job = id.clone();
        tokio::spawn(async move { runner.run(&job, upload).await });
        Ok(id)
    }

    async fn run(&self, job: &str, upload: Upload) {
        let db = &self.components.db;
        if let Err(err) = db.start_job(job).await {
            tracing::error!(error = %err, job, "cannot mark the job running");
        }
        let outcome = self.process(job, upload).await.map_err(|err| {
            tracing::error!(error = ?err, job, "upload job failed");
            metrics::counter!("docent_ingest_failures_total").increment(1);
            err.to_string()
        });
        if let Ok(result) = &outcome {
            metrics::counter!("docent_ingest_documents_total", "outcome" => result.outcome).increment(1);
            metrics::counter!("docent_ingest_chunks_total").increment(result.embedded as u64);
        }
        let outcome = outcome.map(|r| serde_json::to_value(r).unwrap_or_default());
        if let Err(err) = db.finish_job(job, outcome).await {
            tracing::error!(error = %err, job, "cannot record the job's outcome");
        }
    }

    async fn process(&self, job: &str, upload: Upload) -> Result<UploadResult, SyncError> {
        let relative = upload.path.clone().unwrap_or_else(|| format!("{job}.{}", extension(upload.format)));
        let file_name = relative.rsplit('/').next().unwrap_or(&relative).to_owned();
        let dir = self.scratch.join(job);
        let io = |e: std::io::Error| SyncError::Task(format!("cannot stage the upload: {e}"));
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let path = dir.join(sanitize(&file_name, upload.format));
        tokio::fs::write(&path, &upload.content).await.map_err(io)?;
        let source_path = format!("upload/{relative}");
        let known = self.components.db.document_hashes().await?.into_iter().find(|(_, p, _)| *p == source_path);
        let meta = DocMeta { title: upload.title, url: upload.url };
        let file = DiscoveredFile::single(path);
        let result = sync_file(
            &self.components,
            &file,
            &source_path,
            known.as_ref().map(|k| k.2.as_str()),
            &self.options,
            &meta,
        )
        .await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        Ok(match result? {
            FileOutcome::Added { embedded, chunks, document_id } => done("added", document_id, chunks, embedded),
            FileOutcome::Updated { embedded, chunks, document_id } => done("updated", document_id, chunks, embedded),
            FileOutcome::Unchanged { document_id } => done("unchanged", document_id, 0, 0),
            FileOutcome::Skipped(reason) => {
                UploadResult { document_id: None, outcome: "skipped", chunks: 0, embedded: 0, reason: Some(reason) }
            }
        })
    }
}

fn done(outcome: &'static str, document_id: String, chunks: usize, embedded: usize) -> UploadResult {
    UploadResult { document_id: Some(document_id), outcome, chunks, embedded, reason: None }
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Markdown => "md",
        Format::Mdx => "mdx",
        Format::Html => "html",
        Format::Pdf => "pdf",
        Format::Text => "txt",
    }
}

/// A safe file name with the extension the format's loader expects.
fn sanitize(name: &str, format: Format) -> String {
    let stem: String = name
        .rsplit_once('.')
        .map_or(name, |(s, _)| s)
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(100)
        .collect();
    let stem = if stem.is_empty() { "document".to_owned() } else { stem };
    format!("{stem}.{}", extension(format))
}
