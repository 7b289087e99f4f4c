//! Accounts: sign-up, sign-in, the reader's own details and profile, password change, and the
//! claim of an anonymous reader's conversations by the account they sign in with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use super::audit::{self, Actor, AuditContext};
use super::sessions::{ClientInfo, NewSession};
use super::{AccessError, AccessService, Role, passwords};
use crate::db::conversations::Owner;
use crate::db::users::UserRecord;

const MAX_NAME_CHARS: usize = 100;
const MAX_BACKGROUND_CHARS: usize = 1000;

/// What the reader tells about themselves. It may shape an answer's style and language; it never
/// changes which sources are retrieved or cited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_experience: Option<Experience>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_experience: Option<Experience>,
    /// Free text: role, field, what they want from the book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// A BCP 47 language tag such as `en`, `ur` or `pt-BR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Experience {
    None,
    Beginner,
    Intermediate,
    Advanced,
    Expert,
}

impl Profile {
    pub fn validate(&self) -> Result<(), AccessError> {
        if self.background.as_deref().is_some_and(|b| b.chars().count() > MAX_BACKGROUND_CHARS) {
            return Err(AccessError::invalid(
                "profile.background",
                format!("must be at most {MAX_BACKGROUND_CHARS} characters"),
            ));
        }
        if let Some(tag) = &self.preferred_language {
            let ok = (2..=35).contains(&tag.len())
                && tag.split('-').all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
                && tag.split('-').next().is_some_and(|p| p.bytes().all(|b| b.is_ascii_alphabetic()));
            if !ok {
                return Err(AccessError::invalid(
                    "profile.preferred_language",
                    "must be a language tag like en, ur or pt-BR",
                ));
            }
        }
        Ok(())
    }
}

/// The account as its owner (or an admin) sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: &'static str,
    pub profile: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<UserRecord> for Account {
    fn from(u: UserRecord) -> Self {
        let role = u.role.parse::<Role>().unwrap_or(Role::Reader).as_str();
        Self { id: u.id, email: u.email, name: u.name, role, profile: u.profile.0, created_at: u.created_at }
    }
}

#[derive(Debug)]
pub struct Signup {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub profile: Option<Profile>,
}

/// What a reader may change about their account. A new password needs the current one.
#[derive(Debug, Default)]
pub struct AccountUpdate {
    pub name: Option<String>,
    pub profile: Option<Profile>,
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

/// Who is signing in, from where, with which anonymous reader id (whose conversations move).
#[derive(Debug, Clone, Default)]
pub struct SigninContext {
    pub client: ClientInfo,
    pub audit: AuditContext,
    pub anonymous: Option<String>,
}

/// A successful sign-up or sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub account: Account,
    pub session: NewSession,
    pub claimed_conversations: u64,
}

/// Trims and lowercases an e-mail address and checks its shape.
pub fn normalise_email(raw: &str) -> Result<String, AccessError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    if valid { Ok(email) } else { Err(AccessError::invalid("email", "must be an e-mail address like ada@example.com")) }
}

fn check_name(name: &Option<String>) -> Result<Option<String>, AccessError> {
    let name = name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control)) {
        return Err(AccessError::invalid("name", format!("must be at most {MAX_NAME_CHARS} printable characters")));
    }
    Ok(name.map(str::to_owned))
}

impl AccessService {
    /// Creates an account, signs it in and claims the anonymous reader's conversations.
    pub async fn signup(&self, req: Signup, ctx: &SigninContext) -> Result<SignedIn, AccessError> {
        let email = normalise_email(&req.email)?;
        passwords::check_policy(&req.password, &email)?;
        let name = check_name(&req.name)?;
        let profile = req.profile.unwrap_or_default();
        profile.validate()?;
        let now = Utc::now();
        let user = UserRecord {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            password_hash: passwords::hash(req.password).await?,
            name,
            profile: Json(serde_json::to_value(&profile).unwrap_or_default()),
            role: Role::Reader.as_str().to_owned(),
            created_at: now,
            updated_at: now,
            password_changed_at: now,
        };
        if !self.db.insert_user(&user).await? {
            return Err(AccessError::EmailTaken);
        }
        self.audit(&ctx.audit, Actor::user(&user.id), audit::SIGNUP, Some(&user.id), serde_json::json!({})).await?;
        self.start(user, ctx).await
    }

    /// Checks the credentials (throttled per account and per IP) and opens a session.
    pub async fn signin(&self, email: &str, password: String, ctx: &SigninContext) -> Result<SignedIn, AccessError> {
        let email = normalise_email(email).map_err(|_| AccessError::InvalidCredentials)?;
        if let Err(retry_after_secs) = self.throttle.check(&email, ctx.client.ip) {
            return Err(AccessError::Throttled { retry_after_secs });
        }
        let user = self.db.user_by_email(&email).await?;
        let matches = passwords::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
        let Some(user) = user.filter(|_| matches) else {
            self.throttle.record_failure(&email, ctx.client.ip);
            let details = serde_json::json!({ "email": email });
            self.audit(&ctx.audit, Actor { kind: "anonymous", id: None }, audit::SIGNIN_FAILED, None, details).await?;
            return Err(AccessError::InvalidCredentials);
        };
        self.throttle.record_success(&email);
        self.audit(&ctx.audit, Actor::user(&user.id), audit::SIGNIN, Some(&user.id), serde_json::json!({})).await?;
        self.start(user, ctx).await
    }

