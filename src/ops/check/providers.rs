//! The LLM provider items: each configured provider must answer its model list with the API
//! key accepted. The list is data: [`ProviderTarget`]s built from the LLM settings by
//! [`targets_from_llm`]; a new provider kind only needs its probe request in [`probe_request`].

use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use super::{CheckItem, chain};
use crate::config::Settings;
use crate::llm::{LlmSettings, ProviderEndpoint, ProviderKind};

/// One provider to probe.
#[derive(Debug, Clone)]
pub struct ProviderTarget {
    pub kind: ProviderKind,
    pub endpoint: ProviderEndpoint,
}

/// The providers these settings configure: the primary LLM provider and its fallbacks
/// (none when answers are extractive).
pub fn configured_providers(settings: &Settings) -> Vec<ProviderTarget> {
    targets_from_llm(&settings.llm_settings())
}

/// The primary provider and the fallbacks, in order, without the extractive generator (which
/// needs no network) and without repeats.
pub fn targets_from_llm(llm: &LlmSettings) -> Vec<ProviderTarget> {
    let mut kinds = vec![llm.provider];
    kinds.extend(llm.fallback.iter().copied());
    let mut targets: Vec<ProviderTarget> = Vec::new();
    for kind in kinds {
        if kind == ProviderKind::Extractive || targets.iter().any(|t| t.kind == kind) {
            continue;
        }
        let mut endpoint = match kind {
            ProviderKind::Cohere => llm.cohere.clone(),
            ProviderKind::OpenAi => llm.openai.clone(),
            ProviderKind::Anthropic => llm.anthropic.clone(),
            ProviderKind::Extractive => continue,
        };
        if kind == llm.provider
            && let Some(model) = &llm.model
        {
            endpoint.model = model.clone();
        }
        targets.push(ProviderTarget { kind, endpoint });
    }
    targets
}

/// One item per provider, probed concurrently; a single passing item when there is none.
pub async fn check_all(targets: &[ProviderTarget], timeout: Duration) -> Vec<CheckItem> {
    if targets.is_empty() {
        return vec![CheckItem::pass("providers", "no LLM provider configured: answers are extractive")];
    }
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(err) => return vec![CheckItem::fail("providers", format!("cannot build an HTTP client: {err}"))],
    };
    futures::future::join_all(targets.iter().map(|t| check_one(&client, t))).await
}

async fn check_one(client: &reqwest::Client, target: &ProviderTarget) -> CheckItem {
    let name = format!("provider:{}", target.kind.as_str());
    let (url, request) = probe_request(client, target);
    let started = Instant::now();
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) if err.is_timeout() => return CheckItem::fail(name, format!("{url} did not answer in time")),
        Err(err) => return CheckItem::fail(name, format!("{url} unreachable: {}", chain(&err))),
    };
    let (status, ms) = (response.status(), started.elapsed().as_millis());
    let model = &target.endpoint.model;
    match status.as_u16() {
        200..=299 => CheckItem::pass(name, format!("{url} answers, key accepted ({ms} ms); model {model}")),
        401 | 403 if target.endpoint.api_key.is_none() => {
            CheckItem::fail(name, format!("{url} wants an API key (HTTP {status}) and none is configured"))
        }
        401 | 403 => CheckItem::fail(name, format!("{url} rejected the API key (HTTP {status})")),
        400..=499 => CheckItem::pass(name, format!("{url} reachable (HTTP {status}, {ms} ms); model {model}")),
        _ => CheckItem::fail(name, format!("{url} answered HTTP {status}")),
    }
}

/// The cheapest authenticated request each provider offers: its model list.
fn probe_request(client: &reqwest::Client, target: &ProviderTarget) -> (String, reqwest::RequestBuilder) {
    let base = target.endpoint.base_url.trim_end_matches('/');
    let key = target.endpoint.api_key.as_ref().map(|k| k.expose_secret().to_owned());
    let url = match target.kind {
        ProviderKind::OpenAi if base.ends_with("/v1") => format!("{base}/models"),
        _ => format!("{base}/v1/models"),
    };
    let mut request = client.get(&url);
    request = match (target.kind, key) {
        (ProviderKind::Anthropic, Some(key)) => request.header("x-api-key", key),
        (_, Some(key)) => request.bearer_auth(key),
        (_, None) => request,
    };
    if target.kind == ProviderKind::Anthropic {
        request = request.header("anthropic-version", "2023-06-01");
    }
    (url, request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_lists_each_networked_provider_once_in_order() {
        let mut llm =
            LlmSettings { provider: ProviderKind::OpenAi, model: Some("gpt-test".into()), ..Default::default() };
        llm.fallback = vec![ProviderKind::Anthropic, ProviderKind::OpenAi, ProviderKind::Extractive];
        let targets = targets_from_llm(&llm);
        let kinds: Vec<ProviderKind> = targets.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [ProviderKind::OpenAi, ProviderKind::Anthropic]);
        assert_eq!(targets[0].endpoint.model, "gpt-test");
    }

    #[test]
    fn an_extractive_deployment_probes_nothing() {
        assert!(targets_from_llm(&LlmSettings::default()).is_empty());
    }
}
