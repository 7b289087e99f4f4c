//! Password hashing (argon2id with the crate's OWASP-recommended defaults: 19 MiB, 2 passes, 1
//! lane) and the password policy. Hashing runs on the blocking pool so it never stalls the
//! async workers.

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use super::AccessError;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords too common to accept even when long enough.
const COMMON: &[&str] = &[
    "1234567890",
    "0123456789",
    "12345678910",
    "123456789012",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "qwertyuiop",
    "qwerty12345",
    "qwerty123456",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "administrator",
    "abcdefghij",
    "abc1234567",
    "changeme123",
];

/// Checks the password policy: 10–128 characters, not the e-mail address or its local part,
/// not one or two characters repeated, not a well-known password.
pub fn check_policy(password: &str, email: &str) -> Result<(), AccessError> {
    let invalid = |message: &str| Err(AccessError::invalid("password", message));
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return invalid(&format!("must be {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters"));
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower == email || (!local.is_empty() && lower == local) {
        return invalid("must not be your e-mail address");
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return invalid("must use more than three different characters");
    }
    if COMMON.contains(&lower.as_str()) {
        return invalid("is too common; choose another");
    }
    Ok(())
}

/// The argon2id PHC string of `password`.
pub async fn hash(password: String) -> Result<String, AccessError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| AccessError::Hash(format!("hashing task failed: {e}")))?
}

fn hash_blocking(password: &str) -> Result<String, AccessError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| AccessError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccessError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. With `hash == None` (unknown account) a
/// dummy hash is verified instead, so both cases cost the same time.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, AccessError> {
    tokio::task::spawn_blocking(move || {
        let dummy = hash.is_none();
        let stored = match hash {
            Some(h) => h,
            None => dummy_hash()?.to_owned(),
        };
        let parsed =
            PasswordHash::new(&stored).map_err(|e| AccessError::Hash(format!("stored hash unreadable: {e}")))?;
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(matches && !dummy)
    })
    .await
    .map_err(|e| AccessError::Hash(format!("verification task failed: {e}")))?
}

/// A hash of a random password, computed once, verified against for unknown accounts.
fn dummy_hash() -> Result<&'static str, AccessError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let h = hash_blocking(&hex::encode(rand::random::<[u8; 16]>()))?;
    Ok(DUMMY.get_or_init(|| h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_email_like_repetitive_and_common_passwords() {
        let email = "ada.lovelace@example.com";
        for bad in ["short", "ada.lovelace@example.com", "Ada.Lovelace", "aaaaaaaaaaaa", "ababababab", "Password123"] {
            assert!(check_policy(bad, email).is_err(), "{bad} should be refused");
        }
        assert!(check_policy("correct horse battery", email).is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_an_unknown_account_never_verifies() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(!verify("correct horse battery".into(), None).await.unwrap());
    }
}
