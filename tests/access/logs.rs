//! The real binary's JSON logs at debug level never contain a password, a session token or a key.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn docent(data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docent"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DOCENT_DATA_DIR", data)
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "debug");
    command
}

async fn wait_until_live(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::get(format!("http://127.0.0.1:{port}/health/live")).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become live");
}

#[tokio::test]
async fn no_password_session_token_or_key_reaches_the_logs() {
    docent::install_crypto_provider();
    let data = tempfile::tempdir().unwrap();
    let migrate = docent(data.path()).args(["migrate", "up"]).output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let created =
        docent(data.path()).args(["keys", "create", "--name", "logs", "--scopes", "admin", "--json"]).output().unwrap();
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = docent(data.path())
        .arg("serve")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = KillOnDrop(child);
    let stdout = server.0.stdout.take().unwrap();
    let stderr = server.0.stderr.take().unwrap();
    let out = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>());
    let err = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());
    wait_until_live(port).await;

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let password = "Zebra-Passphrase-S3CRET";
    let body = json!({"email": "ada@example.com", "password": password});
    let signed_up = client.post(format!("{base}/api/v1/auth/signup")).json(&body).send().await.unwrap();
    assert_eq!(signed_up.status(), 201);
    let cookie = crate::support::set_cookie(&signed_up, "docent_session").unwrap();
    let session = crate::support::cookie_value(&cookie);
    let csrf = signed_up.json::<serde_json::Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    client
        .get(format!("{base}/api/v1/auth/me"))
        .header("cookie", format!("docent_session={session}"))
        .send()
        .await
        .unwrap();
    let wrong = json!({"email": "ada@example.com", "password": "Wrong-Passphrase-S3CRET"});
    client.post(format!("{base}/api/v1/auth/signin")).json(&wrong).send().await.unwrap();
    let used = client.get(format!("{base}/api/v1/keys")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(used.status(), 200);
    client.get(format!("{base}/api/v1/keys")).bearer_auth(format!("{key}x")).send().await.unwrap();

    Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    server.0.wait().unwrap();
    let lines = [out.join().unwrap(), err.join().unwrap()].concat();
    assert!(lines.iter().any(|l| l.contains("/api/v1/auth/signup")), "the requests were logged");
    let secret = key.rsplit('_').next().unwrap();
    for needle in [password, "Wrong-Passphrase-S3CRET", session.as_str(), csrf.as_str(), secret] {
        assert!(!lines.iter().any(|l| l.contains(needle)), "a secret leaked into the logs");
    }
}