    async fn start(&self, user: UserRecord, ctx: &SigninContext) -> Result<SignedIn, AccessError> {
        let session = self.open_session(&user.id, &ctx.client).await?;
        let claimed_conversations = match &ctx.anonymous {
            Some(anon) => {
                let to = Owner { kind: "user", id: user.id.clone() };
                self.db.transfer_conversations(&Owner::anonymous(anon.clone()), &to).await?
            }
            None => 0,
        };
        Ok(SignedIn { account: user.into(), session, claimed_conversations })
    }

    /// The account of a signed-in user.
    pub async fn account(&self, user_id: &str) -> Result<Account, AccessError> {
        let user = self.db.user_by_id(user_id).await?;
        user.map(Account::from).ok_or_else(|| AccessError::UserNotFound(user_id.to_owned()))
    }

    /// Applies an update. A password change ends every session of the account and returns the
    /// new session that replaces the caller's.
    pub async fn update_account(
        &self,
        user_id: &str,
        update: AccountUpdate,
        ctx: &SigninContext,
    ) -> Result<(Account, Option<NewSession>), AccessError> {
        let user = self.db.user_by_id(user_id).await?.ok_or_else(|| AccessError::UserNotFound(user_id.to_owned()))?;
        if update.name.is_some() || update.profile.is_some() {
            let name = if update.name.is_some() { check_name(&update.name)? } else { user.name.clone() };
            let profile = match &update.profile {
                Some(p) => {
                    p.validate()?;
                    serde_json::to_value(p).unwrap_or_default()
                }
                None => user.profile.0.clone(),
            };
            self.db.update_user_details(user_id, name.as_deref(), &profile).await?;
        }
        let session = match update.new_password {
            Some(new_password) => Some(self.change_password(&user, update.current_password, new_password, ctx).await?),
            None if update.current_password.is_some() => {
                return Err(AccessError::invalid("new_password", "is required with current_password"));
            }
            None => None,
        };
        Ok((self.account(user_id).await?, session))
    }

    async fn change_password(
        &self,
        user: &UserRecord,
        current: Option<String>,
        new_password: String,
        ctx: &SigninContext,
    ) -> Result<NewSession, AccessError> {
        let current =
            current.ok_or_else(|| AccessError::invalid("current_password", "is required to set a new password"))?;
        if let Err(retry_after_secs) = self.throttle.check(&user.email, ctx.client.ip) {
            return Err(AccessError::Throttled { retry_after_secs });
        }
        if !passwords::verify(current, Some(user.password_hash.clone())).await? {
            self.throttle.record_failure(&user.email, ctx.client.ip);
            return Err(AccessError::invalid("current_password", "is incorrect"));
        }
        passwords::check_policy(&new_password, &user.email)?;
        let hash = passwords::hash(new_password).await?;
        self.db.change_password(&user.id, &hash).await?;
        self.audit(&ctx.audit, Actor::user(&user.id), audit::PASSWORD_CHANGE, Some(&user.id), serde_json::json!({}))
            .await?;
        self.open_session(&user.id, &ctx.client).await
    }

    /// Sets an account's role (the bootstrap of the first admin, and admin user management).
    pub async fn set_role(&self, email: &str, role: Role, ctx: &AuditContext, actor: Actor) -> Result<(), AccessError> {
        let email = normalise_email(email)?;
        if !self.db.set_user_role(&email, role.as_str()).await? {
            return Err(AccessError::UserNotFound(email));
        }
        let details = serde_json::json!({ "role": role.as_str() });
        self.audit(ctx, actor, audit::ROLE_CHANGE, Some(&email), details).await
    }

    /// Accounts, oldest first.
    pub async fn accounts(&self, page: i64, per_page: i64) -> Result<Vec<Account>, AccessError> {
        if page < 1 || !(1..=200).contains(&per_page) {
            return Err(AccessError::invalid("page", "page starts at 1 and per_page is 1-200"));
        }
        Ok(self.db.users((page - 1) * per_page, per_page).await?.into_iter().map(Account::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased_and_malformed_ones_refused() {
        assert_eq!(normalise_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@@example.com"] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_profile_with_a_bad_language_tag_is_refused() {
        let profile = Profile { preferred_language: Some("urdu language".into()), ..Profile::default() };
        assert!(profile.validate().is_err());
        let profile = Profile { preferred_language: Some("pt-BR".into()), ..Profile::default() };
        assert!(profile.validate().is_ok());
    }
}
