//! Settings of the abuse limits: request rate limits (per caller, per route), daily LLM token
//! quotas, and the trusted proxies whose `X-Forwarded-For` names the client. The parsers here
//! are shared by validation (which names the variable on error) and by the HTTP layer.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::load::ConfigError;

/// Largest per-minute limit a setting accepts.
pub const MAX_PER_MINUTE: u32 = 100_000;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// The off switch: no request is counted or refused when false.
    pub enabled: bool,
    /// Requests per minute of one signed-in user or API key, across all routes.
    pub signed_in_per_minute: u32,
    /// Requests per minute of one anonymous client (by IP), across all routes.
    pub anonymous_per_minute: u32,
    /// `ROUTE=N`: an extra, per-route limit of N requests per minute per caller, keyed by the
    /// route template (`/api/v1/documents/{id}`).
    pub routes: Vec<String>,
    /// Route templates never limited; a trailing `*` matches any suffix (`/health*`).
    pub exempt: Vec<String>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            signed_in_per_minute: 100,
            anonymous_per_minute: 20,
            routes: [
                "/api/v1/auth/signin=10",
                "/api/v1/auth/signup=5",
                "/api/v1/chat=10",
                "/api/v1/chapters/{id}/translations=6",
            ]
            .map(String::from)
            .into(),
            exempt: ["/health*", "/metrics"].map(String::from).into(),
        }
    }
}

impl RateLimitSettings {
    /// The per-route overrides as `(route template, requests per minute)`.
    pub fn route_overrides(&self) -> Result<Vec<(String, u32)>, ConfigError> {
        self.routes.iter().map(|entry| parse_override(entry)).collect()
    }

    /// The exemption patterns, checked to be route templates.
    pub fn exempt_patterns(&self) -> Result<Vec<String>, ConfigError> {
        self.exempt
            .iter()
            .map(|p| {
                p.starts_with('/').then(|| p.clone()).ok_or_else(|| ConfigError::Invalid {
                    name: "DOCENT_RATE_LIMIT__EXEMPT".into(),
                    expected: "comma-separated route templates starting with /, optionally ending in * (e.g. /health*)"
                        .into(),
                    got: p.clone(),
                })
            })
            .collect()
    }
}

fn parse_override(entry: &str) -> Result<(String, u32), ConfigError> {
    let invalid = || ConfigError::Invalid {
        name: "DOCENT_RATE_LIMIT__ROUTES".into(),
        expected: format!(
            "comma-separated ROUTE=N entries such as /api/v1/chat=10 (a route template starting with /, \
             N requests per minute 1-{MAX_PER_MINUTE})"
        ),
        got: entry.to_owned(),
    };
    let (route, limit) = entry.rsplit_once('=').ok_or_else(invalid)?;
    let route = route.trim();
    let limit: u32 = limit.trim().parse().map_err(|_| invalid())?;
    if !route.starts_with('/') || !(1..=MAX_PER_MINUTE).contains(&limit) {
        return Err(invalid());
    }
    Ok((route.to_owned(), limit))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaSettings {
    /// LLM tokens (prompt + completion) one signed-in user may spend per UTC day; 0 = unlimited.
    pub user_daily_tokens: u64,
    /// The same for one API key.
    pub key_daily_tokens: u64,
    /// The same for one anonymous client (by IP).
    pub anonymous_daily_tokens: u64,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self { user_daily_tokens: 200_000, key_daily_tokens: 1_000_000, anonymous_daily_tokens: 50_000 }
    }
}

/// Parses `DOCENT_TRUSTED_PROXIES`: CIDR blocks (`10.0.0.0/8`) or single addresses.
pub fn parse_trusted_proxies(entries: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                ConfigError::Invalid {
                    name: "DOCENT_TRUSTED_PROXIES".into(),
                    expected: "comma-separated IP addresses or CIDR blocks such as 10.0.0.0/8, 127.0.0.1, ::1/128"
                        .into(),
                    got: entry.to_owned(),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_overrides_parse_and_a_malformed_one_names_the_variable_and_the_accepted_form() {
        let mut settings = RateLimitSettings::default();
        assert!(settings.route_overrides().unwrap().contains(&("/api/v1/chat".to_owned(), 10)));
        settings.routes = vec!["/api/v1/chat=0".into()];
        let message = settings.route_overrides().unwrap_err().to_string();
        assert!(message.starts_with("DOCENT_RATE_LIMIT__ROUTES: expected comma-separated ROUTE=N"), "{message}");
    }

    #[test]
    fn trusted_proxies_accept_cidr_blocks_and_bare_addresses_but_not_host_names() {
        let parsed = parse_trusted_proxies(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        assert_eq!(parsed, vec!["10.0.0.0/8".parse::<IpNet>().unwrap(), "::1/128".parse().unwrap()]);
        let err = parse_trusted_proxies(&["proxy.internal".into()]).unwrap_err().to_string();
        assert!(err.contains("DOCENT_TRUSTED_PROXIES") && err.contains("proxy.internal"), "{err}");
    }
}
