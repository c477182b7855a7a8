// The GraphQL-over-HTTP conformance audits of graphql-http against a running membercard:
// `node graphql-http.mjs http://127.0.0.1:PORT/graphql`. Fails on any MUST or SHOULD miss;
// MAY audits are reported only.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql-http.mjs <graphql url>');
  process.exit(2);
}
const results = await auditServer({ url });
let ok = 0;
let misses = 0;
for (const result of results) {
  if (result.status === 'ok') {
    ok += 1;
    continue;
  }
  const required = result.name.startsWith('MUST') || result.name.startsWith('SHOULD');
  if (required) misses += 1;
  const detail = result.status === 'error' ? result.reason : result.reason ?? '';
  console.log(`${required ? 'MISS' : 'note'} ${result.id} ${result.name}: ${detail}`);
}
console.log(`graphql-http audits: ${ok} of ${results.length} ok, ${misses} MUST/SHOULD misses`);
process.exit(misses === 0 ? 0 : 1);
