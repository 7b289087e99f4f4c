//! `docent config`: the effective configuration, secrets redacted, as TOML or JSON.

use std::process::ExitCode;

use serde_json::Value;

use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Print JSON instead of TOML.
    #[arg(long)]
    json: bool,
}

pub fn run(settings: &Settings, args: &ConfigArgs) -> ExitCode {
    let tree = strip_nulls(settings.effective_json());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tree).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    match toml::to_string_pretty(&tree) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => super::fail(&err),
    }
}

/// TOML has no null: unset optional settings are left out.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        other => other,
    }
}
