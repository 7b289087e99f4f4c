//! The audit log's vocabulary: who did what ([`Actor`], the action names) and from where
//! ([`AuditContext`]: client IP and request id). Entries are written before the response is sent;
//! a failed write fails the request rather than leaving an action unrecorded.

use std::net::IpAddr;

use crate::db::audit::{AuditRecord, NewAuditEntry};

use super::{AccessError, AccessService, Principal};

pub const SIGNUP: &str = "auth.signup";
pub const SIGNIN: &str = "auth.signin";
pub const SIGNIN_FAILED: &str = "auth.signin_failed";
pub const SIGNOUT: &str = "auth.signout";
pub const PASSWORD_CHANGE: &str = "auth.password_change";
pub const KEY_CREATE: &str = "key.create";
pub const KEY_REVOKE: &str = "key.revoke";
pub const DOCUMENT_INGEST: &str = "document.ingest";
pub const DOCUMENT_DELETE: &str = "document.delete";
pub const ROLE_CHANGE: &str = "user.role_change";
pub const TRANSLATION_REQUEST: &str = "translation.request";

/// Every action name, for validating the `action` filter.
pub const ACTIONS: &[&str] = &[
    SIGNUP,
    SIGNIN,
    SIGNIN_FAILED,
    SIGNOUT,
    PASSWORD_CHANGE,
    KEY_CREATE,
    KEY_REVOKE,
    DOCUMENT_INGEST,
    DOCUMENT_DELETE,
    ROLE_CHANGE,
    TRANSLATION_REQUEST,
];

/// Who performed an action: `user`, `key`, `anonymous` or `cli` (an operator at the terminal).
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
}

impl Actor {
    pub fn of(principal: &Principal) -> Self {
        Self { kind: principal.kind(), id: principal.actor_id().map(str::to_owned) }
    }

    pub fn user(id: &str) -> Self {
        Self { kind: "user", id: Some(id.to_owned()) }
    }

    pub fn cli() -> Self {
        Self { kind: "cli", id: None }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

/// One page of entries.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl AccessService {
    /// Appends an entry to the audit log.
    pub async fn audit(
        &self,
        ctx: &AuditContext,
        actor: Actor,
        action: &'static str,
        target: Option<&str>,
        details: serde_json::Value,
    ) -> Result<(), AccessError> {
        let entry = NewAuditEntry {
            actor_kind: actor.kind,
            actor_id: actor.id,
            action,
            target: target.map(str::to_owned),
            ip: ctx.ip.map(|ip| ip.to_string()),
            request_id: ctx.request_id.clone(),
            details,
        };
        self.db.append_audit(&entry).await?;
        Ok(())
    }

    /// A page of entries, newest first, optionally for one action.
    pub async fn audit_page(&self, action: Option<&str>, page: i64, per_page: i64) -> Result<AuditPage, AccessError> {
        if let Some(action) = action.filter(|a| !ACTIONS.contains(a)) {
            return Err(AccessError::invalid(
                "action",
                format!("unknown action {action:?}; one of {}", ACTIONS.join(", ")),
            ));
        }
        if page < 1 || !(1..=200).contains(&per_page) {
            return Err(AccessError::invalid("page", "page starts at 1 and per_page is 1-200"));
        }
        let entries = self.db.audit_entries(action, (page - 1) * per_page, per_page).await?;
        let total = self.db.audit_count(action).await?;
        Ok(AuditPage { entries, page, per_page, total })
    }
}
