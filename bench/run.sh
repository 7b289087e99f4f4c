#!/usr/bin/env bash
# `make bench`: prints the numbers the issues set targets for. Not a test: nothing here fails on
# a slow machine. Installs what it needs (Debian python3.11-doc as the corpus, wrk, and a
# throwaway virtualenv with PyTorch for the comparison).
#   ingest chunks/s · search p50/p95/p99 and req/s at concurrency 1 and 16, warm (repeated
#   questions, query cache) and cold (every question new) · RSS · time to ready · query
#   embedding · local embedder vs PyTorch · time to first SSE delta at 1 and 50 streams
#   · 1M synthetic vectors
# Knobs: BENCH_DATA_DIR=dir reuses (or, if empty, fills and keeps) an ingested data dir instead
# of a fresh ingest; BENCH_SECONDS (15) per wrk run; BENCH_SKIP_TORCH=1 skips PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS=${BENCH_CORPUS:-/usr/share/doc/python3.11/html}
PORT=${BENCH_PORT:-18780}
WORK=$(mktemp -d /tmp/docent-bench.XXXXXX)
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/docent"
DATA=${BENCH_DATA_DIR:-$WORK/data}
# Rate limits off: the load generator is one client sending thousands of requests a second.
export DOCENT_DATA_DIR="$DATA" LOG_LEVEL=warn DOCENT_RATE_LIMIT__ENABLED=false
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

echo "== machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
echo "== build"
cargo build --release --locked --quiet --bin docent --example embed --example index_1m --example first_delta

if [ -s "$DATA/ingest.json" ] && [ -f "$DATA/docent.db" ]; then
  echo "== ingest: reusing $DATA (BENCH_DATA_DIR)"
else
  echo "== ingest ($CORPUS)"
  mkdir -p "$DATA"
  "$BIN" ingest "$CORPUS" --json >"$WORK/ingest.json"
  cp "$WORK/ingest.json" "$DATA/ingest.json"
fi
# A reused data dir may predate the kept refusal background (`answer-background.json`); one
# question measures and keeps it, so the server does not measure it during the timed runs.
"$BIN" ask "How do I open a file?" >/dev/null
python3 - "$DATA/ingest.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"ingest: {s['chunks']['embedded']} chunks in {s['seconds']:.1f} s = {s['chunks']['embedded'] / s['seconds']:.1f} chunks/s")
PY

echo "== start-up and search ($(uptime | sed 's/.*load average/load average/'))"
start=$(date +%s.%N)
PORT=$PORT HOST=127.0.0.1 "$BIN" serve >"$WORK/server.log" 2>&1 &
server_pid=$!
until curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; do sleep 0.01; done
ready=$(date +%s.%N)
python3 -c "print(f'time to ready: {($ready - $start) * 1000:.0f} ms')"
echo "server RSS when ready: $(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$server_pid/status") MB"
# Two workloads: warm = the 40 questions of bench/queries.txt in rotation (after the first
# round their vectors come from the query cache, as repeated reader questions do); cold =
# every question unique (a counter appended), which embeds each one.
for script in search search_unique; do
  label=$([ "$script" = search ] && echo warm || echo cold)
  for c in 1 16; do
    threads=$(( c < 2 ? 1 : 2 ))
    printf -- "-- search %s, concurrency %s (%s)\n" "$label" "$c" "$(uptime | sed 's/.*load average/load average/')"
    wrk -t"$threads" -c"$c" -d"${BENCH_SECONDS:-15}"s --latency -s "bench/$script.lua" "http://127.0.0.1:$PORT" \
      | grep -E "^  p50|Non-2xx" || true
  done
done
status=/proc/$server_pid/status
chunks=$(python3 -c "import sqlite3; print(sqlite3.connect('$DATA/index.db').execute('select count(*) from chunks').fetchone()[0])")
echo "server RSS serving $chunks chunks: $(awk '/VmRSS/ {print int($2 / 1024)}' "$status") MB after the search runs (peak $(awk '/VmHWM/ {print int($2 / 1024)}' "$status") MB)"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

echo "== embedder: queries and chunks (same chunks as PyTorch)"
python3 - "$DATA/docent.db" "$WORK/texts.jsonl" <<'PY'
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "select heading_path, text from chunks where token_count between 120 and 240 order by id limit 256").fetchall()
with open(sys.argv[2], "w") as f:
    for heading, text in rows:
        f.write(json.dumps(f"{heading}\n\n{text}" if heading else text) + "\n")
PY
"$TARGET/release/examples/embed" "$WORK/texts.jsonl" 2 16 | tee "$WORK/docent-embed.txt"
if [ "${BENCH_SKIP_TORCH:-0}" = 1 ]; then
  echo "pytorch: skipped (BENCH_SKIP_TORCH=1)"
else
  VENV=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/docent-bench-venv}
  if [ ! -x "$VENV/bin/python" ]; then
    echo "bench: creating $VENV with torch and sentence-transformers (large download)" >&2
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q torch sentence-transformers
  fi
  "$VENV/bin/python" bench/torch_embed.py "$WORK/texts.jsonl" "${DOCENT_MODEL_DIR:-models/all-MiniLM-L6-v2}" 2 \
    | tee "$WORK/torch-embed.txt"
  # Docent against PyTorch, precision by precision (f32 vs fp32, bf16 vs bf16 autocast).
  python3 - "$WORK/docent-embed.txt" "$WORK/torch-embed.txt" <<'PY'
import re, sys
def rates(path, pattern):
    return {m[0]: float(m[1]) for m in re.findall(pattern, open(path).read())}
docent = rates(sys.argv[1], r"docent embed \((\w+)\): \d+ chunks.*?: ([\d.]+) chunks/s")
torch = rates(sys.argv[2], r"pytorch (fp32|bf16 autocast): .*?: ([\d.]+) chunks/s")
for ours, theirs in (("f32", "fp32"), ("bf16", "bf16 autocast")):
    if ours in docent and theirs in torch:
        print(f"docent {ours} / pytorch {theirs}: {docent[ours] / torch[theirs]:.2f}x")
PY
fi

echo "== overhead before the first SSE delta (stub LLM streaming instantly)"
"$TARGET/release/examples/first_delta" 40 1
"$TARGET/release/examples/first_delta" 40 50

echo "== 1M synthetic vectors (dense scan)"
"$TARGET/release/examples/index_1m"
