//! The registry of every setting: its key in `docent.toml`, its environment variable, the values
//! it accepts and a one-line description. Parsing, validation messages, the README table and the
//! `.env.example` files all come from here, so they cannot drift apart silently.

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

const fn var(key: &'static str, env: &'static str, kind: Kind, default: &'static str, doc: &'static str) -> Var {
    Var { key, env, kind, default, doc }
}

const BOOL: Kind = Kind::Bool;
const SECS: Kind = Kind::Int { min: 1, max: 86_400 };

pub const VARS: &[Var] = &[
    var(
        "env",
        "DOCENT_ENV",
        Kind::Enum(&["development", "production"]),
        "development",
        "Deployment profile; production enables the safety checks and changes defaults.",
    ),
    var("debug", "DEBUG", BOOL, "false", "Debug mode (verbose errors in logs). Refused in production."),
    var(
        "data_dir",
        "DOCENT_DATA_DIR",
        Kind::Text,
        "./data",
        "Directory for the SQLite database, the embedded index and backups.",
    ),
    var(
        "allow_unsafe_production",
        "DOCENT_ALLOW_UNSAFE_PRODUCTION",
        BOOL,
        "false",
        "Start in production despite unsafe CORS, cookie or DEBUG settings. Almost never right.",
    ),
    var("server.host", "HOST", Kind::Text, "0.0.0.0", "Address to listen on."),
    var("server.port", "PORT", Kind::Int { min: 1, max: 65_535 }, "8000", "Port to listen on."),
    var(
        "server.request_timeout_secs",
        "DOCENT_SERVER__REQUEST_TIMEOUT_SECS",
        SECS,
        "60",
        "Longest time a request may take before it is answered 408.",
    ),
    var(
        "server.header_read_timeout_secs",
        "DOCENT_SERVER__HEADER_READ_TIMEOUT_SECS",
        SECS,
        "10",
        "A client that has not sent its full headers by then is disconnected (slowloris).",
    ),
    var(
        "server.shutdown_timeout_secs",
        "DOCENT_SERVER__SHUTDOWN_TIMEOUT_SECS",
        SECS,
        "30",
        "Hard deadline for in-flight requests after SIGTERM/SIGINT.",
    ),
    var(
        "server.body_limit_bytes",
        "DOCENT_SERVER__BODY_LIMIT_BYTES",
        Kind::Int { min: 1024, max: 1 << 30 },
        "1048576",
        "Largest request body accepted (413 beyond).",
    ),
    var(
        "security.cors_origins",
        "CORS_ORIGINS",
        Kind::List,
        "(none)",
        "Comma-separated exact origins allowed by CORS, e.g. https://book.example.com.",
    ),
    var(
        "security.secure_cookies",
        "SECURE_COOKIES",
        BOOL,
        "true in production, false otherwise",
        "Mark cookies Secure (HTTPS only).",
    ),
    var(
        "log.level",
        "LOG_LEVEL",
        Kind::Text,
        "info",
        "A level (error, warn, info, debug, trace) or tracing directives like docent=debug,sqlx=warn.",
    ),
    var(
        "log.format",
        "LOG_FORMAT",
        Kind::Enum(&["json", "pretty"]),
        "json in production, pretty otherwise",
        "Log line format on stdout and in files.",
    ),
    var("log.dir", "LOG_DIR", Kind::Text, "(none)", "Also write JSON logs to files in this directory, rotated daily."),
    var(
        "log.retention_files",
        "DOCENT_LOG__RETENTION_FILES",
        Kind::Int { min: 1, max: 3650 },
        "14",
        "How many rotated log files to keep.",
    ),
    var(
        "database.url",
        "DATABASE_URL",
        Kind::Secret,
        "sqlite://$DOCENT_DATA_DIR/docent.db",
        "sqlite://PATH, or postgres://USER:PASSWORD@HOST/DB for PostgreSQL.",
    ),
    var(
        "database.max_connections",
        "DOCENT_DATABASE__MAX_CONNECTIONS",
        Kind::Int { min: 1, max: 1000 },
        "10",
        "Connection pool size.",
    ),
    var(
        "database.min_connections",
        "DOCENT_DATABASE__MIN_CONNECTIONS",
        Kind::Int { min: 0, max: 1000 },
        "0",
        "Connections kept open when idle.",
    ),
    var(
        "database.acquire_timeout_secs",
        "DOCENT_DATABASE__ACQUIRE_TIMEOUT_SECS",
        SECS,
        "5",
        "How long a request waits for a pooled connection.",
    ),
    var(
        "database.idle_timeout_secs",
        "DOCENT_DATABASE__IDLE_TIMEOUT_SECS",
        SECS,
        "600",
        "Idle connections are closed after this long.",
    ),
    var(
        "database.health_timeout_ms",
        "DOCENT_DATABASE__HEALTH_TIMEOUT_MS",
        Kind::Int { min: 10, max: 60_000 },
        "1000",
        "Timeout of the database probe in /health and /health/ready.",
    ),
    var(
        "database.auto_migrate",
        "DOCENT_AUTO_MIGRATE",
        BOOL,
        "true in development, false in production",
        "Apply pending migrations when `serve` starts.",
    ),
    var(
        "admin_open",
        "DOCENT_ADMIN_OPEN",
        BOOL,
        "false",
        "Enable the document and job admin endpoints without authentication (until accounts land).",
    ),
    var(
        "embed.model_dir",
        "DOCENT_MODEL_DIR",
        Kind::Text,
        "models/all-MiniLM-L6-v2",
        "Folder of the local embedding model (config.json, tokenizer.json, model.safetensors); `make model` fetches it.",
    ),
    var(
        "embed.threads",
        "DOCENT_EMBED__THREADS",
        Kind::Int { min: 0, max: 256 },
        "0",
        "Inference threads of the local embedder; 0 uses every core.",
    ),
    var(
        "embed.batch_size",
        "DOCENT_EMBED__BATCH_SIZE",
        Kind::Int { min: 1, max: 256 },
        "16",
        "Texts per forward pass of the local embedder.",
    ),
    var(
        "ingest.base_url",
        "DOCENT_BASE_URL",
        Kind::Text,
        "(none)",
        "Public URL of the book, used to build citation deep links (e.g. https://book.example.com/docs).",
    ),
    var(
        "ingest.max_tokens",
        "DOCENT_INGEST__MAX_TOKENS",
        Kind::Int { min: 32, max: 512 },
        "256",
        "Largest chunk, in embedding-model tokens.",
    ),
    var(
        "ingest.overlap_tokens",
        "DOCENT_INGEST__OVERLAP_TOKENS",
        Kind::Int { min: 0, max: 128 },
        "32",
        "Overlap between the pieces of a split paragraph, in tokens.",
    ),
    var(
        "ingest.max_file_bytes",
        "DOCENT_INGEST__MAX_FILE_BYTES",
        Kind::Int { min: 1024, max: 1 << 31 },
        "20971520",
        "Larger files are skipped with a warning.",
    ),
    var("retrieve.k", "DOCENT_RETRIEVE__K", Kind::Int { min: 1, max: 100 }, "8", "Results returned by default."),
    var(
        "retrieve.fusion",
        "DOCENT_RETRIEVE__FUSION",
        Kind::Enum(&["convex", "rrf"]),
        "convex",
        "How BM25 and dense rankings are combined: convex combination of normalised scores, or reciprocal-rank fusion.",
    ),
    var(
        "retrieve.alpha",
        "DOCENT_RETRIEVE__ALPHA",
        Kind::Float { min: 0.0, max: 1.0 },
        "0.5",
        "Weight of the dense side in convex fusion (BM25 gets 1 - alpha).",
    ),
    var(
        "retrieve.rrf_k",
        "DOCENT_RETRIEVE__RRF_K",
        Kind::Float { min: 1.0, max: 1000.0 },
        "20",
        "Reciprocal-rank-fusion constant k (fusion = rrf).",
    ),
    var(
        "retrieve.bm25_weight",
        "DOCENT_RETRIEVE__BM25_WEIGHT",
        Kind::Float { min: 0.0, max: 10.0 },
        "1.0",
        "Weight of the BM25 ranking in reciprocal-rank fusion.",
    ),
    var(
        "retrieve.dense_weight",
        "DOCENT_RETRIEVE__DENSE_WEIGHT",
        Kind::Float { min: 0.0, max: 10.0 },
        "0.6",
        "Weight of the dense ranking in reciprocal-rank fusion.",
    ),
    var(
        "retrieve.candidates",
        "DOCENT_RETRIEVE__CANDIDATES",
        Kind::Int { min: 1, max: 1000 },
        "50",
        "Candidates taken from each ranking before fusion.",
    ),
    var(
        "backup.dir",
        "DOCENT_BACKUP__DIR",
        Kind::Text,
        "$DOCENT_DATA_DIR/backups",
        "Folder of the backup archives written by `docent backup create` and read by list, verify and prune.",
    ),
    var(
        "backup.keep_daily",
        "DOCENT_BACKUP__KEEP_DAILY",
        Kind::Int { min: 0, max: 3650 },
        "7",
        "`docent backup prune` keeps the newest backup of each of this many most recent days that have one.",
    ),
    var(
        "backup.keep_weekly",
        "DOCENT_BACKUP__KEEP_WEEKLY",
        Kind::Int { min: 0, max: 520 },
        "4",
        "`docent backup prune` keeps the newest backup of each of this many most recent ISO weeks that have one.",
    ),
    var(
        "backup.keep_monthly",
        "DOCENT_BACKUP__KEEP_MONTHLY",
        Kind::Int { min: 0, max: 1200 },
        "12",
        "`docent backup prune` keeps the newest backup of each of this many most recent months that have one.",
    ),
    var(
        "backup.pg_bin_dir",
        "DOCENT_BACKUP__PG_BIN_DIR",
        Kind::Text,
        "(PATH, then the newest /usr/lib/postgresql/*/bin)",
        "Folder holding pg_dump and pg_restore for PostgreSQL backups; they must be at least the server's major version.",
    ),
];

/// The variable registered for a dotted key.
pub fn by_key(key: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.key == key)
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
