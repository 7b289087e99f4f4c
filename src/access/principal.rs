//! [`Principal`]: the caller of one request, and the [`Scope`]s it holds.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::db::conversations::Owner;

/// A permission an API key (or a user's role) grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Scope {
    /// Ask questions and search the book.
    Chat,
    /// Add, replace and delete documents.
    Ingest,
    /// Everything, including keys, users and the audit log.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Chat, Scope::Ingest, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Ingest => "ingest",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chat" => Ok(Self::Chat),
            "ingest" => Ok(Self::Ingest),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown scope {other:?} (expected chat, ingest or admin)")),
        }
    }
}

/// A signed-in user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reader" => Ok(Self::Reader),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role {other:?} (expected reader or admin)")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A reader signed in with a session cookie.
    User { id: String, role: Role },
    /// A caller presenting `Authorization: Bearer dk_<id>_<secret>`.
    ApiKey { id: String, scopes: BTreeSet<Scope> },
    /// No credentials: identified by the `docent_anon` cookie (`session`).
    Anonymous { session: String },
}

impl Principal {
    /// Whether the caller holds `scope`. `admin` implies every scope; a signed-in user may
    /// chat, and an admin user holds every scope. Anonymous callers hold none (anonymous chat
    /// is a setting checked at the edge, not a scope).
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self {
            Self::User { role: Role::Admin, .. } => true,
            Self::User { role: Role::Reader, .. } => scope == Scope::Chat,
            Self::ApiKey { scopes, .. } => scopes.contains(&Scope::Admin) || scopes.contains(&scope),
            Self::Anonymous { .. } => false,
        }
    }

    /// The owner of the conversations (and translation requests) this caller creates.
    pub fn owner(&self) -> Owner {
        match self {
            Self::User { id, .. } => Owner { kind: "user", id: id.clone() },
            Self::ApiKey { id, .. } => Owner { kind: "key", id: id.clone() },
            Self::Anonymous { session } => Owner::anonymous(session.clone()),
        }
    }

    /// `user`, `key` or `anonymous`, as the audit log and metrics label the caller.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::ApiKey { .. } => "key",
            Self::Anonymous { .. } => "anonymous",
        }
    }

    /// The id of the user or key; `None` for anonymous callers (whose session id is a secret
    /// bearer token and must not be logged).
    pub fn actor_id(&self) -> Option<&str> {
        match self {
            Self::User { id, .. } | Self::ApiKey { id, .. } => Some(id),
            Self::Anonymous { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_key_holds_every_scope_and_a_chat_key_only_chat() {
        let admin = Principal::ApiKey { id: "k1".into(), scopes: [Scope::Admin].into() };
        let chat = Principal::ApiKey { id: "k2".into(), scopes: [Scope::Chat].into() };
        assert!(Scope::ALL.iter().all(|s| admin.has_scope(*s)));
        assert!(chat.has_scope(Scope::Chat));
        assert!(!chat.has_scope(Scope::Ingest));
    }

    #[test]
    fn scopes_parse_case_insensitively_and_name_the_accepted_values_on_error() {
        assert_eq!("Ingest".parse::<Scope>(), Ok(Scope::Ingest));
        assert!("root".parse::<Scope>().unwrap_err().contains("chat, ingest or admin"));
    }
}
