//! `docent healthcheck`: exit 0 iff `GET http://127.0.0.1:$PORT/health/live` answers 200 within
//! the timeout. Container images carry no curl, so this speaks HTTP/1.1 over a plain socket.

use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// Port to probe; defaults to PORT.
    #[arg(long)]
    port: Option<u16>,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
}

pub fn run(settings: &Settings, args: &HealthcheckArgs) -> ExitCode {
    let port = args.port.unwrap_or(settings.server.port);
    let timeout = Duration::from_millis(args.timeout_ms);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime starts");
    match rt.block_on(async { tokio::time::timeout(timeout, probe(port)).await }) {
        Ok(Ok(200)) => ExitCode::SUCCESS,
        Ok(Ok(status)) => {
            eprintln!("unhealthy: /health/live answered {status}");
            ExitCode::FAILURE
        }
        Ok(Err(err)) => {
            eprintln!("unhealthy: {err}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("unhealthy: no answer within {} ms", args.timeout_ms);
            ExitCode::FAILURE
        }
    }
}

async fn probe(port: u16) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 64];
    let n = stream.read(&mut head).await?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {line:?}")))
}
