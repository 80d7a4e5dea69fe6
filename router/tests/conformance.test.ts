import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

/** graphql-http's GraphQL-over-HTTP audits against the real router: nothing in `error`. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

describe('GraphQL over HTTP conformance', () => {
  it('passes every MUST audit of graphql-http', async () => {
    const audits = serverAudits({ url: () => stack.router.graphqlUrl, fetchFn: fetch });
    const failures: string[] = [];
    const warnings: string[] = [];
    for (const audit of audits) {
      const result = await audit.fn();
      if (result.status === 'error') failures.push(`${audit.name}: ${result.reason}`);
      if (result.status === 'warn') warnings.push(`${audit.name}: ${result.reason}`);
    }
    // Warnings are SHOULDs we chose differently (README "Router policy"); errors are MUSTs.
    expect(failures).toEqual([]);
    expect(audits.length).toBeGreaterThan(20);
  });
});
