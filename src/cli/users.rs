//! `docent users set-role EMAIL reader|admin` (how the first admin is made) and
//! `docent users list [--json]`.

use std::process::ExitCode;

use crate::access::{AccessError, AccessService, Actor, AuditContext, Role};
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    action: UsersAction,
}

#[derive(Debug, clap::Subcommand)]
enum UsersAction {
    /// Give an account a role: reader or admin.
    SetRole { email: String, role: String },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: Settings, args: UsersArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    super::runtime().block_on(async move {
        let db = match super::keys::open(&settings).await {
            Ok(db) => db,
            Err(code) => return code,
        };
        let service = AccessService::new(db.clone(), settings.access.clone());
        let outcome = match args.action {
            UsersAction::SetRole { email, role } => set_role(&service, &email, &role).await,
            UsersAction::List { json } => list(&service, json).await,
        };
        db.close().await;
        super::keys::exit_code(outcome)
    })
}

async fn set_role(service: &AccessService, email: &str, role: &str) -> Result<(), AccessError> {
    let role: Role = role.parse().map_err(|e: String| AccessError::invalid("role", e))?;
    service.set_role(email, role, &AuditContext::default(), Actor::cli()).await?;
    eprintln!("{email} is now {role}");
    Ok(())
}

async fn list(service: &AccessService, json: bool) -> Result<(), AccessError> {
    let accounts = service.accounts(1, 200).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&accounts).unwrap_or_default());
        return Ok(());
    }
    for a in accounts {
        println!("{}  {:<32} {:<6} {}", a.id, a.email, a.role, a.name.unwrap_or_default());
    }
    Ok(())
}
