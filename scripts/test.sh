#!/usr/bin/env bash
# `make test`: formatting, lints, then the whole test suite against real SQLite and a real
# PostgreSQL server started here on loopback (installed from Debian packages if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

pgdir=$(mktemp -d /tmp/docent-pg.XXXXXX)
cleanup() { scripts/pg.sh stop "$pgdir" || true; }
trap cleanup EXIT

# Real generated documentation sites for the HTML loader's tests (Sphinx and mdBook output).
for pkg in python3.11-doc rust-doc; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    echo "==> installing $pkg (test corpus)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }
  fi
done

# promtool (Debian package prometheus) checks the /metrics exposition in tests/ops.
if ! command -v promtool >/dev/null 2>&1; then
  echo "==> installing prometheus (promtool)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq prometheus >/dev/null; }
fi

echo "==> starting PostgreSQL on loopback"
DOCENT_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir")
export DOCENT_TEST_POSTGRES_URL

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --locked --all-targets -- --test-threads="${TEST_THREADS:-4}"
