//! The book's background: how much support (see `extractive`) questions that the book does not
//! answer still find in it, so that the refusal threshold follows the book.
//!
//! The floor (0.36) was calibrated on squad-dev, a book of 107 chunks. A bigger book holds more
//! text that resembles any question. Asked of the Python 3.11 documentation (32,182 chunks), a
//! quarter of the dev set's questions about the Normans and Southern California cleared 0.36
//! and were "answered" from unrelated passages. So the service measures the book: 64 fixed
//! everyday questions (`background.txt`: cooking, sport, weather… never software) are answered
//! against it, the median of their support is the book's background level, and the threshold
//! becomes `max(floor, background + MARGIN)`. The margin is squad-dev's own distance from its
//! background (0.21) to its calibrated floor. Squad-dev and the user guide keep the floor; the
//! Python docs rise to 0.46 (see the README's numbers). The median is robust to the few probes
//! a book does answer: a cookbook answers the cooking questions, and the other sixty still set
//! the level. A book about everyday things in general (an almanac: the test fixture measures
//! 0.30, threshold 0.45) resembles most probes and so refuses more readily; that is the
//! intended trade for such a book, where unrelated questions find plausible text.
//!
//! Each probe costs one answer's retrieval and sentence scoring (the sentences of the passages
//! it retrieves are embedded): about 10 s in all on 2 cores, for the 307-chunk user guide as
//! for the 32,182-chunk Python docs. So a measure is kept in `answer-background.json` in the data
//! directory, under a fingerprint of what a measure depends on (the documents' versions, the
//! chunk count, the embedding model, the retrieval settings, the probes, the extractive
//! parameters, the margin): `docent ingest` measures at the end of a run, and `docent ask`,
//! `docent eval answers` and the server reuse the file while the fingerprint holds. The server
//! reads the fingerprint every [`CHECK_EVERY`]; after a change (an ingest job, `docent ingest`
//! on the same data directory) it measures in the background once the index has stayed
//! unchanged for one check, so a long ingest is measured once, at its end. Until then the last
//! threshold (at first, the floor) applies. An empty index keeps the floor without asking
//! anything. Selections are never gated by it (their passage is the context, not a search).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{AnswerError, AnswerService};
use crate::index::IndexFilter;
use crate::retrieve::RetrieveError;

/// The background questions, one a line.
const PROBES: &str = include_str!("background.txt");

/// How far above the background a question's support must be to be answered.
pub const MARGIN: f32 = 0.15;

/// How often the server looks for a changed index.
pub const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Background questions answered at once (their embeddings share passes).
const PARALLEL: usize = 8;

/// One measure of the book's background.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Median support of the background questions (0 for an empty book).
    pub background: f32,
    /// The refusal threshold it sets.
    pub threshold: f32,
    /// Background questions asked.
    pub probes: usize,
}

impl Calibration {
    /// The threshold set by the background questions' `supports` above `floor`.
    pub fn from_supports(floor: f32, mut supports: Vec<f32>) -> Self {
        supports.sort_by(f32::total_cmp);
        let n = supports.len();
        let background = match n {
            0 => 0.0,
            _ if n % 2 == 1 => supports[n / 2],
            _ => (supports[n / 2 - 1] + supports[n / 2]) / 2.0,
        };
        Self { background, threshold: floor.max(background + MARGIN), probes: n }
    }
}

/// The background questions.
pub fn probes() -> impl Iterator<Item = &'static str> {
    PROBES.lines().map(str::trim).filter(|line| !line.is_empty())
}

/// A measure as kept on disk, with the fingerprint of what it measured.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    fingerprint: String,
    calibration: Calibration,
}

fn kept_path(data_dir: &Path) -> PathBuf {
    data_dir.join("answer-background.json")
}

fn read_kept(data_dir: &Path, fingerprint: &str) -> Option<Calibration> {
    let text = std::fs::read_to_string(kept_path(data_dir)).ok()?;
    let kept: Kept = serde_json::from_str(&text).ok()?;
    (kept.fingerprint == fingerprint).then_some(kept.calibration)
}

/// Writes the measure to a temporary file of its own, then renames it into place, so a reader
/// never sees half of it and two writers (the CLI and a server) never share a file.
fn keep(data_dir: &Path, fingerprint: String, calibration: Calibration) -> std::io::Result<()> {
    let mut temporary = tempfile::NamedTempFile::new_in(data_dir)?;
    serde_json::to_writer(&mut temporary, &Kept { fingerprint, calibration })?;
    temporary.persist(kept_path(data_dir)).map_err(|err| err.error)?;
    Ok(())
}

impl AnswerService {
    /// The book's background from `answer-background.json` when it still describes the index,
    /// measured (and kept) otherwise; the threshold is set either way.
    pub async fn calibrate_kept(&self, data_dir: &Path) -> Result<Calibration, AnswerError> {
        let fingerprint = self.fingerprint().await?;
        self.kept_or_measured(data_dir, fingerprint).await
    }

