#!/usr/bin/env bash
# The layer table of the code style, checked inside `api/src`: which module may use which.
# A line that names a forbidden crate or module in a `use` or a path fails the check.
set -uo pipefail
cd "$(dirname "$0")/../api/src"
failed=0
forbid() { # layer, pattern, what
  local hits
  hits=$(grep -rnE "$2" "$1" --include='*.rs' | grep -vE '^\S+:[0-9]+:\s*//' || true)
  if [ -n "$hits" ]; then
    echo "layering: $1 must not use $3:" >&2
    echo "$hits" >&2
    failed=1
  fi
}
forbid domain  '\b(sea_orm|redis|async_graphql|poem|tokio)::|crate::(store|service|infra|graphql|http)\b' \
  'sea-orm, redis, async-graphql, poem, tokio or the outer layers'
forbid store   '\b(async_graphql|poem|redis)::|crate::(service|infra|graphql|http)\b' \
  'async-graphql, poem, redis or the layers above it'
forbid infra   '\b(async_graphql|poem|entity)::|crate::(store|service|graphql|http)\b' \
  'async-graphql, poem, entities or the layers above it'
forbid service '\b(async_graphql|poem)::|crate::(graphql|http)\b' \
  'async-graphql, poem or the layers above it'
forbid graphql '\b(sea_orm|redis|poem|entity)::|crate::(store|infra|http)\b' \
  'sea-orm, redis, poem, entities, the store or infra'
forbid http    'crate::store\b|\bentity::' 'the store or entities'
exit $failed
