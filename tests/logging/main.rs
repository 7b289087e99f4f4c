//! The real binary's logs: one JSON object per line with the request fields, rotated files in
//! LOG_DIR, no secret in any line, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRETS: [&str; 4] = ["Bearer-dk_live_S3CRET", "cookie-session-S3CRET", "hunter2-S3CRET", "query-token-S3CRET"];

/// Ends the server even when an assertion fails first.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_server(data: &std::path::Path, logs: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_docent"))
        .arg("serve")
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("DOCENT_DATA_DIR", data)
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "debug")
        .env("LOG_DIR", logs)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn wait_until_live(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if reqwest::get(format!("http://127.0.0.1:{port}/health/live")).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become live");
}

async fn send_secrets(port: u16) {
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    client
        .post(format!("{base}/health?token={}", SECRETS[3]))
        .header("authorization", format!("Bearer {}", SECRETS[0]))
        .header("cookie", format!("docent_session={}", SECRETS[1]))
        .json(&serde_json::json!({ "password": SECRETS[2] }))
        .send()
        .await
        .unwrap();
    client.get(format!("{base}/health")).header("x-request-id", "log-test-1").send().await.unwrap();
}

#[tokio::test]
async fn json_logs_carry_request_fields_and_never_a_secret_and_sigterm_exits_cleanly() {
    docent::install_crypto_provider();
    let (data, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let port = free_port();
    let mut server = KillOnDrop(start_server(data.path(), logs.path(), port));
    let child = &mut server.0;
    let stdout = child.stdout.take().unwrap();
    let reader =
        std::thread::spawn(move || BufReader::new(stdout).lines().map(Result::unwrap).collect::<Vec<String>>());
    wait_until_live(port).await;
    send_secrets(port).await;

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM drains and exits 0");

    let lines = reader.join().unwrap();
    assert!(!lines.is_empty());
    let events: Vec<serde_json::Value> =
        lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect();
    for event in &events {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(event.get(key).is_some(), "{key} missing in {event}");
        }
    }
    let access = events
        .iter()
        .find(|e| e["request_id"] == "log-test-1" && e["message"] == "request completed")
        .expect("access log line for the request");
    assert_eq!(access["method"], "GET");
    assert_eq!(access["route"], "/health");
    assert_eq!(access["status"], 200);
    assert!(access["latency_ms"].is_number());

    let files: Vec<_> = std::fs::read_dir(logs.path()).unwrap().flatten().collect();
    assert!(!files.is_empty(), "LOG_DIR receives a log file");
    let mut everything = lines.join("\n");
    for file in files {
        everything.push_str(&std::fs::read_to_string(file.path()).unwrap());
    }
    assert!(everything.contains("log-test-1"), "the file has the request lines too");
    for secret in SECRETS {
        assert!(!everything.contains(secret), "{secret} leaked into the logs");
    }
}
