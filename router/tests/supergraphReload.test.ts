import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { errorCodes } from '@cap/testkit';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

/**
 * Development hot reload: the router starts from a supergraph in which identity lacks `Query.scopes` (as if the
 * committed supergraph predates that field); polling identity's live SDL brings the field in without a restart.
 */
let stack: Stack;
beforeAll(async () => {
  const live = readFileSync(new URL('../../subgraphs/identity/schema.graphql', import.meta.url), 'utf8');
  const older = live.replace(
    /\n\s*"""Every scope the platform knows\."""\n\s*scopes: \[ScopeInfo!\]!\n/,
    '\n',
  );
  expect(older).not.toBe(live);
  const composed = composeServices([
    { name: 'identity', url: 'http://127.0.0.1:1/graphql', typeDefs: parse(older) },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
  const path = join(mkdtempSync(join(tmpdir(), 'cap-supergraph-')), 'supergraph.graphql');
  writeFileSync(path, composed.supergraphSdl);
  stack = await startStack({ SUPERGRAPH_PATH: path, SUPERGRAPH_POLL_INTERVAL_MS: '3000' });
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

describe('supergraph hot reload (development)', () => {
  it('serves a field a subgraph added without restarting the router', async () => {
    // The first poll comes 3 s after start: until then the router serves the older supergraph.
    expect(errorCodes(await stack.query(`{ scopes { name } }`))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    await expect
      .poll(async () => errorCodes(await stack.query(`{ scopes { name } }`)).join(), {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('');
    const result = await stack.query(`{ scopes { name } }`);
    expect(result.data!['scopes']).toContainEqual({ name: 'tasks:write' });
  });
});
