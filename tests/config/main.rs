//! Settings: layering, error messages that name the variable, production refusals, redaction,
//! and the README table and `.env.example` files kept in step with the registry.

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;

use common::env;
use docent::config::{LoadOptions, LogFormat, load, vars};

fn load_env(pairs: &[(&str, &str)]) -> Result<docent::config::Settings, docent::config::ConfigError> {
    load(&LoadOptions { config_path: None, env: env(pairs) })
}

#[test]
fn an_invalid_port_names_the_variable_and_the_accepted_values() {
    let err = load_env(&[("PORT", "abc")]).unwrap_err();
    assert_eq!(err.to_string(), "PORT: expected an integer 1-65535, got \"abc\"");
}

#[test]
fn an_invalid_enum_value_lists_the_accepted_values() {
    let err = load_env(&[("LOG_FORMAT", "xml")]).unwrap_err();
    assert_eq!(err.to_string(), "LOG_FORMAT: expected one of json, pretty, got \"xml\"");
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docent.toml");
    std::fs::write(&file, "[server]\nport = 9000\nhost = \"127.0.0.1\"\n[log]\nlevel = \"debug\"\n").unwrap();
    let settings = load(&LoadOptions { config_path: Some(file), env: env(&[("PORT", "9100")]) }).unwrap();
    assert_eq!(settings.server.port, 9100);
    assert_eq!(settings.server.host, "127.0.0.1");
    assert_eq!(settings.log.level, "debug");
    assert_eq!(settings.database.max_connections, 10, "untouched settings keep their defaults");
}

#[test]
fn the_server_leaves_the_local_embedders_question_thread_a_core_unless_told_otherwise() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let local = load_env(&[]).unwrap();
    let remote = load_env(&[("DOCENT_EMBEDDER", "openai"), ("OPENAI_API_KEY", "sk-test")]).unwrap();
    let told = load_env(&[("DOCENT_SERVER__WORKERS", "3")]).unwrap();
    assert_eq!(local.server_workers(), (cores - 1).max(1));
    assert_eq!(remote.server_workers(), cores);
    assert_eq!(told.server_workers(), 3);
    let err = load_env(&[("DOCENT_SERVER__WORKERS", "-1")]).unwrap_err();
    assert_eq!(err.to_string(), "DOCENT_SERVER__WORKERS: expected an integer 0-1024, got \"-1\"");
}

#[test]
fn the_config_file_can_come_from_docent_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.toml");
    std::fs::write(&file, "debug = true\n").unwrap();
    let settings = load_env(&[("DOCENT_CONFIG", file.to_str().unwrap())]).unwrap();
    assert!(settings.debug);
}

#[test]
fn unknown_keys_in_the_file_are_rejected_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docent.toml");
    std::fs::write(&file, "[server]\nprot = 9000\n").unwrap();
    let err = load(&LoadOptions { config_path: Some(file), env: env(&[]) }).unwrap_err().to_string();
    assert!(err.contains("unknown key `server.prot`"), "{err}");
    assert!(err.contains("server.port"), "lists the known keys: {err}");
}

#[test]
fn a_wrongly_typed_file_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docent.toml");
    std::fs::write(&file, "[server]\nport = \"eighty\"\n").unwrap();
    let err = load(&LoadOptions { config_path: Some(file), env: env(&[]) }).unwrap_err().to_string();
    assert!(err.contains("server.port: expected an integer 1-65535"), "{err}");
}

#[test]
fn cors_origins_are_comma_separated_exact_origins() {
    let settings = load_env(&[("CORS_ORIGINS", "https://a.example.com, http://localhost:3000")]).unwrap();
    assert_eq!(settings.security.cors_origins, ["https://a.example.com", "http://localhost:3000"]);
    let err = load_env(&[("CORS_ORIGINS", "https://a.example.com/path")]).unwrap_err().to_string();
    assert!(err.starts_with("CORS_ORIGINS: expected"), "{err}");
}

