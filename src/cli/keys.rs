//! `docent keys create --name NAME --scopes chat,ingest,admin [--expires-in 90d] [--json]`,
//! `docent keys list [--json]`, `docent keys revoke ID`. The key is printed once, at creation.

use std::process::ExitCode;

use crate::access::keys::{self, NewKey, reveal};
use crate::access::{AccessError, Actor, AuditContext, audit};
use crate::config::Settings;
use crate::db::Db;

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    action: KeysAction,
}

#[derive(Debug, clap::Subcommand)]
enum KeysAction {
    /// Create a key and print it (only this once).
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: chat, ingest, admin.
        #[arg(long)]
        scopes: String,
        /// Lifetime such as 90d, 12h or 2w; without it the key does not expire.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key at once.
    Revoke { id: String },
}

pub fn run(settings: Settings, args: KeysArgs) -> ExitCode {
    let _guard = super::cli_telemetry(&settings);
    super::runtime().block_on(async move {
        let db = match open(&settings).await {
            Ok(db) => db,
            Err(code) => return code,
        };
        let outcome = match args.action {
            KeysAction::Create { name, scopes, expires_in, json } => create(&db, name, &scopes, expires_in, json).await,
            KeysAction::List { json } => list(&db, json).await,
            KeysAction::Revoke { id } => revoke(&db, &id).await,
        };
        db.close().await;
        exit_code(outcome)
    })
}

/// The exit status of an access command: 2 with the field named for a refused value, 1 for
/// any other failure.
pub(super) fn exit_code(outcome: Result<(), AccessError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(AccessError::Invalid { field, message }) => {
            eprintln!("error: {field}: {message}");
            ExitCode::from(2)
        }
        Err(err) => super::fail(&err),
    }
}

/// The database, migrated as `serve` would.
pub(super) async fn open(settings: &Settings) -> Result<Db, ExitCode> {
    let db = Db::connect(settings).await.map_err(|e| super::fail(&e))?;
    crate::components::ensure_migrated(&db, settings).await.map_err(|e| super::fail(&e))?;
    Ok(db)
}

async fn create(
    db: &Db,
    name: String,
    scopes: &str,
    expires_in: Option<String>,
    json: bool,
) -> Result<(), AccessError> {
    let scopes = keys::parse_scopes([scopes])?;
    let expires_in = expires_in.as_deref().map(keys::parse_expires_in).transpose()?;
    let created = keys::create_key(db, NewKey { name, scopes, expires_in, created_by: None }).await?;
    let details = serde_json::json!({ "name": created.info.name, "scopes": created.info.scopes });
    let service = crate::access::AccessService::new(db.clone(), Default::default());
    service.audit(&AuditContext::default(), Actor::cli(), audit::KEY_CREATE, Some(&created.info.id), details).await?;
    if json {
        let mut body = serde_json::to_value(&created.info).unwrap_or_default();
        body["key"] = reveal(&created).into();
        println!("{body}");
    } else {
        println!("{}", reveal(&created));
        eprintln!(
            "key {} created with scopes {}; store it now, it is not shown again",
            created.info.id,
            created.info.scopes.join(",")
        );
    }
    Ok(())
}

async fn list(db: &Db, json: bool) -> Result<(), AccessError> {
    let keys = keys::list_keys(db).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&keys).unwrap_or_default());
        return Ok(());
    }
    for k in keys {
        let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
        let expires = k.expires_at.map_or("never".to_owned(), |t| t.to_rfc3339());
        println!("{}  {:<24} {:<18} {state:<8} expires {expires}", k.id, k.name, k.scopes.join(","));
    }
    Ok(())
}

async fn revoke(db: &Db, id: &str) -> Result<(), AccessError> {
    keys::revoke_key(db, id).await?;
    let service = crate::access::AccessService::new(db.clone(), Default::default());
    service.audit(&AuditContext::default(), Actor::cli(), audit::KEY_REVOKE, Some(id), serde_json::json!({})).await?;
    eprintln!("key {id} revoked");
    Ok(())
}
