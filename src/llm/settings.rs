//! [`LlmSettings`]: plain configuration for the chat providers (env wiring lives in `config/`).

use secrecy::SecretString;
use std::time::Duration;

/// Which generator answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// The answer layer's own quote-based generator (no LLM).
    Extractive,
    /// Cohere v2.
    Cohere,
    /// Any OpenAI-compatible server (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp).
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
}

impl ProviderKind {
    /// Lower-case name as used in settings and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extractive => "extractive",
            Self::Cohere => "cohere",
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "extractive" => Ok(Self::Extractive),
            "cohere" => Ok(Self::Cohere),
            "openai" => Ok(Self::OpenAi),
            "anthropic" => Ok(Self::Anthropic),
            other => Err(format!("unknown LLM provider {other:?} (expected extractive, cohere, openai or anthropic)")),
        }
    }
}

/// Where and how to reach one provider.
#[derive(Debug, Clone)]
pub struct ProviderEndpoint {
    /// API key; never logged (`SecretString` redacts `Debug`).
    pub api_key: Option<SecretString>,
    /// Base URL without the API path, e.g. `https://api.cohere.com`.
    /// For OpenAI-compatible servers a trailing `/v1` is accepted (`http://localhost:11434/v1`).
    pub base_url: String,
    /// Model used when this provider is in the chain.
    pub model: String,
}

impl ProviderEndpoint {
    fn new(base_url: &str, model: &str) -> Self {
        Self { api_key: None, base_url: base_url.to_owned(), model: model.to_owned() }
    }

    /// The health of a provider that needs a key: active with one, unconfigured without.
    pub fn keyed_health(&self) -> super::ProviderHealth {
        match self.api_key {
            Some(_) => super::ProviderHealth::Active,
            None => super::ProviderHealth::Unconfigured,
        }
    }
}

/// Deadlines applied by the resilience layer.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// From sending the request to the first generated token.
    pub first_token: Duration,
    /// Whole request, including the full stream.
    pub total: Duration,
}

/// Retry policy (only before the first token reached the caller).
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    /// Attempts per provider, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Base of the jittered exponential backoff.
    pub base_delay: Duration,
    /// Longest wait; a larger `Retry-After` gives up instead.
    pub max_delay: Duration,
}

/// Circuit breaker policy, one breaker per provider.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before a single half-open probe.
    pub open_duration: Duration,
}

/// Everything the LLM layer needs.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// Primary provider.
    pub provider: ProviderKind,
    /// Model override for the primary provider (else its endpoint's `model`).
    pub model: Option<String>,
    /// Providers tried in order after the primary fails (`extractive` entries are skipped:
    /// the answer layer appends its own generator).
    pub fallback: Vec<ProviderKind>,
    /// `COHERE_API_KEY` / `COHERE_BASE_URL`.
    pub cohere: ProviderEndpoint,
    /// `OPENAI_API_KEY` / `OPENAI_BASE_URL`.
    pub openai: ProviderEndpoint,
    /// `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL`.
    pub anthropic: ProviderEndpoint,
    /// Deadlines.
    pub timeouts: Timeouts,
    /// Retry policy.
    pub retry: RetrySettings,
    /// Circuit breaker policy.
    pub breaker: BreakerSettings,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Extractive,
            model: None,
            fallback: Vec::new(),
            cohere: ProviderEndpoint::new("https://api.cohere.com", "command-a-03-2025"),
            openai: ProviderEndpoint::new("https://api.openai.com", "gpt-4o-mini"),
            anthropic: ProviderEndpoint::new("https://api.anthropic.com", "claude-sonnet-4-5"),
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                first_token: Duration::from_secs(20),
                total: Duration::from_secs(120),
            },
            retry: RetrySettings {
                max_attempts: 3,
                base_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(10),
            },
            breaker: BreakerSettings { failure_threshold: 5, open_duration: Duration::from_secs(30) },
        }
    }
}

impl LlmSettings {
    /// The endpoint configured for `kind` (`None` for extractive).
    pub fn endpoint(&self, kind: ProviderKind) -> Option<&ProviderEndpoint> {
        match kind {
            ProviderKind::Extractive => None,
            ProviderKind::Cohere => Some(&self.cohere),
            ProviderKind::OpenAi => Some(&self.openai),
            ProviderKind::Anthropic => Some(&self.anthropic),
        }
    }
}