#[test]
fn production_refuses_a_wildcard_origin_insecure_cookies_and_debug() {
    for (var, value) in [("CORS_ORIGINS", "*"), ("SECURE_COOKIES", "false"), ("DEBUG", "true")] {
        let err = load_env(&[("DOCENT_ENV", "production"), (var, value)]).unwrap_err().to_string();
        assert!(err.contains(&format!("{var}={value}")), "{var}: {err}");
        assert!(err.contains("DOCENT_ALLOW_UNSAFE_PRODUCTION"), "names the override: {err}");
    }
}

#[test]
fn the_loud_override_lets_production_start_anyway() {
    let settings =
        load_env(&[("DOCENT_ENV", "production"), ("DEBUG", "true"), ("DOCENT_ALLOW_UNSAFE_PRODUCTION", "true")])
            .unwrap();
    assert!(settings.debug);
}

#[test]
fn production_defaults_to_json_logs_secure_cookies_and_no_auto_migration() {
    let prod = load_env(&[("DOCENT_ENV", "production")]).unwrap();
    assert_eq!((prod.log_format(), prod.secure_cookies(), prod.auto_migrate()), (LogFormat::Json, true, false));
    let dev = load_env(&[]).unwrap();
    assert_eq!((dev.log_format(), dev.secure_cookies(), dev.auto_migrate()), (LogFormat::Pretty, false, true));
}

#[test]
fn the_database_defaults_to_sqlite_in_the_data_directory() {
    let settings = load_env(&[("DOCENT_DATA_DIR", "/srv/docent")]).unwrap();
    assert_eq!(settings.database_url(), "sqlite:///srv/docent/docent.db");
    let err = load_env(&[("DATABASE_URL", "mysql://u:pw@h/db")]).unwrap_err().to_string();
    assert!(err.starts_with("DATABASE_URL: expected sqlite://"), "{err}");
    assert!(!err.contains("pw@"), "password redacted: {err}");
}

#[test]
fn an_invalid_setting_stops_the_binary_with_exit_code_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_docent")).arg("serve").env("PORT", "abc").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PORT: expected an integer 1-65535, got \"abc\""), "{stderr}");
}

#[test]
fn docent_config_prints_the_effective_configuration_with_secrets_redacted() {
    let output = Command::new(env!("CARGO_BIN_EXE_docent"))
        .args(["config", "--json"])
        .env("DATABASE_URL", "postgres://docent:hunter2secret@db.internal/docent")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("hunter2secret"), "{stdout}");
    let tree: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(tree["database"]["url"], "postgres://docent:%5Bredacted%5D@db.internal/docent");
    let toml_out = Command::new(env!("CARGO_BIN_EXE_docent")).arg("config").output().unwrap();
    let text = String::from_utf8_lossy(&toml_out.stdout);
    assert!(text.contains("[server]") && text.contains("port = 8000"), "{text}");
}

#[test]
fn every_setting_has_a_registry_entry_and_every_entry_a_setting() {
    let tree = docent::config::Settings::default().effective_json();
    let mut leaves = Vec::new();
    collect_leaves(&tree, String::new(), &mut leaves);
    let mut keys: Vec<&str> = vars::all().map(|v| v.key).collect();
    keys.sort_unstable();
    leaves.sort();
    assert_eq!(leaves, keys);
}

fn collect_leaves(value: &serde_json::Value, prefix: String, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_leaves(v, if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, out);
            }
        }
        _ => out.push(prefix),
    }
}

#[test]
fn the_readme_the_guide_and_env_examples_list_exactly_the_registered_variables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut expected: Vec<String> = vars::all().map(|v| v.env.to_owned()).collect();
    expected.push("DOCENT_CONFIG".into());
    let mut want = expected.clone();
    want.sort();
    for page in ["README.md", "docs/configuration/settings.md"] {
        let text = std::fs::read_to_string(root.join(page)).unwrap();
        let mut got: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .map(str::to_owned)
            .collect();
        got.sort();
        assert_eq!(got, want, "{page} configuration tables (run scripts/gen-config-docs.py)");
    }
    for file in [".env.example", ".env.production.example"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let names: Vec<String> = text
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .collect();
        let mut names_sorted = names.clone();
        names_sorted.sort();
        names_sorted.dedup();
        assert_eq!(names_sorted, want, "{file} lists every variable once");
    }
}

