//! Serialisation helpers that keep secrets out of `docent config`, logs and debug output.

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

const REDACTED: &str = "[redacted]";

/// Serialises any secret as `"[redacted]"` (or `null` when absent).
pub fn redacted<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

/// Serialises a connection URL with its password (if any) redacted.
pub fn serialize_url<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(url) => s.serialize_str(&redact_url(url.expose_secret())),
        None => s.serialize_none(),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some(REDACTED));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => REDACTED.into(),
    }
}
