# Developer commands; .ci/run runs the same steps in CI.
.PHONY: run test test-backends fmt lint schema migrate db-up bench ci

run:            ## the server on the embedded default (SQLite, no Redis)
	cargo run -p api

test:           ## the whole suite on the embedded default
	cargo test --workspace

test-backends:  ## the whole suite against local PostgreSQL and Redis
	TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres \
	TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test --workspace

fmt:
	cargo fmt --all

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	bash .ci/layers.sh

schema:         ## rewrite schema.graphql from the code
	UPDATE_SCHEMA=1 cargo test -p api schema_graphql

migrate:
	cargo run -p api -- migrate

bench:          ## the benchmark on local PostgreSQL + Redis, beside the anchors (needs wrk, pgbench, node)
	cargo build --release -p api -p bench
	target/release/membercard-bench

db-up:          ## PostgreSQL and Redis in containers
	docker compose -f docker/compose.yaml up -d postgres redis

ci:
	bash .ci/run
