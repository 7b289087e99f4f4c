-- The whole product's schema (SQLite). Timestamps are RFC 3339 text (UTC); JSON is text.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    name                TEXT,
    profile             TEXT NOT NULL DEFAULT '{}',
    role                TEXT NOT NULL DEFAULT 'reader' CHECK (role IN ('reader', 'admin')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT,
    request_count INTEGER NOT NULL DEFAULT 0,
    token_count   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE documents (
    id               TEXT PRIMARY KEY,
    source_path      TEXT NOT NULL UNIQUE,
    title            TEXT NOT NULL,
    format           TEXT NOT NULL,
    chapter          TEXT,
    chapter_label    TEXT,
    chapter_position INTEGER,
    position         INTEGER,
    url              TEXT,
    content_hash     TEXT NOT NULL,
    content          TEXT NOT NULL,
    size_bytes       INTEGER NOT NULL,
    chunk_count      INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX documents_chapter ON documents (chapter, position);

CREATE TABLE chunks (
    id              TEXT PRIMARY KEY,
    document_id     TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal         INTEGER NOT NULL,
    heading_path    TEXT NOT NULL,
    anchor          TEXT,
    text            TEXT NOT NULL,
    page            INTEGER,
    start_offset    INTEGER NOT NULL,
    end_offset      INTEGER NOT NULL,
    token_count     INTEGER NOT NULL,
    url             TEXT,
    embedding       BLOB,
    embedding_model TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX chunks_document_id ON chunks (document_id, ordinal);

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('user', 'key', 'anonymous')),
    owner_id   TEXT NOT NULL,
    title      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX conversations_owner ON conversations (owner_kind, owner_id, updated_at);

CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role              TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content           TEXT NOT NULL,
    citations         TEXT NOT NULL DEFAULT '[]',
    status            TEXT,
    provider          TEXT,
    model             TEXT,
    latency_ms        INTEGER,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    created_at        TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at);

CREATE TABLE translations (
    id           TEXT PRIMARY KEY,
    chapter_id   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    language     TEXT NOT NULL,
    model        TEXT NOT NULL,
    content      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (content_hash, language, model)
);

CREATE TABLE user_chapter_translations (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chapter_id         TEXT NOT NULL,
    language           TEXT NOT NULL,
    content_hash       TEXT NOT NULL,
    translated_content TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    UNIQUE (user_id, chapter_id, language)
);
CREATE INDEX user_chapter_translations_expires_at ON user_chapter_translations (expires_at);

CREATE TABLE ingest_jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    requested_by TEXT,
    payload      TEXT NOT NULL DEFAULT '{}',
    result       TEXT,
    error        TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX ingest_jobs_status ON ingest_jobs (status, created_at);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT,
    action     TEXT NOT NULL,
    target     TEXT,
    ip         TEXT,
    request_id TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
