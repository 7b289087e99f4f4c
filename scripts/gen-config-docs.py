#!/usr/bin/env python3
"""Regenerates the README configuration table, the grouped tables of the user guide's
configuration reference (docs/configuration/settings.md) and the two .env example files from
src/config/vars/ (the registry). `tests/config` fails when they drift; run this to fix them."""
import re
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
src = "".join((root / "src/config/vars" / f"{part}.rs").read_text() for part in ("core", "answers", "translate"))
KIND = r'(Kind::\w+(?:\s*\{[^}]*\}|\(&\[[^\]]*\]\))?|BOOL|SECS)'
VARS = re.findall(r'var\(\s*"([^"]+)",\s*"([^"]+)",\s*' + KIND + r',\s*"([^"]*)",\s*"((?:[^"\\]|\\.)*)",?\s*\)', src)


def accepted(kind, env=""):
    kind = " ".join(kind.split())
    if kind in ("BOOL", "Kind::Bool"):
        return "true / false"
    if kind == "SECS":
        return "integer 1-86400"
    m = re.match(r"Kind::(Int|Float) \{ min: ([\d_.]+), max: ([\d_. <]+) \}", kind)
    if m:
        hi = m.group(3).replace("_", "").strip()
        if "<<" in hi:
            a, b = hi.split("<<")
            hi = str(int(a) << int(b))
        word = "integer" if m.group(1) == "Int" else "number"
        return f"{word} {m.group(2).replace('_', '')}-{hi}"
    m = re.match(r"Kind::Enum\(&\[(.*)\]\)", kind)
    if m:
        return " / ".join(x.strip().strip('"') for x in m.group(1).split(","))
    if kind == "Kind::Secret":
        return "URL (secret)" if env.endswith("_URL") else "text (secret)"
    return {"Kind::Text": "text", "Kind::List": "comma-separated list"}.get(kind, kind)


def table():
    rows = ["| Variable | `docent.toml` key | Accepted | Default | Meaning |", "|---|---|---|---|---|",
            "| `DOCENT_CONFIG` | — | path | `./docent.toml` if present | Configuration file (also `--config PATH`). |"]
    for key, env, kind, default, doc in VARS:
        rows.append(f"| `{env}` | `{key}` | {accepted(kind, env)} | `{default}` | {doc.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


PRODUCTION = {
    "DOCENT_ENV": "production", "SECURE_COOKIES": "true", "LOG_FORMAT": "json", "DOCENT_AUTO_MIGRATE": "false",
    "CORS_ORIGINS": "https://book.example.com", "DATABASE_URL": "postgres://docent:CHANGE_ME@db.internal:5432/docent",
    "LOG_DIR": "/var/log/docent", "DOCENT_DATA_DIR": "/var/lib/docent", "DOCENT_DATABASE__MAX_CONNECTIONS": "20",
    "DOCENT_BASE_URL": "https://book.example.com/docs",
}


def envfile(prod):
    out = [f"# Docent configuration ({'production' if prod else 'development'} profile). Every variable with its default;",
           "# uncomment to change. Layering: built-in defaults < docent.toml < these environment variables.", "",
           "# Configuration file (also --config PATH).", "# DOCENT_CONFIG=./docent.toml"]
    for key, env, kind, default, doc in VARS:
        out += ["", f"# {doc} ({accepted(kind, env)}; default: {default})"]
        if prod and env in PRODUCTION:
            out.append(f"{env}={PRODUCTION[env]}")
            continue
        value = "" if default.startswith("(") or " " in default or "$" in default else default
        out.append(f"# {env}={value}")
    return "\n".join(out) + "\n"


SECTIONS = {"": "General", "server": "Server", "security": "Security", "log": "Logging", "database": "Database",
            "embed": "Embedding", "ingest": "Ingestion", "retrieve": "Retrieval", "llm": "Language model",
            "metrics": "Metrics", "backup": "Backup", "openai": "OpenAI", "cohere": "Cohere",
            "anthropic": "Anthropic"}


def grouped():
    """One `## X settings` section per top-level key, in registry order."""
    groups = {}
    for row in VARS:
        prefix = row[0].split(".")[0] if "." in row[0] else ""
        groups.setdefault(prefix, []).append(row)
    out = []
    for prefix, rows in groups.items():
        title = SECTIONS.get(prefix, prefix.replace("_", " ").capitalize())
        out += [f"## {title} settings", "", "| Variable | `docent.toml` key | Accepted | Default | Meaning |",
                "|---|---|---|---|---|"]
        if prefix == "":
            out.append("| `DOCENT_CONFIG` | — | path | `./docent.toml` if present | Configuration file (also `--config PATH`). |")
        for key, env, kind, default, doc in rows:
            out.append(f"| `{env}` | `{key}` | {accepted(kind, env)} | `{default}` | {doc.replace('|', '/')} |")
        out.append("")
    return "\n".join(out) + "\n"


guide_path = root / "docs/configuration/settings.md"
guide = guide_path.read_text()
start = guide.index("## General settings")
end = guide.index(":::tip Example files")
guide_path.write_text(guide[:start] + grouped() + guide[end:])

readme = (root / "README.md").read_text()
start = readme.index("| Variable | `docent.toml` key |")
end = readme.index("\n\n", start) + 1
(root / "README.md").write_text(readme[:start] + table() + readme[end:])
(root / ".env.example").write_text(envfile(False))
(root / ".env.production.example").write_text(envfile(True))
print(f"{len(VARS)} variables written")
