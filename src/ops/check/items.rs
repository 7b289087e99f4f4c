//! The checklist items that look at this deployment itself: configuration, production safety,
//! database, migrations, embedder, index, disk space and backups.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use sqlx::sqlite::SqliteConnectOptions;

use super::{CheckItem, chain};
use crate::config::{self, ConfigError, LoadOptions, Settings, redact_url};
use crate::db::{Db, migrate};
use crate::embed::{EmbedKind, Embedder};
use crate::index::{EmbeddedIndex, VectorIndex};
use crate::ops::{disk, recent_backup};

/// Loads the settings. A production refusal fails the item but the rest of the checklist still
/// runs on the same settings, so every problem shows at once.
pub(super) fn config(load: &LoadOptions) -> (CheckItem, Option<Settings>) {
    match config::load(load) {
        Ok(s) => {
            let profile = if s.is_production() { "production" } else { "development" };
            (CheckItem::pass("config", format!("valid for the {profile} profile")), Some(s))
        }
        Err(ConfigError::UnsafeProduction { reasons }) => {
            let mut relaxed = load.clone();
            relaxed.env.insert("DOCENT_ALLOW_UNSAFE_PRODUCTION".into(), "true".into());
            let detail = format!("the server refuses to start in production: {}", reasons.join("; "));
            (CheckItem::fail("config", detail), config::load(&relaxed).ok())
        }
        Err(err) => (CheckItem::fail("config", err.to_string()), None),
    }
}

pub(super) fn production_safety(s: &Settings) -> CheckItem {
    const NAME: &str = "production_safety";
    if !s.is_production() {
        return CheckItem::pass(NAME, "development profile: the production rules apply with DOCENT_ENV=production");
    }
    let mut reasons = config::production_problems(s);
    let plain: Vec<&str> =
        s.security.cors_origins.iter().filter(|o| o.starts_with("http://")).map(String::as_str).collect();
    if !plain.is_empty() {
        reasons.push(format!("CORS_ORIGINS allows plain-HTTP origins ({})", plain.join(", ")));
    }
    if reasons.is_empty() {
        return CheckItem::pass(NAME, "CORS origins exact, cookies Secure, DEBUG off");
    }
    let mut detail = reasons.join("; ");
    if s.allow_unsafe_production {
        detail.push_str(" (started anyway because DOCENT_ALLOW_UNSAFE_PRODUCTION=true)");
    }
    CheckItem::fail(NAME, detail)
}

/// Connects without creating anything: a missing SQLite file fails instead of being created.
pub(super) async fn database(s: &Settings, timeout: Duration) -> (CheckItem, Option<Db>) {
    const NAME: &str = "database";
    let url = s.database_url();
    let shown = redact_url(&url);
    if let Some(file) = sqlite_file(&url).filter(|f| !f.exists()) {
        let detail = format!("the SQLite database {} does not exist (run `docent migrate up`)", file.display());
        return (CheckItem::fail(NAME, detail), None);
    }
    let started = Instant::now();
    let db = match tokio::time::timeout(timeout, Db::connect(s)).await {
        Err(_) => return (CheckItem::fail(NAME, format!("{shown} did not answer within {timeout:?}")), None),
        Ok(Err(err)) => return (CheckItem::fail(NAME, chain(&err)), None),
        Ok(Ok(db)) => db,
    };
    if let Err(err) = db.ping(timeout).await {
        db.close().await;
        return (CheckItem::fail(NAME, format!("{shown}: {}", chain(&err))), None);
    }
    let dialect = format!("{:?}", db.dialect()).to_lowercase();
    let ms = started.elapsed().as_millis();
    (CheckItem::pass(NAME, format!("{dialect} at {shown} answers ({ms} ms)")), Some(db))
}

fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    SqliteConnectOptions::from_str(url).ok().map(|o| o.get_filename().to_path_buf())
}

pub(super) async fn migrations(db: Option<&Db>) -> CheckItem {
    const NAME: &str = "migrations";
    let Some(db) = db else { return CheckItem::skip(NAME, "not checked: the database is unreachable") };
    match migrate::status(db).await {
        Err(err) => CheckItem::fail(NAME, chain(&err)),
        Ok(states) => {
            let pending: Vec<String> =
                states.iter().filter(|m| !m.applied).map(|m| format!("{:04} {}", m.version, m.description)).collect();
            if pending.is_empty() {
                CheckItem::pass(NAME, format!("all applied ({} known to this binary)", states.len()))
            } else {
                let detail = format!("{} pending ({}): run `docent migrate up`", pending.len(), pending.join(", "));
                CheckItem::fail(NAME, detail)
            }
        }
    }
}

