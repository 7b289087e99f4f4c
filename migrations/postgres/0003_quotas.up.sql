-- Daily LLM token spend per limited subject (user, API key, or anonymous client network), the
-- ledger the token quotas are checked against. `day` is the UTC date; rows of past days are
-- pruned by the application.
CREATE TABLE token_usage (
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'key', 'anonymous')),
    subject_id   TEXT NOT NULL,
    day          DATE NOT NULL,
    tokens       BIGINT NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, day)
);
CREATE INDEX token_usage_day ON token_usage (day);
