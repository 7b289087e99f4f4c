//! Helpers: sign up a reader, read cookies out of responses, make admins.

use serde_json::{Value, json};

use crate::common::TestApp;

pub const PASSWORD: &str = "correct horse battery";

/// A reader who signed up: their session cookie token and CSRF token.
pub struct Reader {
    pub id: String,
    pub session: String,
    pub csrf: String,
}

impl Reader {
    pub fn cookie(&self) -> String {
        format!("docent_session={}", self.session)
    }
}

/// The value of cookie `name` among a response's Set-Cookie headers, with its attributes.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Just the value of a `Set-Cookie` line.
pub fn cookie_value(line: &str) -> String {
    line.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
}

pub async fn signup_response(app: &TestApp, email: &str, extra_cookie: Option<&str>) -> reqwest::Response {
    let mut request =
        app.client.post(app.url("/api/v1/auth/signup")).json(&json!({"email": email, "password": PASSWORD}));
    if let Some(cookie) = extra_cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

pub async fn signup(app: &TestApp, email: &str) -> Reader {
    reader_from(signup_response(app, email, None).await, 201).await
}

pub async fn signin(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/signin"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

pub async fn reader_from(response: reqwest::Response, status: u16) -> Reader {
    assert_eq!(response.status().as_u16(), status);
    let session = cookie_value(&set_cookie(&response, "docent_session").expect("a session cookie"));
    let body: Value = response.json().await.unwrap();
    Reader {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        session,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

/// `GET /api/v1/auth/me` with a session cookie.
pub async fn me(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.client.get(app.url("/api/v1/auth/me")).header("cookie", cookie).send().await.unwrap()
}
