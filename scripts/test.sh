#!/usr/bin/env bash
# `make test`: formatting, lints, then the whole test suite against real SQLite and a real
# PostgreSQL server started here on loopback (installed from Debian packages if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

pgdir=$(mktemp -d /tmp/docent-pg.XXXXXX)
cleanup() { scripts/pg.sh stop "$pgdir" || true; }
trap cleanup EXIT

echo "==> starting PostgreSQL on loopback"
DOCENT_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir")
export DOCENT_TEST_POSTGRES_URL

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --locked --all-targets -- --test-threads="${TEST_THREADS:-4}"
