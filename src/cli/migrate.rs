//! `docent migrate up | down [--steps N] | status | new NAME`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::db::Db;
use crate::db::migrate;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    action: MigrateAction,
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the most recent migrations.
    Down {
        /// How many migrations to roll back.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List applied and pending migrations.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create an up/down pair of SQL files for both SQLite and PostgreSQL.
    New {
        /// What the migration does, e.g. "add user avatars".
        name: String,
        /// The migrations folder.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
}

impl MigrateArgs {
    /// `new` only writes files and needs no configuration or database.
    pub fn is_new(&self) -> bool {
        matches!(self.action, MigrateAction::New { .. })
    }
}

pub fn run_new(args: &MigrateArgs) -> ExitCode {
    let MigrateAction::New { name, dir } = &args.action else { return ExitCode::FAILURE };
    match migrate::new_migration(dir, name) {
        Ok(files) => {
            files.iter().for_each(|f| println!("created {}", f.display()));
            println!("rebuild docent to embed the new migration");
            ExitCode::SUCCESS
        }
        Err(err) => super::fail(&err),
    }
}

pub fn run(settings: Settings, args: MigrateArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    super::runtime().block_on(async move {
        let db = match Db::connect(&settings).await {
            Ok(db) => db,
            Err(err) => return super::fail(&err),
        };
        let result = execute(&db, args.action).await;
        db.close().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => super::fail(&err),
        }
    })
}

async fn execute(db: &Db, action: MigrateAction) -> Result<(), migrate::MigrateError> {
    match action {
        MigrateAction::Up => {
            let applied = migrate::up(db).await?;
            if applied.is_empty() {
                println!("database is up to date");
            }
            applied.iter().for_each(|v| println!("applied {v:04}"));
        }
        MigrateAction::Down { steps } => {
            let reverted = migrate::down(db, steps).await?;
            if reverted.is_empty() {
                println!("nothing to roll back");
            }
            reverted.iter().for_each(|v| println!("rolled back {v:04}"));
        }
        MigrateAction::Status { json } => {
            let states = migrate::status(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&states).unwrap_or_default());
            } else {
                for m in &states {
                    println!(
                        "{:04}  {:<8}  {}",
                        m.version,
                        if m.applied { "applied" } else { "pending" },
                        m.description
                    );
                }
            }
        }
        MigrateAction::New { .. } => unreachable!("handled without a database"),
    }
    Ok(())
}
