//! Docent: a self-hostable RAG chatbot backend for books and documentation sites.
//!
//! Data flows one way: `ingest → index/db → retrieve → answer → http`. `main.rs` only calls
//! [`cli::run`]; every subcommand is one library function.

pub mod access;
pub mod amx;
pub mod answer;
pub mod cli;
pub mod components;
pub mod config;
pub mod db;
pub mod embed;
pub mod eval;
pub(crate) mod half;
pub mod health;
pub mod http;
pub mod index;
pub mod ingest;
pub mod llm;
pub mod memory;
pub mod ops;
pub mod retrieve;
pub mod startup;
pub mod telemetry;
pub mod translate;

pub use startup::Application;

/// Outbound TLS (providers, later) uses rustls on the `ring` provider, installed once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Version, commit and build profile, as `docent version` prints them.
pub fn build_info() -> serde_json::Value {
    serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": env!("DOCENT_GIT_COMMIT"),
        "profile": env!("DOCENT_BUILD_PROFILE"),
    })
}