    async fn kept_or_measured(&self, data_dir: &Path, fingerprint: String) -> Result<Calibration, AnswerError> {
        if let Some(calibration) = read_kept(data_dir, &fingerprint) {
            self.apply(calibration);
            return Ok(calibration);
        }
        let calibration = self.calibrate().await?;
        if let Err(err) = keep(data_dir, fingerprint, calibration) {
            tracing::warn!(error = %err, dir = %data_dir.display(), "could not keep the book's background");
        }
        Ok(calibration)
    }

    /// What a measure depends on: the indexed documents' versions, the chunk count, the model
    /// that embedded them, the retrieval settings, the probes, the extractive parameters and
    /// the margin.
    async fn fingerprint(&self) -> Result<String, AnswerError> {
        let index = self.retriever.index();
        let stats = index.stats().await.map_err(RetrieveError::from)?;
        let mut versions: Vec<_> = index.versions().await.map_err(RetrieveError::from)?.into_iter().collect();
        versions.sort();
        let mut hash = Sha256::new();
        hash.update(format!("{} {:?} {:?}\n", stats.chunks, stats.model, stats.dimension));
        hash.update(format!("{}\n{:?}\n{MARGIN}\n{PROBES}\n", self.retriever.describe(), self.extractive.params()));
        for (document, version) in versions {
            hash.update(format!("{document}={version}\n"));
        }
        Ok(hex::encode(hash.finalize()))
    }

    /// Publishes the threshold in force (before any measure: the floor).
    pub fn publish_threshold(&self) {
        metrics::gauge!("docent_answer_refusal_threshold").set(f64::from(self.extractive.threshold()));
    }

    fn apply(&self, calibration: Calibration) {
        self.extractive.set_threshold(calibration.threshold);
        self.publish_threshold();
        metrics::gauge!("docent_answer_background_support").set(f64::from(calibration.background));
    }

    /// Measures the book's background and sets the refusal threshold from it.
    #[tracing::instrument(name = "answer.calibrate", skip_all)]
    pub async fn calibrate(&self) -> Result<Calibration, AnswerError> {
        let floor = self.extractive.params().refuse_below;
        let stats = self.retriever.index().stats().await.map_err(RetrieveError::from)?;
        let questions: Vec<&str> = if stats.chunks == 0 { Vec::new() } else { probes().collect() };
        let mut supports = Vec::with_capacity(questions.len());
        for group in questions.chunks(PARALLEL) {
            supports.extend(futures::future::try_join_all(group.iter().map(|q| self.probe(q))).await?);
        }
        let calibration = Calibration::from_supports(floor, supports);
        self.apply(calibration);
        Ok(calibration)
    }

    /// The support the book gives one background question.
    async fn probe(&self, question: &str) -> Result<f32, AnswerError> {
        let (hits, vector) = self.retrieve(question, IndexFilter::default()).await?;
        let vector = vector.as_deref().map(Vec::as_slice);
        let draft = self.extractive.draft_with_threshold(question, &hits, vector, 0.0).await?;
        Ok(draft.signals.support)
    }

    /// Keeps the threshold measured: at once (from the kept file when it matches), and again
    /// whenever the index has changed and then stayed unchanged for one check (so a book
    /// being ingested is measured once, when the ingest is over).
    pub fn spawn_calibration(&self, data_dir: PathBuf, every: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            service.publish_threshold();
            let (mut measured, mut seen) = (None::<String>, None::<String>);
            loop {
                match service.fingerprint().await {
                    Ok(now) if measured.as_ref() != Some(&now) => {
                        let settled = measured.is_none() || seen.as_ref() == Some(&now);
                        if settled && service.remeasure(&data_dir, &now).await {
                            measured = Some(now.clone());
                        }
                        seen = Some(now);
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "reading the index for its background failed"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// One measure for the server's loop (reused from the kept file when it matches); whether
    /// it succeeded.
    async fn remeasure(&self, data_dir: &Path, fingerprint: &str) -> bool {
        let result = self.kept_or_measured(data_dir, fingerprint.to_owned()).await;
        match result {
            Ok(c) => tracing::info!(background = c.background, threshold = c.threshold, "refusal threshold set"),
            Err(ref err) => {
                tracing::warn!(error = %err, "measuring the book's background failed; the last threshold stays")
            }
        }
        result.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_the_median_background_plus_the_margin_but_never_below_the_floor() {
        let high = Calibration::from_supports(0.36, vec![0.5, 0.3, 0.4, 0.9, 0.1]);
        assert_eq!(high.background, 0.4);
        assert!((high.threshold - (0.4 + MARGIN)).abs() < 1e-6);
        assert_eq!(high.probes, 5);

        let low = Calibration::from_supports(0.36, vec![0.1, 0.2]);
        assert!((low.background - 0.15).abs() < 1e-6);
        assert_eq!(low.threshold, 0.36);

        let empty = Calibration::from_supports(0.36, Vec::new());
        assert_eq!((empty.background, empty.threshold, empty.probes), (0.0, 0.36, 0));
    }

    #[test]
    fn there_are_sixty_four_distinct_background_questions() {
        let all: Vec<&str> = probes().collect();
        let distinct: std::collections::HashSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), 64);
        assert_eq!(distinct.len(), 64);
        assert!(all.iter().all(|q| q.ends_with('?')), "each line is a question");
    }
}
