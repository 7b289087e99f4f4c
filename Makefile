# The two commands: `make run` (server on :8000) and `make test` (the whole suite).
SHELL := /bin/bash
PORT ?= 8000

.PHONY: run test build fmt lint

## Build in release mode and serve on :$(PORT) (SQLite in ./data, migrations applied).
run: build
	PORT=$(PORT) cargo run --release --locked --bin docent -- serve

build:
	cargo build --release --locked

## Formatting, clippy and every test (SQLite and a real PostgreSQL started on loopback).
test:
	bash scripts/test.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings
