//! API keys: `dk_<id>_<secret>`, shown once at creation; only the SHA-256 of the secret is kept
//! (the secret is 256 random bits, so a slow hash adds nothing). One library function per
//! operation, shared by `docent keys` and the admin endpoints.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::sessions::{constant_time_eq, random_token, token_hash};
use super::{AccessError, AccessService, Principal, Scope};
use crate::db::Db;
use crate::db::api_keys::ApiKeyRecord;

pub const PREFIX: &str = "dk_";
const MAX_NAME_CHARS: usize = 100;
/// Longest `--expires-in`: ten years.
const MAX_EXPIRY_DAYS: i64 = 3650;

/// What to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    pub expires_in: Option<Duration>,
    /// The admin user creating it (`None` from the CLI or another key).
    pub created_by: Option<String>,
}

/// A key as listed: everything but the secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just created, with its full token (never shown again).
#[derive(Debug)]
pub struct CreatedKey {
    pub info: KeyInfo,
    pub key: SecretString,
}

/// A key's usage so far (stored counters plus what is not yet written).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyUsage {
    pub key_id: String,
    pub requests: i64,
    pub tokens: i64,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRecord> for KeyInfo {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            scopes: k.scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            id: k.id,
            name: k.name,
            created_by: k.created_by,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// Parses `chat,ingest,admin` (at least one scope).
pub fn parse_scopes<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<BTreeSet<Scope>, AccessError> {
    let mut scopes = BTreeSet::new();
    for name in names.into_iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        scopes.insert(name.parse::<Scope>().map_err(|e| AccessError::invalid("scopes", e))?);
    }
    if scopes.is_empty() {
        return Err(AccessError::invalid("scopes", "at least one of chat, ingest or admin is required"));
    }
    Ok(scopes)
}

/// Parses a lifetime like `90d`, `12h`, `30m` or `2w` (1 minute to 10 years).
pub fn parse_expires_in(text: &str) -> Result<Duration, AccessError> {
    let bad = || {
        AccessError::invalid("expires_in", format!("expected a number and a unit (m, h, d, w) like 90d, got {text:?}"))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let duration = match unit {
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    if duration < Duration::minutes(1) || duration > Duration::days(MAX_EXPIRY_DAYS) {
        return Err(AccessError::invalid("expires_in", "must be between 1 minute and 10 years"));
    }
    Ok(duration)
}

/// Splits `dk_<id>_<secret>` into id and secret.
pub fn split_key(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

/// Creates a key and returns it with its token.
pub async fn create_key(db: &Db, new: NewKey) -> Result<CreatedKey, AccessError> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AccessError::invalid("name", format!("must be 1-{MAX_NAME_CHARS} printable characters")));
    }
    let id = hex::encode(rand::random::<[u8; 8]>());
    let secret = random_token();
    let now = Utc::now();
    let record = ApiKeyRecord {
        id: id.clone(),
        name,
        secret_hash: token_hash(&secret),
        scopes: new.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
        created_by: new.created_by,
        created_at: now,
        expires_at: new.expires_in.map(|d| now + d),
        revoked_at: None,
        last_used_at: None,
        request_count: 0,
        token_count: 0,
    };
    db.insert_api_key(&record).await?;
    Ok(CreatedKey { info: record.into(), key: SecretString::from(format!("{PREFIX}{id}_{secret}")) })
}

/// Every key, newest first.
pub async fn list_keys(db: &Db) -> Result<Vec<KeyInfo>, AccessError> {
    Ok(db.api_keys().await?.into_iter().map(KeyInfo::from).collect())
}

/// Revokes a key at once (revoking twice is harmless).
pub async fn revoke_key(db: &Db, id: &str) -> Result<(), AccessError> {
    if db.revoke_api_key(id, Utc::now()).await? { Ok(()) } else { Err(AccessError::KeyNotFound(id.to_owned())) }
}

impl AccessService {
    /// The principal of a bearer token: a known key whose secret matches, not revoked, not expired.
    pub async fn authenticate_key(&self, token: &str) -> Result<Principal, AccessError> {
        let (id, secret) = split_key(token).ok_or(AccessError::InvalidKey)?;
        let record = self.db.api_key(&id.to_ascii_lowercase()).await?.ok_or(AccessError::InvalidKey)?;
        let live = record.revoked_at.is_none() && record.expires_at.is_none_or(|at| Utc::now() < at);
        if !constant_time_eq(&token_hash(&secret.to_ascii_lowercase()), &record.secret_hash) || !live {
            return Err(AccessError::InvalidKey);
        }
        let scopes = record.scopes.split(',').filter_map(|s| s.parse().ok()).collect();
        self.usage.record_request(&record.id);
        Ok(Principal::ApiKey { id: record.id, scopes })
    }

    pub async fn create_key(&self, new: NewKey) -> Result<CreatedKey, AccessError> {
        create_key(&self.db, new).await
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>, AccessError> {
        list_keys(&self.db).await
    }

    pub async fn revoke_key(&self, id: &str) -> Result<(), AccessError> {
        revoke_key(&self.db, id).await
    }

    /// Requests, tokens and last use of a key, including counts not yet written.
    pub async fn key_usage(&self, id: &str) -> Result<KeyUsage, AccessError> {
        let _no_flush = self.usage.hold_flushes().await;
        let record = self.db.api_key(id).await?.ok_or_else(|| AccessError::KeyNotFound(id.to_owned()))?;
        let pending = self.usage.pending(id);
        Ok(KeyUsage {
            key_id: record.id,
            requests: record.request_count + pending.requests,
            tokens: record.token_count + pending.tokens,
            last_used_at: pending.last_used.max(record.last_used_at),
        })
    }
}

/// The token of a created key, for printing once.
pub fn reveal(key: &CreatedKey) -> &str {
    key.key.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units_and_out_of_range_ones_are_refused() {
        assert_eq!(parse_expires_in("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_expires_in("12h").unwrap(), Duration::hours(12));
        for bad in ["90", "d", "0m", "99999d", "5y", "-1d"] {
            assert!(parse_expires_in(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_split_into_id_and_secret_only_when_well_formed() {
        let token = format!("dk_{}_{}", "0123456789abcdef", "a".repeat(64));
        assert_eq!(split_key(&token), Some(("0123456789abcdef", "a".repeat(64).as_str())));
        assert_eq!(split_key("dk_short_secret"), None);
        assert_eq!(split_key("sk_0123456789abcdef_aaaa"), None);
    }

    #[test]
    fn scopes_parse_from_a_comma_list_and_an_empty_list_is_refused() {
        assert_eq!(parse_scopes(["chat, ingest"]).unwrap(), [Scope::Chat, Scope::Ingest].into());
        assert!(parse_scopes([""]).is_err());
        assert!(parse_scopes(["root"]).is_err());
    }
}
