//! `docent backup create | list | verify FILE | restore FILE | prune`: each calls one function of
//! [`crate::ops::backup`] and prints its report (`--json`: the report as is).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use crate::config::Settings;
use crate::ops::backup::retention::Policy;
use crate::ops::backup::{
    self, BackupError, BackupListing, CreateReport, PruneOptions, PruneReport, RestoreOptions, RestoreReport,
    VerifyReport,
};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    action: BackupAction,
}

#[derive(Debug, Subcommand)]
enum BackupAction {
    /// Snapshot the database while it serves (SQLite VACUUM INTO, PostgreSQL pg_dump) into a new archive.
    Create {
        /// Folder of the archives (default: DOCENT_BACKUP__DIR, else $DOCENT_DATA_DIR/backups).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List the archives, newest first, from their manifests.
    List {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Check an archive's checksums, restore it into a scratch location and compare row counts.
    Verify {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Restore an archive into the configured database, then rebuild the index.
    Restore {
        file: PathBuf,
        /// Replace a database that exists (SQLite) or holds data (PostgreSQL).
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete the archives the daily/weekly/monthly retention does not keep.
    Prune {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Newest backup of each of the N most recent days (default: DOCENT_BACKUP__KEEP_DAILY).
        #[arg(long, value_name = "N")]
        keep_daily: Option<u32>,
        /// Newest backup of each of the N most recent ISO weeks (default: DOCENT_BACKUP__KEEP_WEEKLY).
        #[arg(long, value_name = "N")]
        keep_weekly: Option<u32>,
        /// Newest backup of each of the N most recent months (default: DOCENT_BACKUP__KEEP_MONTHLY).
        #[arg(long, value_name = "N")]
        keep_monthly: Option<u32>,
        /// Print what would be kept and deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: Settings, args: BackupArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    let folder = |dir: Option<PathBuf>| dir.unwrap_or_else(|| settings.backup_dir());
    match args.action {
        BackupAction::Create { dir, json } => {
            let result = super::runtime().block_on(backup::create(&settings, &folder(dir)));
            print(result, json, created)
        }
        BackupAction::List { dir, json } => print(backup::list(&folder(dir)), json, listed),
        BackupAction::Verify { file, json } => {
            print(super::runtime().block_on(backup::verify(&settings, &file)), json, verified)
        }
        BackupAction::Restore { file, force, json } => {
            let result = super::runtime().block_on(backup::restore(&settings, &file, RestoreOptions { force }));
            print(result, json, restored)
        }
        BackupAction::Prune { dir, keep_daily, keep_weekly, keep_monthly, dry_run, json } => {
            let b = &settings.backup;
            let policy = Policy {
                daily: keep_daily.unwrap_or(b.keep_daily),
                weekly: keep_weekly.unwrap_or(b.keep_weekly),
                monthly: keep_monthly.unwrap_or(b.keep_monthly),
            };
            print(backup::prune(&folder(dir), PruneOptions { policy, dry_run }), json, pruned)
        }
    }
}

fn print<T: Serialize>(result: Result<T, BackupError>, json: bool, human: fn(&T) -> String) -> ExitCode {
    match result {
        Ok(report) if json => {
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{}", human(&report));
            ExitCode::SUCCESS
        }
        Err(err) => super::fail(&err),
    }
}

fn created(r: &CreateReport) -> String {
    let rows: u64 = r.manifest.tables.values().sum();
    format!(
        "wrote {} ({} bytes; {} tables, {rows} rows; schema version {}) in {} ms",
        r.path.display(),
        r.bytes,
        r.manifest.tables.len(),
        r.manifest.schema_version,
        r.duration_ms
    )
}

fn listed(l: &BackupListing) -> String {
    let mut lines: Vec<String> = l
        .backups
        .iter()
        .map(|b| {
            let m = &b.manifest;
            let when = m.created_at.format("%Y-%m-%d %H:%M:%SZ");
            format!(
                "{when}  {:>12} B  {:<8}  schema {:<4}  {}",
                b.bytes,
                format!("{:?}", m.dialect),
                m.schema_version,
                b.path.display()
            )
        })
        .collect();
    lines.extend(l.unreadable.iter().map(|u| format!("unreadable: {}: {}", u.path.display(), u.error)));
    if lines.is_empty() { "no backups".into() } else { lines.join("\n") }
}

fn verified(r: &VerifyReport) -> String {
    let rows: u64 = r.tables.values().sum();
    format!(
        "✓ {}\n  checksums: {} file(s) match the manifest's SHA-256\n  integrity: {}\n  row counts: {} tables, {rows} rows, equal to the manifest\n  took {} ms",
        r.archive.display(),
        r.files.len(),
        r.integrity,
        r.tables.len(),
        r.duration_ms
    )
}

fn restored(r: &RestoreReport) -> String {
    let rows: u64 = r.tables.values().sum();
    let mut lines = vec![format!(
        "restored {} into {} ({} tables, {rows} rows, equal to the manifest) in {} ms",
        r.archive.display(),
        r.target,
        r.tables.len(),
        r.duration_ms
    )];
    lines.push(match &r.index {
        backup::IndexOutcome::Rebuilt { documents, chunks, .. } => {
            format!("index rebuilt: {documents} documents, {chunks} chunks")
        }
        backup::IndexOutcome::Deferred { reason } => format!("index not rebuilt: {reason}"),
    });
    lines.extend(r.next_steps.iter().map(|s| format!("next: {s}")));
    lines.join("\n")
}

fn pruned(r: &PruneReport) -> String {
    let mut lines: Vec<String> = r
        .kept
        .iter()
        .map(|b| {
            format!(
                "keep    {}  ({})",
                b.file,
                b.kept_by.iter().map(|k| format!("{k:?}").to_lowercase()).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    let verb = if r.dry_run { "would delete" } else { "delete" };
    lines.extend(r.deleted.iter().map(|b| format!("{verb}  {}", b.file)));
    lines.extend(r.unreadable.iter().map(|u| format!("left alone (unreadable)  {}", u.path.display())));
    let verb = if r.dry_run { "would remove" } else { "removed" };
    lines.extend(r.stale_temporaries.iter().map(|p| format!("{verb} leftover  {}", p.display())));
    lines.push(format!(
        "{} kept, {} {}",
        r.kept.len(),
        r.deleted.len(),
        if r.dry_run { "would be deleted (dry run)" } else { "deleted" }
    ));
    lines.join("\n")
}
