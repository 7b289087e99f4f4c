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
        "access.allow_anonymous",
        "DOCENT_ALLOW_ANONYMOUS",
        BOOL,
        "true",
        "Let readers without an account or key chat, search and keep conversations (by the docent_anon cookie).",
    ),
    var(
        "access.session_ttl_secs",
        "DOCENT_ACCESS__SESSION_TTL_SECS",
        Kind::Int { min: 1, max: 31_536_000 },
        "2592000",
        "Absolute lifetime of a sign-in session, however active (default 30 days).",
    ),
    var(
        "access.session_idle_secs",
        "DOCENT_ACCESS__SESSION_IDLE_SECS",
        Kind::Int { min: 1, max: 31_536_000 },
        "604800",
        "A session unused for this long ends (default 7 days).",
    ),
    var(
        "access.same_site",
        "DOCENT_ACCESS__SAME_SITE",
        Kind::Enum(&["lax", "strict"]),
        "lax",
        "SameSite attribute of the docent_session cookie.",
    ),
    var(
        "access.signin_failures_per_account",
        "DOCENT_ACCESS__SIGNIN_FAILURES_PER_ACCOUNT",
        Kind::Int { min: 1, max: 10_000 },
        "5",
        "Failed sign-ins to one account within the window before further attempts are refused (429).",
    ),
    var(
        "access.signin_failures_per_ip",
        "DOCENT_ACCESS__SIGNIN_FAILURES_PER_IP",
        Kind::Int { min: 1, max: 100_000 },
        "20",
        "Failed sign-ins from one IP address within the window before further attempts are refused (429).",
    ),
    var(
        "access.signin_window_secs",
        "DOCENT_ACCESS__SIGNIN_WINDOW_SECS",
        SECS,
        "900",
        "Window over which failed sign-ins are counted.",
    ),
    var(
        "access.usage_flush_secs",
        "DOCENT_ACCESS__USAGE_FLUSH_SECS",
        Kind::Int { min: 1, max: 3_600 },
        "5",
        "How often per-key usage counters (requests, tokens, last use) are written to the database.",
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
        "retrieve.query_cache",
        "DOCENT_RETRIEVE__QUERY_CACHE",
        Kind::Int { min: 0, max: 1_000_000 },
        "4096",
        "Query embeddings kept in memory for repeated questions (0 turns the cache off).",
    ),
    // Grounded answers: chat providers, remote embedders, reranking, resilience and caps.
    var(
        "llm.provider",
        "DOCENT_LLM_PROVIDER",
        Kind::Enum(&["extractive", "cohere", "openai", "anthropic"]),
        "extractive",
        "Generator that writes answers: the offline extractive one, or a chat model provider.",
    ),
    var(
        "llm.model",
        "DOCENT_LLM_MODEL",
        Kind::Text,
        "(the provider's chat model)",
        "Chat model of the primary provider.",
    ),
    var(
        "llm.fallback",
        "DOCENT_LLM_FALLBACK",
        Kind::List,
        "extractive",
        "Providers tried in order when the previous one fails before its first token, e.g. cohere,openai,extractive. Without extractive, a failure of every provider is answered 502/503/504.",
    ),
    var("cohere.api_key", "COHERE_API_KEY", Kind::Secret, "(none)", "Cohere API key (chat, embed, rerank)."),
    var("cohere.base_url", "COHERE_BASE_URL", Kind::Text, "https://api.cohere.com", "Cohere API base URL."),
    var(
        "cohere.model",
        "COHERE_CHAT_MODEL",
        Kind::Text,
        "command-a-03-2025",
        "Cohere chat model when it is a fallback.",
    ),
    var("openai.api_key", "OPENAI_API_KEY", Kind::Secret, "(none)", "OpenAI (or compatible server) API key."),
    var(
        "openai.base_url",
        "OPENAI_BASE_URL",
        Kind::Text,
        "https://api.openai.com",
        "OpenAI-compatible base URL (OpenRouter, Ollama http://localhost:11434/v1, vLLM, llama.cpp); a custom one needs no key.",
    ),
    var(
        "openai.model",
        "OPENAI_CHAT_MODEL",
        Kind::Text,
        "gpt-4o-mini",
        "OpenAI-compatible chat model when it is a fallback.",
    ),
    var("anthropic.api_key", "ANTHROPIC_API_KEY", Kind::Secret, "(none)", "Anthropic API key."),
    var("anthropic.base_url", "ANTHROPIC_BASE_URL", Kind::Text, "https://api.anthropic.com", "Anthropic API base URL."),
    var(
        "anthropic.model",
        "ANTHROPIC_CHAT_MODEL",
        Kind::Text,
        "claude-sonnet-4-5",
        "Anthropic chat model when it is a fallback.",
    ),
    var(
        "llm.connect_timeout_ms",
        "DOCENT_LLM__CONNECT_TIMEOUT_MS",
        Kind::Int { min: 50, max: 60_000 },
        "5000",
        "Deadline to connect to a provider.",
    ),
    var(
        "llm.first_token_timeout_ms",
        "DOCENT_LLM__FIRST_TOKEN_TIMEOUT_MS",
        Kind::Int { min: 50, max: 600_000 },
        "20000",
        "Deadline from sending a request to the first generated token (then the next provider is tried).",
    ),
    var(
        "llm.total_timeout_secs",
        "DOCENT_LLM__TOTAL_TIMEOUT_SECS",
        SECS,
        "120",
        "Deadline for a whole generation, stream included (504 beyond).",
    ),
    var(
        "llm.max_attempts",
        "DOCENT_LLM__MAX_ATTEMPTS",
        Kind::Int { min: 1, max: 10 },
        "3",
        "Attempts per provider before its first token (jittered exponential backoff, Retry-After honoured up to 10 s).",
    ),
    var(
        "llm.breaker_failures",
        "DOCENT_LLM__BREAKER_FAILURES",
        Kind::Int { min: 1, max: 1000 },
        "5",
        "Consecutive failures that open a provider's circuit breaker.",
    ),
    var(
        "llm.breaker_cooldown_secs",
        "DOCENT_LLM__BREAKER_COOLDOWN_SECS",
        SECS,
        "30",
        "How long an open breaker skips its provider before one probe request.",
    ),
    var(
        "llm.context_tokens",
        "DOCENT_LLM__CONTEXT_TOKENS",
        Kind::Int { min: 128, max: 1_000_000 },
        "3000",
        "Budget of retrieved text sent to the model (estimated at four characters per token); at least one passage.",
    ),
    var(
        "llm.max_answer_tokens",
        "DOCENT_LLM__MAX_ANSWER_TOKENS",
        Kind::Int { min: 16, max: 64_000 },
        "512",
        "Longest answer the model may write, in tokens.",
    ),
    var(
        "llm.history_turns",
        "DOCENT_LLM__HISTORY_TURNS",
        Kind::Int { min: 0, max: 50 },
        "5",
        "Earlier question/answer pairs of a conversation given to the model and the follow-up rewriter.",
    ),
    var(
        "embed.provider",
        "DOCENT_EMBEDDER",
        Kind::Enum(&["local", "cohere", "openai"]),
        "local",
        "Embedder: the local MiniLM, Cohere /v2/embed or OpenAI-compatible /v1/embeddings. Changing it requires `docent index rebuild`.",
    ),
    var(
        "embed.remote_model",
        "DOCENT_EMBED__REMOTE_MODEL",
        Kind::Text,
        "embed-v4.0 (cohere), text-embedding-3-small (openai)",
        "Model of the remote embedder.",
    ),
    var(
        "embed.dimension",
        "DOCENT_EMBED__DIMENSION",
        Kind::Int { min: 1, max: 16_384 },
        "1536 for the default remote models",
        "Vector length of the remote embedder (required with a custom DOCENT_EMBED__REMOTE_MODEL).",
    ),
    var(
        "retrieve.reranker",
        "DOCENT_RERANKER",
        Kind::Enum(&["none", "cohere"]),
        "none",
        "Reorder the fused candidates with Cohere /v2/rerank before the top k are kept.",
    ),
    var("retrieve.rerank_model", "DOCENT_RERANK__MODEL", Kind::Text, "rerank-v3.5", "Cohere rerank model."),
    var(
        "retrieve.rerank_candidates",
        "DOCENT_RERANK__CANDIDATES",
        Kind::Int { min: 1, max: 1000 },
        "30",
        "Fused candidates sent to the reranker.",
    ),
    var(
        "rate_limit.enabled",
        "DOCENT_RATE_LIMIT__ENABLED",
        BOOL,
        "true",
        "Limit request rates (429 with Retry-After beyond); false turns every rate limit off.",
    ),
    var(
        "rate_limit.signed_in_per_minute",
        "DOCENT_RATE_LIMIT__SIGNED_IN_PER_MINUTE",
        Kind::Int { min: 1, max: 100_000 },
        "100",
        "Requests per minute of one signed-in user or API key, across all routes.",
    ),
    var(
        "rate_limit.anonymous_per_minute",
        "DOCENT_RATE_LIMIT__ANONYMOUS_PER_MINUTE",
        Kind::Int { min: 1, max: 100_000 },
        "20",
        "Requests per minute of one anonymous client (by IP; IPv6 by /64), across all routes.",
    ),
    var(
        "rate_limit.routes",
        "DOCENT_RATE_LIMIT__ROUTES",
        Kind::List,
        "/api/v1/auth/signin=10,/api/v1/auth/signup=5,/api/v1/chat=10",
        "Extra per-route limits as ROUTE=N (route template, requests per minute per caller), counted on top of the caller's limit.",
    ),
    var(
        "rate_limit.exempt",
        "DOCENT_RATE_LIMIT__EXEMPT",
        Kind::List,
        "/health*,/metrics",
        "Route templates never rate limited; a trailing * matches any suffix.",
    ),
    var(
        "quota.user_daily_tokens",
        "DOCENT_QUOTA__USER_DAILY_TOKENS",
        Kind::Int { min: 0, max: 1_000_000_000_000 },
        "200000",
        "LLM tokens (prompt + completion) one signed-in user may spend per UTC day; 0 = unlimited.",
    ),
    var(
        "quota.key_daily_tokens",
        "DOCENT_QUOTA__KEY_DAILY_TOKENS",
        Kind::Int { min: 0, max: 1_000_000_000_000 },
        "1000000",
        "LLM tokens one API key may spend per UTC day; 0 = unlimited.",
    ),
    var(
        "quota.anonymous_daily_tokens",
        "DOCENT_QUOTA__ANONYMOUS_DAILY_TOKENS",
        Kind::Int { min: 0, max: 1_000_000_000_000 },
        "50000",
        "LLM tokens one anonymous client (by IP) may spend per UTC day; 0 = unlimited.",
    ),
    var(
        "security.trusted_proxies",
        "DOCENT_TRUSTED_PROXIES",
        Kind::List,
        "(none)",
        "IPs or CIDR blocks of reverse proxies whose X-Forwarded-For names the client (e.g. 10.0.0.0/8); others' is ignored.",
    ),
    var("metrics.enabled", "DOCENT_METRICS__ENABLED", BOOL, "true", "Serve Prometheus metrics at GET /metrics."),
    var(
        "metrics.addr",
        "DOCENT_METRICS__ADDR",
        Kind::Text,
        "(none)",
        "Serve /metrics on this separate admin address (e.g. 127.0.0.1:9100) instead of the public port.",
    ),
    var(
        "check.min_free_disk_percent",
        "DOCENT_CHECK__MIN_FREE_DISK_PERCENT",
        Kind::Float { min: 0.0, max: 100.0 },
        "10",
        "`docent check` fails when the data directory's file system has less free space than this.",
    ),
    var(
        "check.max_backup_age_hours",
        "DOCENT_CHECK__MAX_BACKUP_AGE_HOURS",
        Kind::Int { min: 0, max: 8760 },
        "26",
        "`docent check` fails when the newest backup in $DOCENT_DATA_DIR/backups is older; 0 skips the backup item.",
    ),
    var(
        "check.timeout_ms",
        "DOCENT_CHECK__TIMEOUT_MS",
        Kind::Int { min: 100, max: 120_000 },
        "5000",
        "Timeout of each network probe of `docent check` (database, LLM providers).",
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
