//! Rate limits and token quotas at the HTTP edge.
//!
//! [`enforce`] is route-level middleware (it needs the matched route template) that runs after
//! authentication: it reads the [`Principal`] from the request extensions (absent: anonymous),
//! counts the request against the caller's limit and, when the route has an override, against
//! the route's, and answers `429 rate_limited` with `Retry-After` when either is spent. Every
//! limited response carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until the
//! full allowance is back) of the tighter of the two. Exempt routes (`/health*`, `/metrics`) are
//! not counted. If the limiter's store fails, the request is let through and the failure logged:
//! an outage of the limiter must not become an outage of the service.
//!
//! [`Subject`] is also an extractor, for handlers that charge token quotas.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::access::ClientIp;
use super::client_ip::client_ip;
use super::{ApiError, AppState};
use crate::access::{Decision, Principal, QuotaError, Rule, Subject, SubjectKind};
use crate::config::{ConfigError, RateLimitSettings};

pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The rate-limit rules in effect, compiled from the settings once.
#[derive(Debug, Clone)]
pub struct RateLimitPolicy {
    pub enabled: bool,
    pub signed_in: Rule,
    pub anonymous: Rule,
    routes: HashMap<String, Rule>,
    exempt: Vec<String>,
}

impl RateLimitPolicy {
    pub fn from_settings(settings: &RateLimitSettings) -> Result<Self, ConfigError> {
        let routes = settings.route_overrides()?.into_iter().map(|(route, n)| (route, Rule::per_minute(n))).collect();
        Ok(Self {
            enabled: settings.enabled,
            signed_in: Rule::per_minute(settings.signed_in_per_minute),
            anonymous: Rule::per_minute(settings.anonymous_per_minute),
            routes,
            exempt: settings.exempt_patterns()?,
        })
    }

    /// Whether requests to `route` (a template) are never counted.
    pub fn is_exempt(&self, route: &str) -> bool {
        self.exempt.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => route.starts_with(prefix),
            None => route == p,
        })
    }

    /// The caller's own limit, across routes.
    pub fn caller_rule(&self, kind: SubjectKind) -> Rule {
        match kind {
            SubjectKind::User | SubjectKind::Key => self.signed_in,
            SubjectKind::Anonymous => self.anonymous,
        }
    }

    /// The extra limit of `route`, if it has one.
    pub fn route_rule(&self, route: &str) -> Option<Rule> {
        self.routes.get(route).copied()
    }
}

/// Route-level middleware: counts the request and refuses it with 429 when a limit is spent.
pub async fn enforce(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let ip = req.extensions().get::<ClientIp>().map_or_else(|| client_ip(&req, &app.trusted_proxies), |c| c.0);
    let subject = Subject::of(req.extensions().get::<Principal>(), ip);
    req.extensions_mut().insert(subject.clone());
    let policy = &app.rate_limits;
    if !policy.enabled || policy.is_exempt(&route) {
        return next.run(req).await;
    }
    let Some(decision) = decide(&app, &subject, &route).await else { return next.run(req).await };
    if !decision.allowed {
        metrics::counter!("docent_rate_limited_total", "reason" => "rate_limit").increment(1);
        let detail = format!("Too many requests: the limit here is {} per minute.", decision.limit);
        let retry_after_secs = secs(decision.retry_after).max(1);
        let refusal = ApiError::TooManyRequests { code: "rate_limited", detail, retry_after_secs };
        let mut response = refusal.into_response();
        write_headers(response.headers_mut(), &decision);
        return response;
    }
    let mut response = next.run(req).await;
    write_headers(response.headers_mut(), &decision);
    response
}

/// Checks the route's limit, then the caller's; the decision to report (the refusing one, or the
/// one with less left). `None` when the limiter failed (the request goes through).
async fn decide(app: &AppState, subject: &Subject, route: &str) -> Option<Decision> {
    let key = subject.to_string();
    let mut checks = Vec::with_capacity(2);
    if let Some(rule) = app.rate_limits.route_rule(route) {
        checks.push((format!("{key}|{route}"), rule));
    }
    checks.push((key, app.rate_limits.caller_rule(subject.kind)));
    let mut tightest: Option<Decision> = None;
    for (key, rule) in checks {
        let decision = match app.rate_limiter.check(&key, rule, 1).await {
            Ok(decision) => decision,
            Err(err) => {
                tracing::warn!(error = %err, route, "rate limiter failed; letting the request through");
                return None;
            }
        };
        if !decision.allowed {
            return Some(decision);
        }
        if tightest.is_none_or(|t| decision.remaining < t.remaining) {
            tightest = Some(decision);
        }
    }
    tightest
}

fn write_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(secs(decision.reset_after)));
}

/// Whole seconds, rounded up: a client that waits this long is never early.
fn secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

impl FromRequestParts<AppState> for Subject {
    type Rejection = std::convert::Infallible;

    /// The subject [`enforce`] resolved, or resolved here the same way on unlimited routes.
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(subject) = parts.extensions.get::<Subject>() {
            return Ok(subject.clone());
        }
        Ok(Subject::of(parts.extensions.get::<Principal>(), client_ip(parts, &app.trusted_proxies)))
    }
}

impl From<QuotaError> for ApiError {
    fn from(err: QuotaError) -> Self {
        match err {
            QuotaError::Exceeded { retry_after, .. } => ApiError::TooManyRequests {
                code: "quota_exceeded",
                detail: err.to_string(),
                retry_after_secs: secs(retry_after),
            },
            QuotaError::Db(db) => ApiError::internal(db),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions_match_exact_templates_and_star_prefixes_only() {
        let policy = RateLimitPolicy::from_settings(&RateLimitSettings::default()).unwrap();
        assert!(policy.is_exempt("/health") && policy.is_exempt("/health/ready") && policy.is_exempt("/metrics"));
        assert!(!policy.is_exempt("/metrics/extra") && !policy.is_exempt("/api/v1/chat"));
        assert_eq!(policy.route_rule("/api/v1/auth/signin"), Some(Rule::per_minute(10)));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(secs(Duration::from_millis(2001)), 3);
        assert_eq!(secs(Duration::from_secs(2)), 2);
    }
}
