//! PostgreSQL: `pg_dump -Fc` pinned to an exported snapshot (the row counts of the manifest come
//! from the same snapshot), `pg_restore` into a scratch database for verification, and
//! `pg_restore --clean --if-exists --single-transaction` for a restore (all or nothing).
//! Passwords reach the tools through `PGPASSWORD`, never the command line.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

use super::BackupError;
use super::sqlite::Inspection;
use crate::config::{Settings, redact_url};
use crate::db::DbError;

/// The client tools, found once per command.
#[derive(Debug, Clone)]
pub(super) struct PgTools {
    pg_dump: PathBuf,
    pg_restore: PathBuf,
}

impl PgTools {
    /// `DOCENT_BACKUP__PG_BIN_DIR`, else `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
    pub fn find(settings: &Settings) -> Result<Self, BackupError> {
        Ok(Self { pg_dump: find_tool(settings, "pg_dump")?, pg_restore: find_tool(settings, "pg_restore")? })
    }
}

fn find_tool(settings: &Settings, tool: &'static str) -> Result<PathBuf, BackupError> {
    if let Some(dir) = &settings.backup.pg_bin_dir {
        let path = dir.join(tool);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(BackupError::ToolMissing { tool, searched: format!("DOCENT_BACKUP__PG_BIN_DIR={}", dir.display()) })
        };
    }
    let path_dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .collect();
    versioned.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    path_dirs
        .into_iter()
        .chain(versioned.into_iter().map(|(_, dir)| dir))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .ok_or(BackupError::ToolMissing { tool, searched: "PATH and /usr/lib/postgresql/*/bin".into() })
}

/// A libpq URL without its password, and the password (for `PGPASSWORD`).
fn split_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let password = parsed.password().map(|p| {
                url::form_urlencoded::parse(format!("p={}", p.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            });
            let _ = parsed.set_password(None);
            (parsed.to_string(), password.flatten())
        }
        Err(_) => (url.to_owned(), None),
    }
}

async fn run(tool: &Path, args: &[String], url: &str) -> Result<(), BackupError> {
    let (plain_url, password) = split_password(url);
    let mut command = tokio::process::Command::new(tool);
    command.args(args).arg(format!("--dbname={plain_url}")).kill_on_drop(true);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let shown = format!("{} {} --dbname={}", tool.display(), args.join(" "), redact_url(&plain_url));
    let output = command.output().await.map_err(|source| BackupError::Spawn { command: shown.clone(), source })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(BackupError::Command { command: shown, status: output.status.to_string(), stderr })
}

async fn connect(url: &str) -> Result<PgConnection, BackupError> {
    let options = PgConnectOptions::from_str(url).map_err(|source| DbError::BadUrl { url: redact_url(url), source })?;
    PgConnection::connect_with(&options.application_name("docent-backup"))
        .await
        .map_err(|source| DbError::Connect { url: redact_url(url), source }.into())
}

/// Dumps the database to `dest` and counts its rows, both in one exported snapshot.
pub(super) async fn dump(url: &str, tools: &PgTools, dest: &Path) -> Result<Inspection, BackupError> {
    let mut conn = connect(url).await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(BackupError::sql("starting the snapshot transaction failed"))?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await
        .map_err(BackupError::sql("exporting the snapshot failed"))?;
    let inspection = inspect(&mut conn).await?;
    let args = vec![
        "--format=custom".to_owned(),
        "--compress=0".to_owned(),
        format!("--snapshot={snapshot}"),
        format!("--file={}", dest.display()),
    ];
    let dumped = run(&tools.pg_dump, &args, url).await;
    let _ = conn.execute("COMMIT").await;
    let _ = conn.close().await;
    dumped.map(|()| inspection)
}

/// Tables of the current schema with their row counts, and the applied migrations.
pub(super) async fn inspect(conn: &mut PgConnection) -> Result<Inspection, BackupError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(BackupError::sql("listing the tables failed"))?;
    let mut inspection = Inspection::default();
    for name in names {
        let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        let count: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut *conn)
            .await
            .map_err(BackupError::sql(format!("counting the rows of {name} failed")))?;
        inspection.tables.insert(name, count as u64);
    }
    if inspection.tables.contains_key("_sqlx_migrations") {
        inspection.migrations =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut *conn)
                .await
                .map_err(BackupError::sql("reading _sqlx_migrations failed"))?;
    }
    Ok(inspection)
}

/// Tables, row counts and migrations of the database at `url`.
pub(super) async fn inspect_url(url: &str) -> Result<Inspection, BackupError> {
    let mut conn = connect(url).await?;
    let inspection = inspect(&mut conn).await;
    let _ = conn.close().await;
    inspection
}

/// Restores `dump` into a scratch database created next to the configured one, inspects it and
/// drops it again (also when the restore fails).
pub(super) async fn restore_into_scratch(url: &str, tools: &PgTools, dump: &Path) -> Result<Inspection, BackupError> {
    let name = format!("docent_verify_{}", uuid::Uuid::new_v4().simple());
    let mut admin = connect(url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .map_err(BackupError::sql(format!("creating the scratch database {name} failed (verify needs CREATEDB)")))?;
    let mut scratch_url = url::Url::parse(url).map_err(|_| BackupError::Task("unparsable DATABASE_URL".into()))?;
    scratch_url.set_path(&name);
    let result = restore_and_inspect(scratch_url.as_str(), tools, dump).await;
    let dropped = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
    let _ = admin.close().await;
    let inspection = result?;
    dropped.map_err(BackupError::sql(format!("dropping the scratch database {name} failed")))?;
    Ok(inspection)
}

async fn restore_and_inspect(url: &str, tools: &PgTools, dump: &Path) -> Result<Inspection, BackupError> {
    let args = ["--exit-on-error", "--no-owner", "--no-privileges", "--single-transaction"].map(String::from);
    run(&tools.pg_restore, &[args.as_slice(), &[dump.display().to_string()]].concat(), url).await?;
    inspect_url(url).await
}

/// Why the configured database counts as live (a table other than the migrations holds rows).
pub(super) async fn live_reason(url: &str) -> Result<Option<String>, BackupError> {
    let busy: Vec<String> = inspect_url(url)
        .await?
        .tables
        .into_iter()
        .filter(|(name, rows)| *rows > 0 && name != "_sqlx_migrations")
        .map(|(name, rows)| format!("{name} has {rows} rows"))
        .collect();
    Ok((!busy.is_empty()).then(|| format!("the database holds data ({})", busy.join(", "))))
}

/// Replaces the configured database's objects with the dump's, in one transaction.
pub(super) async fn restore(url: &str, tools: &PgTools, dump: &Path) -> Result<(), BackupError> {
    let args = ["--clean", "--if-exists", "--exit-on-error", "--no-owner", "--no-privileges", "--single-transaction"]
        .map(String::from);
    run(&tools.pg_restore, &[args.as_slice(), &[dump.display().to_string()]].concat(), url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_taken_out_of_the_url_and_decoded() {
        let (url, password) = split_password("postgres://docent:p%40s+s@db:5432/docent?sslmode=require");
        assert_eq!(url, "postgres://docent@db:5432/docent?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@s+s"));
    }
}
