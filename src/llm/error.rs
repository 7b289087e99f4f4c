//! [`LlmError`]: every way a chat call can fail, with its HTTP status mapped once here.

use std::time::Duration;

/// Which deadline expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the TCP/TLS connection.
    Connect,
    /// Waiting for the first generated token.
    FirstToken,
    /// The whole request.
    Total,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::FirstToken => "first token",
            Self::Total => "total",
        })
    }
}

/// Everything that can go wrong talking to a chat provider.
///
/// [`LlmError::http_status`] gives the status the HTTP layer answers with:
/// 502 upstream error / malformed response, 503 unavailable, 504 timeout.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Missing API key or endpoint. → 503
    #[error("{provider} is not configured: {reason}")]
    Unconfigured {
        /// Provider name.
        provider: String,
        /// What is missing.
        reason: String,
    },
    /// The connection could not be established or broke. → 502
    #[error("could not reach {provider}: {message}")]
    Connect {
        /// Provider name.
        provider: String,
        /// Transport error text.
        message: String,
    },
    /// A deadline expired. → 504
    #[error("{provider} timed out ({phase})")]
    Timeout {
        /// Provider name.
        provider: String,
        /// Which deadline.
        phase: TimeoutPhase,
    },
    /// HTTP 429, still limited after retries. → 503
    #[error("{provider} rate limited the request")]
    RateLimited {
        /// Provider name.
        provider: String,
        /// Server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Any other non-success HTTP status. → 502
    #[error("{provider} answered HTTP {status}: {message}")]
    Status {
        /// Provider name.
        provider: String,
        /// Upstream status code.
        status: u16,
        /// Upstream error message (truncated).
        message: String,
        /// Server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The provider reported an error inside a stream (e.g. Anthropic `overloaded_error`). → 502
    #[error("{provider} reported an error: {message}")]
    Upstream {
        /// Provider name.
        provider: String,
        /// Upstream error text.
        message: String,
        /// Whether trying again may help.
        retryable: bool,
    },
    /// Unparseable JSON or a stream that ended early. → 502
    #[error("{provider} sent a malformed response: {message}")]
    Malformed {
        /// Provider name.
        provider: String,
        /// What was wrong.
        message: String,
    },
    /// The provider's circuit breaker is open. → 503
    #[error("{provider} is temporarily disabled (circuit breaker open)")]
    BreakerOpen {
        /// Provider name.
        provider: String,
    },
    /// Every provider of the fallback chain failed. → 503
    #[error("all chat providers failed: {summary}")]
    AllUnavailable {
        /// One `provider: error` per link.
        summary: String,
    },
}

impl LlmError {
    /// HTTP status the API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Timeout { .. } => 504,
            Self::Unconfigured { .. }
            | Self::RateLimited { .. }
            | Self::BreakerOpen { .. }
            | Self::AllUnavailable { .. } => 503,
            Self::Connect { .. } | Self::Status { .. } | Self::Upstream { .. } | Self::Malformed { .. } => 502,
        }
    }

    /// Short label for the `outcome` metric label and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unconfigured { .. } => "unconfigured",
            Self::Connect { .. } => "connect_error",
            Self::Timeout { .. } => "timeout",
            Self::RateLimited { .. } => "rate_limited",
            Self::Status { .. } => "http_error",
            Self::Upstream { .. } => "upstream_error",
            Self::Malformed { .. } => "malformed",
            Self::BreakerOpen { .. } => "breaker_open",
            Self::AllUnavailable { .. } => "all_unavailable",
        }
    }

    /// Whether a retry (before the first token) may succeed: 429, 5xx, connect errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::RateLimited { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            Self::Upstream { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// The server-requested delay before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the error says the provider is unhealthy (counts toward its breaker): not a
    /// refusal by our own breaker, and not a 4xx about this one request (400, 404, 413, 422…);
    /// 401, 403, 408 and 429 do count.
    pub fn counts_as_failure(&self) -> bool {
        match self {
            Self::BreakerOpen { .. } | Self::Unconfigured { .. } => false,
            Self::Status { status, .. } => *status >= 500 || matches!(status, 401 | 403 | 408),
            _ => true,
        }
    }

    pub(crate) fn malformed(provider: &str, message: impl Into<String>) -> Self {
        Self::Malformed { provider: provider.to_owned(), message: message.into() }
    }
}
