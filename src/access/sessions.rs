//! Sign-in sessions: a 256-bit random token in the `docent_session` cookie, stored only as its
//! SHA-256; an absolute expiry and an idle timeout; a CSRF token per session for double-submit.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::{AccessError, AccessService, Role};
use crate::db::sessions::SessionRecord;

/// A session just opened: the token goes into the cookie once and is never stored.
#[derive(Debug)]
pub struct NewSession {
    pub token: SecretString,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A live session found by its cookie.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub id: String,
    pub user_id: String,
    pub role: Role,
    pub csrf_token: String,
}

/// Where a sign-in came from, stored with the session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// 256 random bits as 64 lowercase hex digits.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What is stored for a token: its SHA-256 in hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `value` has the shape of a session token (64 hex digits).
pub fn is_token_shaped(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl AccessService {
    /// Opens a session for `user_id` and prunes sessions past their expiry.
    pub async fn open_session(&self, user_id: &str, client: &ClientInfo) -> Result<NewSession, AccessError> {
        let now = Utc::now();
        let token = random_token();
        let record = SessionRecord {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            token_hash: token_hash(&token),
            csrf_token: random_token(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + secs(self.settings.session_ttl_secs),
            ip: client.ip.map(|ip| ip.to_string()),
            user_agent: client.user_agent.as_ref().map(|ua| ua.chars().take(256).collect()),
        };
        self.db.insert_session(&record).await?;
        if let Err(err) = self.db.delete_expired_sessions(now).await {
            tracing::warn!(error = %err, "could not prune expired sessions");
        }
        Ok(NewSession {
            token: SecretString::from(token),
            csrf_token: record.csrf_token,
            expires_at: record.expires_at,
        })
    }

    /// The live session for a cookie token; `None` when unknown, expired or idle too long (an
    /// ended session is deleted). Marks the session seen, at most every few minutes.
    pub async fn resolve_session(&self, token: &str) -> Result<Option<ActiveSession>, AccessError> {
        if !is_token_shaped(token) {
            return Ok(None);
        }
        let Some(found) = self.db.session_by_token_hash(&token_hash(&token.to_ascii_lowercase())).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        let idle = secs(self.settings.session_idle_secs);
        if now >= found.expires_at || now - found.last_seen_at >= idle {
            self.db.delete_session(&found.id).await?;
            return Ok(None);
        }
        if now - found.last_seen_at >= touch_interval(self.settings.session_idle_secs) {
            self.db.touch_session(&found.id, now).await?;
        }
        let role = found.role.parse().unwrap_or(Role::Reader);
        Ok(Some(ActiveSession { id: found.id, user_id: found.user_id, role, csrf_token: found.csrf_token }))
    }

    /// Ends a session (sign-out).
    pub async fn end_session(&self, session_id: &str) -> Result<(), AccessError> {
        Ok(self.db.delete_session(session_id).await?)
    }
}

fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

/// How stale `last_seen_at` may get before it is rewritten: a twentieth of the idle timeout,
/// at most five minutes, so an active session never idles out and the database is not written
/// on every request.
fn touch_interval(idle_secs: u64) -> Duration {
    Duration::milliseconds(i64::try_from((idle_secs * 1000 / 20).min(300_000)).unwrap_or(300_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_only_their_hash_is_kept() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(is_token_shaped(&a));
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a).len(), 64);
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
