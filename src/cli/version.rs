//! `docent version`: version, git commit and build profile.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &VersionArgs) -> ExitCode {
    let info = crate::build_info();
    if args.json {
        println!("{info}");
    } else {
        println!(
            "docent {} (commit {}, {} build)",
            info["version"].as_str().unwrap_or("?"),
            info["commit"].as_str().unwrap_or("?"),
            info["profile"].as_str().unwrap_or("?")
        );
    }
    ExitCode::SUCCESS
}
