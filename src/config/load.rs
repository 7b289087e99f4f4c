//! Layering: built-in defaults < `docent.toml` < environment variables.
//!
//! Written by hand rather than with `figment`/`config` because the error messages must name the
//! environment variable (or the file key) and the values it accepts, which those crates do not
//! offer. Values from every layer are gathered into one JSON tree, checked against the
//! [`super::vars`] registry, then deserialised into [`Settings`] (which supplies the defaults).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::Settings;
use super::vars::{Kind, Var, all, by_key};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the configuration file: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// A value that is not among the accepted ones; `name` is the variable or file key.
    #[error("{name}: expected {expected}, got {got:?}")]
    Invalid { name: String, expected: String, got: String },
    /// A setting another one depends on is absent (e.g. the API key of the chosen provider).
    #[error("{name} is not set, but {needed_by} needs it; set it or choose another option")]
    Missing { name: String, needed_by: String },
    #[error(
        "refusing to start with DOCENT_ENV=production: {}. Fix the settings, or set \
         DOCENT_ALLOW_UNSAFE_PRODUCTION=true if you really mean it",
        reasons.join("; ")
    )]
    UnsafeProduction { reasons: Vec<String> },
}

/// Where settings come from: an optional file and a snapshot of the environment.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`; when `None`, `DOCENT_CONFIG` or `./docent.toml` if it exists.
    pub config_path: Option<PathBuf>,
    pub env: HashMap<String, String>,
}

impl LoadOptions {
    /// Options reading the process environment.
    pub fn from_process(config_path: Option<PathBuf>) -> Self {
        Self { config_path, env: std::env::vars().collect() }
    }

    fn file(&self) -> Option<(PathBuf, bool)> {
        if let Some(p) = &self.config_path {
            return Some((p.clone(), true));
        }
        if let Some(p) = self.env.get("DOCENT_CONFIG").filter(|p| !p.is_empty()) {
            return Some((PathBuf::from(p), true));
        }
        let default = PathBuf::from("docent.toml");
        default.exists().then_some((default, false))
    }
}

/// Loads, layers and validates the settings.
pub fn load(options: &LoadOptions) -> Result<Settings, ConfigError> {
    let mut tree = Value::Object(Map::new());
    if let Some((path, _explicit)) = options.file() {
        merge_file(&mut tree, &path)?;
    }
    for var in all() {
        if let Some(raw) = options.env.get(var.env)
            && let Some(value) = parse_env(var, raw)?
        {
            set_path(&mut tree, var.key, value);
        }
    }
    let settings: Settings = serde_json::from_value(tree)
        .map_err(|e| ConfigError::File { path: PathBuf::from("configuration"), message: e.to_string() })?;
    super::validate::validate(&settings)?;
    Ok(settings)
}

fn merge_file(tree: &mut Value, path: &Path) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let doc: toml::Table =
        toml::from_str(&text).map_err(|e| ConfigError::File { path: path.into(), message: e.message().to_owned() })?;
    let mut leaves = Vec::new();
    flatten(&Value::Object(to_json(doc)), String::new(), &mut leaves);
    for (key, value) in leaves {
        let Some(var) = by_key(&key) else {
            return Err(ConfigError::File { path: path.into(), message: unknown_key_message(&key) });
        };
        let value = check_file_value(var, &value, path)?;
        set_path(tree, var.key, value);
    }
    Ok(())
}

fn to_json(table: toml::Table) -> Map<String, Value> {
    match serde_json::to_value(table) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn flatten(value: &Value, prefix: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if by_key(&prefix).is_none() => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(v, key, out);
            }
        }
        other => out.push((prefix, other.clone())),
    }
}

fn unknown_key_message(key: &str) -> String {
    let section = key.rsplit_once('.').map(|(s, _)| s).unwrap_or("");
    let known: Vec<&str> =
        all().filter(|v| v.key.rsplit_once('.').map(|(s, _)| s).unwrap_or("") == section).map(|v| v.key).collect();
    format!("unknown key `{key}`; known keys here: {}", known.join(", "))
}

/// Checks a value from `docent.toml` against its kind; lists may also be comma-separated strings.
fn check_file_value(var: &Var, value: &Value, path: &Path) -> Result<Value, ConfigError> {
    let name = format!("{}: {}", path.display(), var.key);
    let ok = match (var.kind, value) {
        (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Int { min, max }, Value::Number(n)) => n.as_i64().is_some_and(|n| n >= min && n <= max),
        (Kind::Float { min, max }, Value::Number(n)) => n.as_f64().is_some_and(|n| n >= min && n <= max),
        (Kind::Enum(words), Value::String(s)) => words.contains(&s.as_str()),
        (Kind::Text | Kind::Secret, Value::String(_)) => true,
        (Kind::List, Value::Array(items)) => items.iter().all(Value::is_string),
        (Kind::List, Value::String(s)) => return Ok(split_list(s)),
        _ => false,
    };
    if ok {
        Ok(value.clone())
    } else {
        Err(ConfigError::Invalid { name, expected: var.kind.expected(), got: value.to_string() })
    }
}

/// Parses an environment string by the variable's kind. Empty means unset, except for lists.
pub(crate) fn parse_env(var: &Var, raw: &str) -> Result<Option<Value>, ConfigError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() && var.kind != Kind::List {
        return Ok(None);
    }
    let invalid = || ConfigError::Invalid { name: var.env.into(), expected: var.kind.expected(), got: raw.into() };
    let value = match var.kind {
        Kind::Bool => Value::Bool(parse_bool(trimmed).ok_or_else(invalid)?),
        Kind::Int { min, max } => {
            let n: i64 = trimmed.parse().map_err(|_| invalid())?;
            if n < min || n > max {
                return Err(invalid());
            }
            Value::from(n)
        }
        Kind::Float { min, max } => {
            let n: f64 = trimmed.parse().map_err(|_| invalid())?;
            if !(min..=max).contains(&n) {
                return Err(invalid());
            }
            Value::from(n)
        }
        Kind::Enum(words) => {
            let lower = trimmed.to_ascii_lowercase();
            if !words.contains(&lower.as_str()) {
                return Err(invalid());
            }
            Value::String(lower)
        }
        Kind::Text | Kind::Secret => Value::String(trimmed.into()),
        Kind::List => split_list(trimmed),
    };
    Ok(Some(value))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn split_list(s: &str) -> Value {
    Value::Array(s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| Value::String(p.into())).collect())
}

fn set_path(tree: &mut Value, key: &str, value: Value) {
    let mut node = tree;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let map = node.as_object_mut().expect("settings tree nodes are objects");
        if parts.peek().is_none() {
            map.insert(part.into(), value);
            return;
        }
        node = map.entry(part).or_insert_with(|| Value::Object(Map::new()));
    }
}
