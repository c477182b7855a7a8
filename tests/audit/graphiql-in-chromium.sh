#!/usr/bin/env bash
# Loads the playground (GET /graphql on $MEMBERCARD_URL) in headless Chromium and checks that
# GraphiQL rendered: its container, query editor and CodeMirror are in the DOM. Every script
# comes from the server itself (the page names no other host), so this holds offline.
set -euo pipefail
: "${MEMBERCARD_URL:?run through run-server.sh}"
browser="$(command -v chromium || command -v chromium-browser)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
dom="$profile/dom.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic \
  --no-first-run --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --virtual-time-budget=20000 \
  --dump-dom "$MEMBERCARD_URL/graphql" >"$dom" 2>"$profile/chromium.log" || true
missing=0
for needle in 'class="graphiql-container' 'graphiql-editor' 'CodeMirror'; do
  if ! grep -q "$needle" "$dom"; then
    echo "GraphiQL did not render: no $needle in the page" >&2
    missing=1
  fi
done
if [ "$missing" != 0 ]; then
  head -c 2000 "$dom" >&2 || true
  tail -n 20 "$profile/chromium.log" >&2 || true
  exit 1
fi
echo "GraphiQL rendered in headless Chromium ($(wc -c <"$dom") bytes of DOM)"
