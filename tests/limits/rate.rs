//! Request rate limits over real sockets, on a limiter clock the tests move.

use std::time::Duration;

use crate::common::{assert_problem, spawn_app_with};
use crate::support::{Limited, client_from, header_u64, hit, probe_routes};

#[tokio::test]
async fn the_21st_anonymous_request_in_a_minute_is_refused_while_another_client_is_unaffected() {
    let limited = Limited::spawn(|_| {}).await;
    let (first, url) = (client_from([127, 0, 0, 1]), limited.url("/test/ping"));
    let allowed = hit(&first, &url, 20).await;
    let refused = first.get(&url).send().await.unwrap();
    let other = client_from([127, 0, 0, 2]).get(&url).send().await.unwrap();
    assert!(allowed.iter().all(|s| *s == 200), "{allowed:?}");
    assert_eq!(header_u64(&refused, "x-ratelimit-limit"), 20);
    assert_eq!(header_u64(&refused, "x-ratelimit-remaining"), 0);
    assert_eq!(header_u64(&refused, "x-ratelimit-reset"), 60);
    assert_eq!(header_u64(&refused, "retry-after"), 3, "one request refills every 3 s");
    let body = assert_problem(refused, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("20 per minute"), "{body}");
    assert_eq!(other.status(), 200);
    assert_eq!(header_u64(&other, "x-ratelimit-remaining"), 19);
}

#[tokio::test]
async fn a_refused_client_is_let_through_again_after_retry_after() {
    let limited = Limited::spawn(|_| {}).await;
    hit(&limited.app.client, &limited.url("/test/ping"), 21).await;
    limited.clock.advance(Duration::from_secs(3));
    let again = limited.get("/test/ping").await;
    let then = limited.get("/test/ping").await;
    assert_eq!(again.status(), 200);
    assert_eq!(then.status(), 429);
}

#[tokio::test]
async fn allowed_responses_carry_the_headers_with_the_remaining_count_going_down() {
    let limited = Limited::spawn(|_| {}).await;
    let mut remaining = Vec::new();
    for expected_reset in [3, 6, 9] {
        let response = limited.get("/test/ping").await;
        assert_eq!(response.status(), 200);
        assert_eq!(header_u64(&response, "x-ratelimit-limit"), 20);
        assert_eq!(header_u64(&response, "x-ratelimit-reset"), expected_reset);
        remaining.push(header_u64(&response, "x-ratelimit-remaining"));
    }
    assert_eq!(remaining, [19, 18, 17]);
}

#[tokio::test]
async fn health_probes_are_never_limited_nor_counted() {
    let limited = Limited::spawn(|_| {}).await;
    for path in ["/health", "/health/live", "/health/ready"] {
        for _ in 0..10 {
            let response = limited.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert!(response.headers().get("x-ratelimit-limit").is_none(), "{path}");
        }
    }
    assert_eq!(header_u64(&limited.get("/test/ping").await, "x-ratelimit-remaining"), 19);
}

#[tokio::test]
async fn a_route_override_applies_to_every_path_of_its_template_and_leaves_other_routes_alone() {
    let limited = Limited::spawn(|s| s.rate_limit.routes = vec!["/test/items/{id}=2".into()]).await;
    let first = limited.get("/test/items/1").await;
    let second = limited.get("/test/items/2").await;
    let third = limited.get("/test/items/3").await;
    let elsewhere = limited.get("/test/ping").await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    assert_eq!(header_u64(&first, "x-ratelimit-limit"), 2, "the tighter limit is reported");
    assert_eq!(header_u64(&third, "x-ratelimit-limit"), 2);
    assert_eq!(header_u64(&third, "retry-after"), 30);
    assert_problem(third, 429, "rate_limited").await;
    assert_eq!(elsewhere.status(), 200);
    assert_eq!(header_u64(&elsewhere, "x-ratelimit-limit"), 20);
    assert_eq!(header_u64(&elsewhere, "x-ratelimit-remaining"), 17, "the refused request cost nothing more");
}

#[tokio::test]
async fn chat_is_limited_more_tightly_than_other_routes_by_default() {
    let limited = Limited::spawn(|_| {}).await;
    let invalid = serde_json::json!({ "message": "" });
    let response = limited.app.client.post(limited.url("/api/v1/chat")).json(&invalid).send().await.unwrap();
    assert_eq!(response.status(), 422, "counted even when the body is invalid");
    assert_eq!(header_u64(&response, "x-ratelimit-limit"), 10);
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let limited = Limited::spawn(|s| s.security.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
    let url = limited.url("/test/ping");
    let via_proxy = |forwarded: &'static str| limited.app.client.get(&url).header("x-forwarded-for", forwarded);
    for _ in 0..20 {
        via_proxy("203.0.113.1").send().await.unwrap();
    }
    let refused = via_proxy("203.0.113.1").send().await.unwrap();
    let other = via_proxy("203.0.113.1, 203.0.113.2").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(other.status(), 200, "the rightmost untrusted hop is the client");
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let limited = Limited::spawn(|s| s.security.trusted_proxies = vec!["10.0.0.0/8".into()]).await;
    let url = limited.url("/test/ping");
    for n in 0..20 {
        limited.app.client.get(&url).header("x-forwarded-for", format!("198.51.100.{n}")).send().await.unwrap();
    }
    let spoofed = limited.app.client.get(&url).header("x-forwarded-for", "198.51.100.99").send().await.unwrap();
    assert_problem(spoofed, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_off_switch_turns_every_limit_off() {
    let limited = Limited::spawn(|s| s.rate_limit.enabled = false).await;
    let statuses = hit(&limited.app.client, &limited.url("/test/ping"), 25).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(limited.get("/test/ping").await.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn an_authenticated_caller_has_a_higher_limit_of_its_own_whatever_address_it_uses() {
    let limited = Limited::spawn(|_| {}).await;
    let key = crate::common::api_key(&limited.app, "chat").await;
    let url = limited.url("/test/ping");
    let (here, there) = (client_from([127, 0, 0, 1]), client_from([127, 0, 0, 3]));
    let first = here.get(&url).bearer_auth(&key).send().await.unwrap();
    for _ in 0..30 {
        there.get(&url).bearer_auth(&key).send().await.unwrap();
    }
    let later = here.get(&url).bearer_auth(&key).send().await.unwrap();
    let anonymous = here.get(&url).send().await.unwrap();
    assert_eq!(header_u64(&first, "x-ratelimit-limit"), 100);
    assert_eq!((later.status().as_u16(), header_u64(&later, "x-ratelimit-remaining")), (200, 68));
    assert_eq!(header_u64(&anonymous, "x-ratelimit-remaining"), 19, "the user's requests were not the address's");
}

#[tokio::test]
async fn the_application_as_built_limits_with_its_own_limiter() {
    let app = spawn_app_with(|_| {}, probe_routes()).await;
    let requests = (0..25).map(|_| app.client.get(app.url("/test/ping")).send());
    let responses = futures::future::join_all(requests).await;
    let refused = responses.iter().filter(|r| r.as_ref().unwrap().status() == 429).count();
    assert!(refused >= 1, "25 requests at once exceed 20 per minute");
    assert!(responses.iter().all(|r| r.as_ref().unwrap().headers().contains_key("x-ratelimit-remaining")));
}
