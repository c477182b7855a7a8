#!/usr/bin/env bash
# Starts the membercard binary given as $1 on a free loopback port with a throw-away SQLite
# database, waits until /readyz answers, runs the command in the remaining arguments with
# MEMBERCARD_URL set (e.g. http://127.0.0.1:PORT), then stops the server. Exits with the
# command's status.
set -euo pipefail
binary="$1"; shift
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
MEMBERCARD_LISTEN="127.0.0.1:$port" DATABASE_URL="sqlite://$dir/audit.db?mode=rwc" \
  MEMBERCARD_RATE_LIMIT_REQUEST=100000/60 MEMBERCARD_RATE_LIMIT_MUTATION=100000/60 \
  RUST_LOG=warn "$binary" serve >"$dir/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
if ! curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null; then
  echo "the server did not become ready:" >&2
  cat "$dir/server.log" >&2
  exit 1
fi
MEMBERCARD_URL="http://127.0.0.1:$port" "$@"
