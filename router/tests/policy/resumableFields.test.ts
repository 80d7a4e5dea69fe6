import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadSupergraphPolicy, resumableFieldsOf } from '../../src/policy/supergraphPolicy.js';

const supergraphSdl = readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8');

/** A minimal supergraph-shaped document with one subscription field and the given `@link`s and directive. */
function sdl(links: string, field: string): string {
  return `schema ${links} { query: Query subscription: Subscription }
    type Query { x: Int }
    type Subscription { ${field} }`;
}

describe('resumable subscription fields, declared by the subgraphs with @resumable', () => {
  it('are read from the composed supergraph: chat messagePosted(after) and orchestration taskLogs(afterSeq) and taskLogBatches(afterSeq)', () => {
    expect(Object.fromEntries(loadSupergraphPolicy(supergraphSdl).resumableFields)).toEqual({
      messagePosted: { argument: 'after', cursorField: 'cursor' },
      taskLogs: { argument: 'afterSeq', cursorField: 'seq' },
      taskLogBatches: { argument: 'afterSeq', cursorField: 'lastSeq' },
    });
  });

  it.each([
    [
      'imported under its own name',
      '@link(url: "https://specs.cap.local/resumable/v0.1", import: ["@resumable"])',
      'a(after: String): Int @resumable(argument: "after", cursorField: "c")',
      { a: { argument: 'after', cursorField: 'c' } },
    ],
    [
      'imported under another name',
      '@link(url: "https://specs.cap.local/resumable/v0.1", import: [{ name: "@resumable", as: "@resume" }])',
      'a(after: String): Int @resume(argument: "after", cursorField: "c") @resumable(argument: "x", cursorField: "y")',
      { a: { argument: 'after', cursorField: 'c' } },
    ],
    [
      'not linked: a same-named directive means nothing',
      '',
      'a: Int @resumable(argument: "after", cursorField: "c")',
      {},
    ],
    [
      'incomplete arguments are ignored',
      '@link(url: "https://specs.cap.local/resumable/v0.1", import: ["@resumable"])',
      'a: Int @resumable(argument: "after")',
      {},
    ],
  ])('%s', (_name, links, field, expected) => {
    expect(Object.fromEntries(resumableFieldsOf(parse(sdl(links, field))))).toEqual(expected);
  });
});
