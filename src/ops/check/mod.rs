//! `docent check`: the pre-deployment checklist as a command. Each item passes, fails with the
//! reason, or is skipped (when an item it depends on failed, or it is switched off):
//!
//! | item | passes when |
//! |---|---|
//! | `config` | the settings load and validate for their profile (production refusals included) |
//! | `production_safety` | in production: exact CORS origins over HTTPS, Secure cookies, DEBUG and unauthenticated admin off |
//! | `database` | the database answers within `DOCENT_CHECK__TIMEOUT_MS` (a missing SQLite file fails, it is never created) |
//! | `migrations` | every migration this binary knows is applied |
//! | `embedder` | the embedding model loads and embeds a sentence with its stated dimension |
//! | `index` | the index exists, holds as many chunks as the database, was built by the configured model and dimension, and no stored chunk was embedded by another model |
//! | `provider:<name>` | each configured LLM provider answers its model list with the key accepted |
//! | `disk` | the data directory's file system has at least `DOCENT_CHECK__MIN_FREE_DISK_PERCENT` free |
//! | `backup` | the newest backup in `<data_dir>/backups` is younger than `DOCENT_CHECK__MAX_BACKUP_AGE_HOURS` (see [`super::recent_backup`] for what counts as a backup) |
//!
//! The report prints one line per item (✓, ✗ or –) or JSON; the command exits non-zero when
//! any item failed.

mod items;
mod providers;

use std::time::Duration;

use serde::Serialize;

use crate::config::{LoadOptions, Settings};

pub use providers::{ProviderTarget, check_all as check_providers, configured_providers, targets_from_llm};

/// The outcome of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    /// Stable key, e.g. `database` or `provider:openai`.
    pub name: String,
    pub status: Status,
    /// Why it passed, failed or was skipped.
    pub detail: String,
}

impl CheckItem {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: Status::Pass, detail: detail.into() }
    }
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: Status::Fail, detail: detail.into() }
    }
    pub fn skip(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: Status::Skip, detail: detail.into() }
    }
}

/// The whole checklist, in the order the items ran.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub items: Vec<CheckItem>,
}

impl CheckReport {
    /// True when no item failed.
    pub fn ok(&self) -> bool {
        self.items.iter().all(|i| i.status != Status::Fail)
    }

    pub fn item(&self, name: &str) -> Option<&CheckItem> {
        self.items.iter().find(|i| i.name == name)
    }

    /// `{"ok": bool, "items": [{"name", "status", "detail"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "ok": self.ok(), "items": self.items })
    }

    /// One line per item: `✓ name  detail`, then a summary line.
    pub fn to_text(&self) -> String {
        let width = self.items.iter().map(|i| i.name.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for item in &self.items {
            let mark = match item.status {
                Status::Pass => '✓',
                Status::Fail => '✗',
                Status::Skip => '–',
            };
            out.push_str(&format!("{mark} {:<width$}  {}\n", item.name, item.detail));
        }
        let failed = self.items.iter().filter(|i| i.status == Status::Fail).count();
        let passed = self.items.iter().filter(|i| i.status == Status::Pass).count();
        out.push_str(&format!("{passed} passed, {failed} failed\n"));
        out
    }
}

/// Loads the settings as `serve` would and runs every item.
pub async fn run(load: &LoadOptions) -> CheckReport {
    let mut report = CheckReport::default();
    let (config, settings) = items::config(load);
    report.items.push(config);
    match settings {
        Some(settings) => run_with(&settings, &configured_providers(&settings), &mut report).await,
        None => {
            for name in ["production_safety", "database", "migrations", "embedder", "index", "disk", "backup"] {
                report.items.push(CheckItem::skip(name, "not checked: the configuration does not load"));
            }
        }
    }
    report
}

/// Runs every item after `config` against loaded settings and the given LLM providers.
pub async fn run_with(settings: &Settings, providers: &[ProviderTarget], report: &mut CheckReport) {
    crate::install_crypto_provider();
    let timeout = Duration::from_millis(settings.check.timeout_ms);
    report.items.push(items::production_safety(settings));
    let (database, db) = items::database(settings, timeout).await;
    report.items.push(database);
    report.items.push(items::migrations(db.as_ref()).await);
    let (embedder, model) = items::embedder(settings).await;
    report.items.push(embedder);
    report.items.push(items::index(settings, db.as_ref(), model.as_deref()).await);
    report.items.extend(providers::check_all(providers, timeout).await);
    report.items.push(items::disk(settings));
    report.items.push(items::backup(settings));
    if let Some(db) = db {
        db.close().await;
    }
}

/// An error and its causes on one line (`a: b: c`).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
