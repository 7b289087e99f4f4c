//! The registry of every setting: its key in `docent.toml`, its environment variable, the values
//! it accepts and a one-line description. Parsing, validation messages, the README table and the
//! `.env.example` files all come from here, so they cannot drift apart silently.
//!
//! The table is split by area: `core` (profile, server, database, logs, access, limits, ops,
//! ingestion and retrieval), `answers` (chat providers, remote embedders, reranking,
//! resilience, caps) and `translate` (chapter translations). [`all`] yields them in that order.

mod answers;
mod core;
mod translate;

/// What a setting accepts; used to parse environment strings and to check `docent.toml` values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    /// An integer within the inclusive range.
    Int {
        min: i64,
        max: i64,
    },
    /// One of a fixed set of lowercase words.
    Enum(&'static [&'static str]),
    /// A number within the inclusive range.
    Float {
        min: f64,
        max: f64,
    },
    /// Free text (paths, log directives).
    Text,
    /// A comma-separated list in the environment, an array in `docent.toml`.
    List,
    /// A secret: never printed, never logged.
    Secret,
}

#[derive(Debug, Clone, Copy)]
pub struct Var {
    /// Dotted key in `docent.toml`, e.g. `server.port`.
    pub key: &'static str,
    /// Environment variable, e.g. `PORT`.
    pub env: &'static str,
    pub kind: Kind,
    /// Default as shown to humans.
    pub default: &'static str,
    pub doc: &'static str,
}

pub(super) const fn var(
    key: &'static str,
    env: &'static str,
    kind: Kind,
    default: &'static str,
    doc: &'static str,
) -> Var {
    Var { key, env, kind, default, doc }
}

pub(super) const BOOL: Kind = Kind::Bool;
pub(super) const SECS: Kind = Kind::Int { min: 1, max: 86_400 };

/// Every registered variable, in documentation order.
pub fn all() -> impl Iterator<Item = &'static Var> {
    core::VARS.iter().chain(answers::VARS).chain(translate::VARS)
}

/// The variable registered for a dotted key.
pub fn by_key(key: &str) -> Option<&'static Var> {
    all().find(|v| v.key == key)
}

impl Kind {
    /// Human description of the accepted values, used in error messages.
    pub fn expected(&self) -> String {
        match self {
            Kind::Bool => "true or false".into(),
            Kind::Int { min, max } => format!("an integer {min}-{max}"),
            Kind::Float { min, max } => format!("a number {min}-{max}"),
            Kind::Enum(words) => format!("one of {}", words.join(", ")),
            Kind::Text | Kind::Secret => "text".into(),
            Kind::List => "a comma-separated list".into(),
        }
    }
}
