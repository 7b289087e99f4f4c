//! `docent serve`: build the application and serve until SIGTERM/SIGINT.

use std::process::ExitCode;

use crate::Application;
use crate::config::Settings;
use crate::telemetry::{self, Console};

pub fn run(settings: Settings) -> ExitCode {
    let _guard = match telemetry::init(&settings, Console::Stdout) {
        Ok(guard) => guard,
        Err(err) => return super::fail(&err),
    };
    super::runtime_with(settings.server_workers()).block_on(async move {
        match Application::build(settings).await {
            Ok(app) => {
                app.run_until_stopped().await;
                ExitCode::SUCCESS
            }
            Err(err) => {
                tracing::error!(error = %err, "start-up failed");
                super::fail(&err)
            }
        }
    })
}
