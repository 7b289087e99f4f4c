//! The command line: one file per subcommand, each calling one library function.
//! Exit codes: 0 success, 1 failure, 2 invalid configuration or usage.

mod ask;
mod backup;
mod check;
mod config;
mod eval;
mod healthcheck;
mod index;
mod ingest;
mod keys;
mod migrate;
mod search;
mod serve;
mod users;
mod version;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{LoadOptions, Settings};
use crate::telemetry::{self, Console, TelemetryGuard};

#[derive(Debug, Parser)]
#[command(name = "docent", version, about = "RAG chatbot backend for books and documentation sites")]
pub struct Cli {
    /// Configuration file (TOML); defaults to ./docent.toml when present.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve,
    /// Answer one question from the ingested book.
    Ask(ask::AskArgs),
    /// Measure retrieval or answer quality on a question set (`eval retrieval|answers --questions FILE`).
    Eval(eval::EvalArgs),
    /// Apply, roll back, inspect or create database migrations.
    Migrate(migrate::MigrateArgs),
    /// Exit 0 if the local server's /health/live answers 200 within 2 s (for container health checks).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Print the effective configuration with every secret redacted.
    Config(config::ConfigArgs),
    /// Print version, git commit and build profile.
    Version(version::VersionArgs),
    /// Ingest a book's sources (Markdown/MDX, HTML, PDF, text) incrementally.
    Ingest(ingest::IngestArgs),
    /// Search the ingested book from the terminal.
    Search(search::SearchArgs),
    /// Rebuild or inspect the search index.
    Index(index::IndexArgs),
    /// Create, list and revoke API keys (`keys create --name NAME --scopes chat,ingest,admin`).
    Keys(keys::KeysArgs),
    /// Manage accounts (`users set-role EMAIL admin` makes the first admin).
    Users(users::UsersArgs),
    /// Pre-deployment checklist: config, database, migrations, index, embedder, providers, disk, backup.
    Check(check::CheckArgs),
    /// Create, list, verify, restore and prune backups of the database.
    Backup(backup::BackupArgs),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> ExitCode {
    crate::memory::configure();
    let cli = Cli::parse();
    match &cli.command {
        Command::Version(args) => return version::run(args),
        Command::Migrate(args) if args.is_new() => return migrate::run_new(args),
        Command::Check(args) => return check::run(cli.config.clone(), args),
        _ => {}
    }
    let settings = match crate::config::load(&LoadOptions::from_process(cli.config.clone())) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve => serve::run(settings),
        Command::Ask(args) => ask::run(settings, args),
        Command::Eval(args) => eval::run(settings, args),
        Command::Migrate(args) => migrate::run(settings, args),
        Command::Healthcheck(args) => healthcheck::run(&settings, &args),
        Command::Config(args) => config::run(&settings, &args),
        Command::Ingest(args) => ingest::run(settings, args),
        Command::Search(args) => search::run(settings, args),
        Command::Index(args) => index::run(settings, args),
        Command::Keys(args) => keys::run(settings, args),
        Command::Users(args) => users::run(settings, args),
        Command::Backup(args) => backup::run(settings, args),
        Command::Version(_) | Command::Check(_) => unreachable!("handled above"),
    }
}

/// A multi-threaded runtime for the async subcommands.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the tokio runtime starts")
}

/// A multi-threaded runtime of `workers` worker threads, for the server.
fn runtime_with(workers: usize) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(workers.max(1)).enable_all().build().expect("the tokio runtime starts")
}

/// Logging for commands other than `serve`: to stderr so stdout stays clean.
fn cli_telemetry(settings: &Settings) -> Option<TelemetryGuard> {
    telemetry::init(settings, Console::Stderr).ok()
}

/// Prints an error with its chain of causes and returns exit code 1.
fn fail(err: &dyn std::error::Error) -> ExitCode {
    let mut message = format!("error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    eprintln!("{message}");
    ExitCode::FAILURE
}
