-- Which replica is translating a chapter right now: one row per translation key (content hash,
-- language, model) while a translation is under way, so a second replica waits for the first
-- one's result instead of paying for the same translation. A claim is a lease: the translating
-- replica extends it while it works, and a replica that died leaves a claim that simply expires.
CREATE TABLE translation_claims (
    content_hash  TEXT NOT NULL,
    language      TEXT NOT NULL,
    model         TEXT NOT NULL,
    claimed_by    TEXT NOT NULL,
    claimed_until TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (content_hash, language, model)
);
