//! Checks that need more than one value or more than a type: URL schemes, origins, log
//! directives, and the production safety rules.

use secrecy::ExposeSecret;

use super::load::ConfigError;
use super::{Environment, Settings};

pub(super) fn validate(s: &Settings) -> Result<(), ConfigError> {
    check_database_url(s)?;
    check_origins(&s.security.cors_origins)?;
    check_log_level(&s.log.level)?;
    super::llm::validate(s)?;
    super::parse_trusted_proxies(&s.security.trusted_proxies)?;
    s.rate_limit.route_overrides()?;
    s.rate_limit.exempt_patterns()?;
    check_metrics_addr(s.metrics.addr.as_deref())?;
    super::translate::validate(&s.translate)?;
    if s.database.min_connections > s.database.max_connections {
        return Err(ConfigError::Invalid {
            name: "DOCENT_DATABASE__MIN_CONNECTIONS".into(),
            expected: format!("at most DOCENT_DATABASE__MAX_CONNECTIONS ({})", s.database.max_connections),
            got: s.database.min_connections.to_string(),
        });
    }
    if s.env == Environment::Production && !s.allow_unsafe_production {
        let reasons = production_problems(s);
        if !reasons.is_empty() {
            return Err(ConfigError::UnsafeProduction { reasons });
        }
    }
    Ok(())
}

/// What makes these settings unsafe for production (empty when they are fine).
pub fn production_problems(s: &Settings) -> Vec<String> {
    let mut reasons = Vec::new();
    if s.security.cors_origins.iter().any(|o| o == "*") {
        reasons.push("CORS_ORIGINS=* allows every origin; list the exact origins".to_owned());
    }
    if s.security.secure_cookies == Some(false) {
        reasons.push("SECURE_COOKIES=false sends session cookies over plain HTTP".to_owned());
    }
    if s.debug {
        reasons.push("DEBUG=true is for development only".to_owned());
    }
    reasons
}

fn check_database_url(s: &Settings) -> Result<(), ConfigError> {
    let Some(url) = &s.database.url else { return Ok(()) };
    let url = url.expose_secret();
    let ok = ["sqlite:", "postgres://", "postgresql://"].iter().any(|p| url.starts_with(p));
    if ok {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        name: "DATABASE_URL".into(),
        expected: "sqlite://PATH or postgres://USER:PASSWORD@HOST/DB".into(),
        got: super::redact_url(url),
    })
}

fn check_origins(origins: &[String]) -> Result<(), ConfigError> {
    for origin in origins {
        if origin == "*" {
            continue;
        }
        let valid = url::Url::parse(origin).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.path() == "/"
                && !origin.ends_with('/')
                && u.query().is_none()
        });
        if !valid {
            return Err(ConfigError::Invalid {
                name: "CORS_ORIGINS".into(),
                expected: "comma-separated origins like https://book.example.com (scheme and host, no path), or *"
                    .into(),
                got: origin.clone(),
            });
        }
    }
    Ok(())
}

fn check_log_level(level: &str) -> Result<(), ConfigError> {
    tracing_subscriber::EnvFilter::builder().parse(level).map(|_| ()).map_err(|_| ConfigError::Invalid {
        name: "LOG_LEVEL".into(),
        expected: "a level (error, warn, info, debug, trace) or tracing directives like docent=debug,sqlx=warn".into(),
        got: level.into(),
    })
}

fn check_metrics_addr(addr: Option<&str>) -> Result<(), ConfigError> {
    match addr {
        Some(a) if a.parse::<std::net::SocketAddr>().is_err() => Err(ConfigError::Invalid {
            name: "DOCENT_METRICS__ADDR".into(),
            expected: "an IP address and port, e.g. 127.0.0.1:9100 or [::1]:9100".into(),
            got: a.into(),
        }),
        _ => Ok(()),
    }
}