/// Loads the model and embeds one sentence, checking the vector's length.
pub(super) async fn embedder(s: &Settings) -> (CheckItem, Option<Arc<dyn Embedder>>) {
    const NAME: &str = "embedder";
    let embedder = match crate::components::load_embedder(s).await {
        Ok(e) => e,
        Err(err) => return (CheckItem::fail(NAME, format!("{}: {}", s.embed.model_dir.display(), chain(&err))), None),
    };
    let probe = embedder.embed(&["Is the embedding model ready?".to_owned()], EmbedKind::Query).await;
    let detail = match probe.map(|mut v| v.pop().map(|v| v.len())) {
        Ok(Some(n)) if n == embedder.dimension() => {
            let item = format!("{} ({n} dimensions) from {}", embedder.model_id(), s.embed.model_dir.display());
            return (CheckItem::pass(NAME, item), Some(embedder));
        }
        Ok(got) => format!("returned {got:?} values instead of {} dimensions", embedder.dimension()),
        Err(err) => chain(&err),
    };
    (CheckItem::fail(NAME, detail), None)
}

/// The index against the database and the embedder. Needs both for a full verdict.
pub(super) async fn index(s: &Settings, db: Option<&Db>, embedder: Option<&dyn Embedder>) -> CheckItem {
    const NAME: &str = "index";
    let path = s.data_dir.join("index.db");
    if !path.exists() {
        return CheckItem::fail(
            NAME,
            format!("no index at {} (start the server or run `docent index rebuild`)", path.display()),
        );
    }
    let (Some(db), Some(embedder)) = (db, embedder) else {
        return CheckItem::skip(NAME, "not checked: needs the database and the embedder");
    };
    let stats = match EmbeddedIndex::open(&path).await {
        Ok(index) => index.stats().await,
        Err(err) => Err(err),
    };
    let stats = match stats {
        Ok(stats) => stats,
        Err(err) => return CheckItem::fail(NAME, chain(&err)),
    };
    let mut problems = Vec::new();
    match db.chunk_count().await {
        Ok(n) if n as usize != stats.chunks => problems.push(format!(
            "the index holds {} chunks but the database {n} (start the server to repair it, or run `docent index rebuild`)",
            stats.chunks
        )),
        Ok(_) => {}
        Err(err) => problems.push(format!("cannot count the database's chunks: {}", chain(&err))),
    }
    let (model, dimension) = (embedder.model_id(), embedder.dimension());
    if stats.model.as_deref().is_some_and(|m| m != model) || stats.dimension.is_some_and(|d| d != dimension) {
        problems.push(format!(
            "the index was built by {} ({} dimensions) but the configured model is {model} ({dimension}): run `docent index rebuild`",
            stats.model.as_deref().unwrap_or("?"),
            stats.dimension.map_or("?".into(), |d| d.to_string()),
        ));
    }
    match db.stale_chunks(model, 1).await {
        Ok(stale) if !stale.is_empty() => problems.push(format!(
            "the database holds chunks not embedded by {model}: run `docent index rebuild` to re-embed them"
        )),
        Ok(_) => {}
        Err(err) => problems.push(format!("cannot read the stored embeddings: {}", chain(&err))),
    }
    if problems.is_empty() {
        let detail = format!(
            "{} chunks in {} documents, as in the database; {model}, {dimension} dimensions",
            stats.chunks, stats.documents
        );
        CheckItem::pass(NAME, detail)
    } else {
        CheckItem::fail(NAME, problems.join("; "))
    }
}

pub(super) fn disk(s: &Settings) -> CheckItem {
    const NAME: &str = "disk";
    let min = s.check.min_free_disk_percent;
    match disk::disk_space(&s.data_dir) {
        Err(err) => CheckItem::fail(NAME, chain(&err)),
        Ok(space) => {
            let detail = format!(
                "{} free of {} ({:.1} %) in {}; at least {min} % required",
                disk::human_bytes(space.free_bytes),
                disk::human_bytes(space.total_bytes),
                space.free_percent(),
                s.data_dir.display()
            );
            if space.free_percent() >= min { CheckItem::pass(NAME, detail) } else { CheckItem::fail(NAME, detail) }
        }
    }
}

pub(super) fn backup(s: &Settings) -> CheckItem {
    const NAME: &str = "backup";
    let max_hours = s.check.max_backup_age_hours;
    if max_hours == 0 {
        return CheckItem::skip(NAME, "switched off (DOCENT_CHECK__MAX_BACKUP_AGE_HOURS=0)");
    }
    let dir = recent_backup::backup_dir(s);
    let newest = match recent_backup::newest_backup(&dir) {
        Ok(Some(newest)) => newest,
        Ok(None) => {
            return CheckItem::fail(NAME, format!("no backup in {} (run `docent backup create`)", dir.display()));
        }
        Err(err) => return CheckItem::fail(NAME, format!("{} (run `docent backup create`)", chain(&err))),
    };
    let age = SystemTime::now().duration_since(newest.modified).unwrap_or_default();
    let hours = age.as_secs_f64() / 3600.0;
    let name = newest.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let detail = format!("newest is {name}, {hours:.1} h old (limit {max_hours} h)");
    if hours <= max_hours as f64 { CheckItem::pass(NAME, detail) } else { CheckItem::fail(NAME, detail) }
}
