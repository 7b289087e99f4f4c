#!/usr/bin/env bash
# Property-based API tests (part of `make test`): builds docent, starts the real `docent serve`
# on a free loopback port with a temporary data directory (rate limits off, the sample book in
# docs/ ingested, an API key with every scope sent on each request), and runs schemathesis
# against its /openapi.json with a bounded number of examples per operation. Checks: no 5xx,
# every status, content type, header and body as documented, and every error problem+json
# (scripts/schemathesis_hooks.py). Exits non-zero on any failure, including when schemathesis
# cannot be installed.
#
# Knobs: SCHEMATHESIS_MAX_EXAMPLES (default 100 per operation), SCHEMATHESIS_SEED,
# SCHEMATHESIS_VENV (default ${XDG_CACHE_HOME:-$HOME/.cache}/docent-schemathesis).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
venv=${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/docent-schemathesis}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-100}
seed=${SCHEMATHESIS_SEED:-$RANDOM}

if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  "$venv/bin/st" --version | grep -q "$SCHEMATHESIS_VERSION"
fi

data=$(mktemp -d /tmp/docent-schemathesis.XXXXXX)
server_pid=
llm_pid=
cleanup() {
  if [[ -n "$llm_pid" ]]; then kill "$llm_pid" 2>/dev/null || true; fi
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

echo "==> building docent"
# Run a copy, so a build from another checkout sharing CARGO_TARGET_DIR cannot swap it mid-run;
# the commit it reports tells whether the copy is this checkout's build.
docent="$data/docent"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
for attempt in 1 2 3; do
  cargo build --locked --quiet --bin docent
  cp "${CARGO_TARGET_DIR:-target}/debug/docent" "$docent"
  "$docent" version | grep -q "commit $commit" && break
  echo "the built docent is another checkout's (attempt $attempt); building again" >&2
  [[ $attempt == 3 ]] && { echo "could not get this checkout's docent binary" >&2; exit 1; }
done

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DOCENT_DATA_DIR="$data" HOST=127.0.0.1 PORT="$port" DOCENT_RATE_LIMIT__ENABLED=false \
  LOG_LEVEL=warn DOCENT_CONFIG="$data/none.toml"
touch "$data/none.toml"

# A local OpenAI-compatible stand-in model, so answers, rewrites and translations run for real.
python3 scripts/schemathesis_llm.py "$data/llm.port" &
llm_pid=$!
for _ in $(seq 1 50); do [[ -s "$data/llm.port" ]] && break; sleep 0.1; done
export DOCENT_LLM_PROVIDER=openai OPENAI_API_KEY=schemathesis OPENAI_BASE_URL="http://127.0.0.1:$(cat "$data/llm.port")"

echo "==> ingesting the sample book"
"$docent" ingest docs >/dev/null
key=$("$docent" keys create --name schemathesis --scopes chat,ingest,admin --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')

echo "==> starting docent serve on 127.0.0.1:$port"
"$docent" serve >"$data/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  kill -0 "$server_pid" 2>/dev/null || { cat "$data/server.log"; echo "docent serve exited" >&2; exit 1; }
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 0.5
# The port was free when chosen; make sure the server answering is the one started here.
kill -0 "$server_pid" 2>/dev/null || { cat "$data/server.log"; echo "docent serve exited" >&2; exit 1; }
curl -fsS "http://127.0.0.1:$port/openapi.json" >/dev/null

# Runs schemathesis with the given extra arguments; records a failure in $status.
status=0
schemathesis() {
  SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=scripts "$venv/bin/st" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,problem_json_errors \
    --phases examples,coverage,fuzzing \
    --seed "$seed" --workers 2 --request-timeout 30 \
    --suppress-health-check too_slow,filter_too_much "$@" || status=1
}

started=$SECONDS
echo "==> schemathesis, every operation with an all-scope API key: $max_examples examples each, seed $seed"
schemathesis --header "Authorization: Bearer $key" --max-examples "$max_examples"

# The session routes (/api/v1/auth/me, chapter translations) with the cookie of a signed-up
# admin; signout is left out so the session lives through the run (the key pass covers its 401).
email="schemathesis-$RANDOM@example.com"
curl -fsS -c "$data/cookies" -H 'Content-Type: application/json' -o "$data/signup.json" \
  -d "{\"email\":\"$email\",\"password\":\"correct horse battery staple\"}" "http://127.0.0.1:$port/api/v1/auth/signup"
"$docent" users set-role "$email" admin >/dev/null
session=$(awk '$6 == "docent_session" { print $7 }' "$data/cookies")
csrf=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["csrf_token"])' "$data/signup.json")
echo "==> schemathesis, the auth and chapter routes with a session cookie: $max_examples examples each"
schemathesis --include-tag auth --include-tag chapters --exclude-path /api/v1/auth/signout --header "Cookie: docent_session=$session" --header "X-CSRF-Token: $csrf" \
  --max-examples "$max_examples"
echo "==> schemathesis finished in $((SECONDS - started)) s with status $status"
if grep -q "panicked" "$data/server.log"; then
  echo "the server logged a panic:" >&2; grep -B2 -A8 "panicked" "$data/server.log" >&2; status=1
fi
exit "$status"