#[test]
fn a_provider_chosen_without_its_key_is_refused_naming_the_variable() {
    let cases = [
        (vec![("DOCENT_LLM_PROVIDER", "anthropic")], "ANTHROPIC_API_KEY", "DOCENT_LLM_PROVIDER=anthropic"),
        (vec![("DOCENT_LLM_PROVIDER", "openai")], "OPENAI_API_KEY", "DOCENT_LLM_PROVIDER=openai"),
        (
            vec![
                ("DOCENT_LLM_PROVIDER", "openai"),
                ("OPENAI_API_KEY", "sk"),
                ("DOCENT_LLM_FALLBACK", "cohere,extractive"),
            ],
            "COHERE_API_KEY",
            "DOCENT_LLM_FALLBACK=cohere",
        ),
        (vec![("DOCENT_EMBEDDER", "cohere")], "COHERE_API_KEY", "DOCENT_EMBEDDER=cohere"),
        (vec![("DOCENT_RERANKER", "cohere")], "COHERE_API_KEY", "DOCENT_RERANKER=cohere"),
    ];
    for (pairs, variable, needed_by) in cases {
        let err = load_env(&pairs).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{variable} is not set, but {needed_by} needs it")), "{err}");
    }
}

#[test]
fn an_unknown_fallback_provider_lists_the_accepted_ones() {
    let err = load_env(&[("DOCENT_LLM_FALLBACK", "cohere,gemini")]).unwrap_err().to_string();
    assert_eq!(
        err,
        "DOCENT_LLM_FALLBACK: expected a comma-separated list of extractive, cohere, openai, anthropic, got \"gemini\""
    );
    let err = load_env(&[("DOCENT_LLM_PROVIDER", "gemini")]).unwrap_err().to_string();
    assert!(err.starts_with("DOCENT_LLM_PROVIDER: expected one of extractive, cohere, openai, anthropic"), "{err}");
}

#[test]
fn an_openai_compatible_server_on_its_own_base_url_needs_no_key() {
    let settings = load_env(&[
        ("DOCENT_LLM_PROVIDER", "openai"),
        ("OPENAI_BASE_URL", "http://localhost:11434/v1"),
        ("DOCENT_LLM_MODEL", "llama3.1"),
        ("DOCENT_LLM_FALLBACK", "extractive"),
    ])
    .unwrap();
    let llm = settings.llm_settings();
    assert_eq!((llm.openai.base_url.as_str(), llm.model.as_deref()), ("http://localhost:11434/v1", Some("llama3.1")));
    assert!(settings.llm_falls_back_to_extractive());
    let err = load_env(&[("OPENAI_BASE_URL", "localhost:11434")]).unwrap_err().to_string();
    assert!(err.starts_with("OPENAI_BASE_URL: expected an http:// or https:// URL"), "{err}");
}

#[test]
fn the_chain_stops_at_extractive_and_keys_are_redacted() {
    let settings = load_env(&[
        ("DOCENT_LLM_PROVIDER", "cohere"),
        ("COHERE_API_KEY", "co-secret-1"),
        ("DOCENT_LLM_FALLBACK", "cohere, extractive, anthropic"),
        ("DOCENT_LLM__FIRST_TOKEN_TIMEOUT_MS", "1500"),
    ])
    .unwrap();
    assert_eq!(settings.llm_chain(), [docent::llm::ProviderKind::Cohere]);
    assert_eq!(settings.llm_settings().timeouts.first_token, std::time::Duration::from_millis(1500));
    let printed = settings.effective_json().to_string();
    assert!(!printed.contains("co-secret-1") && printed.contains("[redacted]"), "{printed}");
}

#[test]
fn a_first_token_deadline_beyond_the_total_is_refused() {
    let err = load_env(&[("DOCENT_LLM__FIRST_TOKEN_TIMEOUT_MS", "90000"), ("DOCENT_LLM__TOTAL_TIMEOUT_SECS", "60")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("DOCENT_LLM__FIRST_TOKEN_TIMEOUT_MS: expected at most DOCENT_LLM__TOTAL_TIMEOUT_SECS"),
        "{err}"
    );
}
