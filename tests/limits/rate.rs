//! Request rate limits over real sockets.

use crate::common::{assert_problem, spawn_app_with};
use crate::support::{client_from, header_u64, hit, probe_routes, serve_state};

#[tokio::test]
async fn the_21st_anonymous_request_in_a_minute_is_refused_while_another_client_is_unaffected() {
    let app = spawn_app_with(|_| {}, probe_routes()).await;
    let first = client_from([127, 0, 0, 1]);
    let url = app.url("/test/ping");
    let allowed = hit(&first, &url, 20).await;
    let refused = first.get(&url).send().await.unwrap();
    let other = client_from([127, 0, 0, 2]).get(&url).send().await.unwrap();
    assert!(allowed.iter().all(|s| *s == 200), "{allowed:?}");
    assert_eq!(header_u64(&refused, "x-ratelimit-limit"), 20);
    assert_eq!(header_u64(&refused, "x-ratelimit-remaining"), 0);
    assert!((1..=60).contains(&header_u64(&refused, "x-ratelimit-reset")));
    assert!((1..=3).contains(&header_u64(&refused, "retry-after")), "one request refills every 3 s");
    let body = assert_problem(refused, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("20 per minute"), "{body}");
    assert_eq!(other.status(), 200);
    assert_eq!(header_u64(&other, "x-ratelimit-remaining"), 19);
}

#[tokio::test]
async fn allowed_responses_carry_the_headers_with_the_remaining_count_going_down() {
    let app = spawn_app_with(|_| {}, probe_routes()).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = app.get("/test/ping").await;
        assert_eq!(response.status(), 200);
        assert_eq!(header_u64(&response, "x-ratelimit-limit"), 20);
        assert!(header_u64(&response, "x-ratelimit-reset") <= 60);
        remaining.push(header_u64(&response, "x-ratelimit-remaining"));
    }
    assert_eq!(remaining, [19, 18, 17]);
}

#[tokio::test]
async fn health_probes_are_never_limited_nor_counted() {
    let app = spawn_app_with(|_| {}, probe_routes()).await;
    for path in ["/health", "/health/live", "/health/ready"] {
        for _ in 0..10 {
            let response = app.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert!(response.headers().get("x-ratelimit-limit").is_none(), "{path}");
        }
    }
    assert_eq!(header_u64(&app.get("/test/ping").await, "x-ratelimit-remaining"), 19);
}

#[tokio::test]
async fn a_route_override_applies_to_every_path_of_its_template_and_leaves_other_routes_alone() {
    let app = spawn_app_with(|s| s.rate_limit.routes = vec!["/test/items/{id}=2".into()], probe_routes()).await;
    let first = app.get("/test/items/1").await;
    let second = app.get("/test/items/2").await;
    let third = app.get("/test/items/3").await;
    let elsewhere = app.get("/test/ping").await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    assert_eq!(header_u64(&first, "x-ratelimit-limit"), 2, "the tighter limit is reported");
    assert_eq!(header_u64(&third, "x-ratelimit-limit"), 2);
    assert!((1..=30).contains(&header_u64(&third, "retry-after")));
    assert_problem(third, 429, "rate_limited").await;
    assert_eq!(elsewhere.status(), 200);
    assert_eq!(header_u64(&elsewhere, "x-ratelimit-limit"), 20);
}

#[tokio::test]
async fn chat_is_limited_more_tightly_than_other_routes_by_default() {
    let app = spawn_app_with(|_| {}, probe_routes()).await;
    let response =
        app.client.post(app.url("/api/v1/chat")).json(&serde_json::json!({"message": ""})).send().await.unwrap();
    assert_eq!(response.status(), 422, "counted even when the body is invalid");
    assert_eq!(header_u64(&response, "x-ratelimit-limit"), 10);
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = spawn_app_with(|s| s.security.trusted_proxies = vec!["127.0.0.1/32".into()], probe_routes()).await;
    let url = app.url("/test/ping");
    for _ in 0..20 {
        app.client.get(&url).header("x-forwarded-for", "203.0.113.1").send().await.unwrap();
    }
    let refused = app.client.get(&url).header("x-forwarded-for", "203.0.113.1").send().await.unwrap();
    let other = app.client.get(&url).header("x-forwarded-for", "203.0.113.1, 203.0.113.2").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(other.status(), 200, "the rightmost untrusted hop is the client");
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(|s| s.security.trusted_proxies = vec!["10.0.0.0/8".into()], probe_routes()).await;
    let url = app.url("/test/ping");
    for n in 0..20 {
        app.client.get(&url).header("x-forwarded-for", format!("198.51.100.{n}")).send().await.unwrap();
    }
    let spoofed = app.client.get(&url).header("x-forwarded-for", "198.51.100.99").send().await.unwrap();
    assert_problem(spoofed, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_off_switch_turns_every_limit_off() {
    let app = spawn_app_with(|s| s.rate_limit.enabled = false, probe_routes()).await;
    let statuses = hit(&app.client, &app.url("/test/ping"), 25).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(app.get("/test/ping").await.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn a_signed_in_user_has_the_higher_limit_of_their_own_whatever_address_they_use() {
    let app = spawn_app_with(|_| {}, probe_routes()).await;
    let base = serve_state(app.state.clone()).await;
    let url = format!("{base}/test/ping");
    let user = |ip: [u8; 4], id: &'static str| client_from(ip).get(&url).header("x-test-user", id);
    let first = user([127, 0, 0, 1], "reader-1").send().await.unwrap();
    for _ in 0..30 {
        user([127, 0, 0, 3], "reader-1").send().await.unwrap();
    }
    let later = user([127, 0, 0, 1], "reader-1").send().await.unwrap();
    let anonymous = client_from([127, 0, 0, 1]).get(&url).send().await.unwrap();
    assert_eq!(header_u64(&first, "x-ratelimit-limit"), 100);
    assert_eq!((later.status().as_u16(), header_u64(&later, "x-ratelimit-remaining")), (200, 68));
    assert_eq!(header_u64(&anonymous, "x-ratelimit-remaining"), 19, "the user's requests were not the address's");
}
