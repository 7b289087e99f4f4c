//! `docent check [--json]`: the pre-deployment checklist ([`crate::ops::check`]). Exit code 0
//! when every item passes (or is skipped), 1 when any fails.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::LoadOptions;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print `{"ok", "items": [{"name", "status", "detail"}]}` instead of one line per item.
    #[arg(long)]
    json: bool,
}

/// Runs before the settings are loaded: an invalid configuration is the checklist's first item,
/// not a start-up error.
pub fn run(config: Option<PathBuf>, args: &CheckArgs) -> ExitCode {
    let load = LoadOptions::from_process(config);
    let report = super::runtime().block_on(crate::ops::check::run(&load));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
    } else {
        print!("{}", report.to_text());
    }
    if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
