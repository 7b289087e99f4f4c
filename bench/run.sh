#!/usr/bin/env bash
# `make bench`: prints the numbers the issues set targets for. Not a test: nothing here fails on
# a slow machine. Installs what it needs (Debian python3.11-doc as the corpus, wrk, and a
# throwaway virtualenv with PyTorch for the comparison).
#   ingest chunks/s · search p50/p99 and req/s at concurrency 1 and 16 · RSS · time to ready
#   · local embedder vs PyTorch on the same chunks · 1M synthetic vectors
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS=${BENCH_CORPUS:-/usr/share/doc/python3.11/html}
PORT=${BENCH_PORT:-18780}
WORK=$(mktemp -d /tmp/docent-bench.XXXXXX)
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/docent"
export DOCENT_DATA_DIR="$WORK/data" LOG_LEVEL=warn
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

need_apt() {
  if ! dpkg -s "$1" >/dev/null 2>&1; then
    echo "bench: installing $1" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }
  fi
}
need_apt python3.11-doc
need_apt wrk

echo "== build"
cargo build --release --locked --quiet --bin docent --example embed --example index_1m

echo "== ingest ($CORPUS)"
"$BIN" ingest "$CORPUS" --json | tee "$WORK/ingest.json"
python3 - "$WORK/ingest.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"ingest: {s['chunks']['embedded']} chunks in {s['seconds']:.1f} s = {s['chunks']['embedded'] / s['seconds']:.1f} chunks/s")
PY

echo "== start-up and search"
start=$(date +%s.%N)
PORT=$PORT HOST=127.0.0.1 "$BIN" serve >"$WORK/server.log" 2>&1 &
server_pid=$!
until curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; do sleep 0.02; done
ready=$(date +%s.%N)
python3 -c "print(f'time to ready: {($ready - $start) * 1000:.0f} ms')"
for c in 1 16; do
  threads=$(( c < 2 ? 1 : 2 ))
  echo "-- concurrency $c"
  wrk -t"$threads" -c"$c" -d"${BENCH_SECONDS:-15}"s --latency -s bench/search.lua "http://127.0.0.1:$PORT" \
    | grep -E "^\s+(50|90|99)%|Requests/sec|Non-2xx" || true
done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
chunks=$(curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && python3 -c "import sqlite3; print(sqlite3.connect('$DOCENT_DATA_DIR/docent.db').execute('select count(*) from chunks').fetchone()[0])")
echo "server RSS: $((rss / 1024)) MB serving $chunks chunks"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

echo "== embedder vs PyTorch (same chunks)"
python3 - "$DOCENT_DATA_DIR/docent.db" "$WORK/texts.jsonl" <<'PY'
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "select heading_path, text from chunks where token_count between 120 and 240 order by id limit 256").fetchall()
with open(sys.argv[2], "w") as f:
    for heading, text in rows:
        f.write(json.dumps(f"{heading}\n\n{text}" if heading else text) + "\n")
PY
"$TARGET/release/examples/embed" "$WORK/texts.jsonl" 2 16
VENV=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/docent-bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "bench: creating $VENV with torch and sentence-transformers (large download)" >&2
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q torch sentence-transformers
fi
"$VENV/bin/python" bench/torch_embed.py "$WORK/texts.jsonl" "${DOCENT_MODEL_DIR:-models/all-MiniLM-L6-v2}" 2

echo "== 1M synthetic vectors (dense scan)"
"$TARGET/release/examples/index_1m"
