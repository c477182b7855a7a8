#!/usr/bin/env bash
# Fetches the pinned GraphiQL and React production builds from the npm registry into this
# folder (see README.md). Run from this folder.
set -euo pipefail
graphiql=3.8.3
react=18.3.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$graphiql" "react@$react" "react-dom@$react" >/dev/null)
for package in "graphiql-$graphiql" "react-$react" "react-dom-$react"; do
  mkdir -p "$work/$package" && tar xzf "$work/$package.tgz" -C "$work/$package"
done
cp "$work/graphiql-$graphiql/package/graphiql.min.js" "$work/graphiql-$graphiql/package/graphiql.min.css" .
cp "$work/react-$react/package/umd/react.production.min.js" .
cp "$work/react-dom-$react/package/umd/react-dom.production.min.js" .
cp "$work/graphiql-$graphiql/package/LICENSE" LICENSE.graphiql
cp "$work/react-$react/package/LICENSE" LICENSE.react
cp "$work/react-dom-$react/package/LICENSE" LICENSE.react-dom
