import { performance } from 'node:perf_hooks';
import { getOperationAST, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { scopesForRole, type Principal } from '@cap/runtime';
import { seededRandom } from '@cap/testkit';
import { authorizeOperation } from '../../src/policy/authorize.js';
import { actualCost, estimateCost } from '../../src/policy/cost.js';
import { SATURATED } from '../../src/policy/documentWalk.js';
import {
  checkOperationLimits,
  DEFAULT_OPERATION_LIMITS,
  type LimitViolation,
  type OperationLimits,
} from '../../src/policy/limits.js';
import { committedPolicy as policy, UNLIMITED } from './committedSupergraph.js';
import { expandFragments, fanOut, randomDocument, responseFor } from './generateDocuments.js';

/**
 * The policies' walks over a document, as pure functions over the composed supergraph: linear in the document
 * whatever its fragments do, and equal to a straightforward expansion where expansion is small.
 */
const anonymous: Principal = { kind: 'anonymous' };
const member: Principal = { kind: 'user', userId: 'u1', role: 'VIEWER', scopes: scopesForRole('VIEWER') };
/** Generous: a naive walk of these documents takes minutes or never ends. */
const PROMPT_MS = 200;

function operationOf(document: DocumentNode): OperationDefinitionNode {
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  return operation;
}

/** What the document measures for one limit (0 when under it even at 0). */
function measured(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limit: LimitViolation['limit'],
): number {
  const key = {
    depth: 'maxDepth',
    aliases: 'maxAliases',
    rootFields: 'maxRootFields',
    fields: 'maxFields',
    directives: 'maxDirectives',
  }[limit as 'depth'] as keyof OperationLimits;
  return checkOperationLimits(document, operation, { ...UNLIMITED, [key]: 0 })?.actual ?? 0;
}

function elapsed(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const fanOuts: Array<[string, string]> = [
  ['a chain where each fragment spreads the next twice, 60 deep', fanOut.chain(2, 60)],
  ['a chain where each fragment spreads the next 8 times, 40 deep', fanOut.chain(8, 40)],
  ['a wide chain: 40 spreads of the next, 12 deep', fanOut.chain(40, 12)],
  ['40 stacked diamonds', fanOut.diamonds(40)],
  ['aliased sliced fields beside 40 spreads, 12 deep', fanOut.nested(40, 12)],
  ['aliased sliced fields beside 3 spreads, 40 deep', fanOut.nested(3, 40)],
];

describe('walks over fan-out documents are linear', () => {
  it.each(fanOuts)('%s: fits the token limit and every walk answers promptly', (_name, text) => {
    const document = parse(text, { maxTokens: DEFAULT_OPERATION_LIMITS.maxTokens });
    const operation = operationOf(document);
    const variables = {};
    expect(elapsed(() => checkOperationLimits(document, operation, UNLIMITED))).toBeLessThan(PROMPT_MS);
    expect(
      elapsed(() => authorizeOperation({ policy, document, operation, variables, principal: anonymous })),
    ).toBeLessThan(PROMPT_MS);
    expect(elapsed(() => estimateCost({ policy, document, operation, variables }))).toBeLessThan(PROMPT_MS);
    const data = { me: { __typename: 'User', id: '1', displayName: 'a', email: null }, apiKeys: [] };
    expect(elapsed(() => actualCost({ policy, document, operation, variables, data }))).toBeLessThan(
      PROMPT_MS,
    );
  });

  it.each(fanOuts)('%s: the default limits refuse it by its expanded size', (_name, text) => {
    const document = parse(text);
    const violation = checkOperationLimits(document, operationOf(document), DEFAULT_OPERATION_LIMITS);
    expect(violation?.limit).toMatch(/^(fields|aliases|depth)$/);
    expect(violation?.actual).toBeGreaterThan(violation?.max ?? Infinity);
  });

  it('counts an expansion too large for a number as saturated, not as nonsense', () => {
    const document = parse(fanOut.chain(40, 12));
    const fields = measured(document, operationOf(document), 'fields');
    expect(fields).toBe(SATURATED);
    expect(Number.isSafeInteger(fields)).toBe(true);
    const costly = parse(fanOut.nested(40, 12));
    const estimate = estimateCost({
      policy,
      document: costly,
      operation: operationOf(costly),
      variables: {},
    });
    expect(Number.isSafeInteger(estimate)).toBe(true);
    expect(estimate).toBe(SATURATED);
  });

  it('counts expanded fields exactly: k^n copies of the last fragment plus the chain', () => {
    for (const [k, n] of [
      [2, 5],
      [3, 4],
      [5, 3],
    ] as const) {
      const document = parse(fanOut.chain(k, n));
      // me + per level: 1 `id` per copy of F0..F(n-1), 3 fields per copy of Fn.
      let expected = 1;
      for (let level = 0; level < n; level += 1) expected += k ** level;
      expected += 3 * k ** n;
      expect(measured(document, operationOf(document), 'fields')).toBe(expected);
    }
  });

  it('reports a denied field reached through many spreads once, at its path', () => {
    const document = parse(fanOut.diamonds(30));
    const result = authorizeOperation({
      policy,
      document,
      operation: operationOf(document),
      variables: {},
      principal: anonymous,
    });
    expect(result.denials.map((denial) => denial.path)).toEqual([['apiKeys']]);
  });
});

describe('memoised walks equal a straightforward expansion (generated documents without fragment reuse)', () => {
  const schema = policy.apiSchema;
  const cases = Array.from({ length: 150 }, (_, seed) => seed + 1);
  it.each(cases)('seed %i', (seed) => {
    const text = randomDocument(schema, seededRandom(seed), { maxDepth: 4 });
    const document = parse(text);
    const operation = operationOf(document);
    const expanded = expandFragments(document);
    for (const limit of ['fields', 'aliases', 'rootFields', 'depth', 'directives'] as const) {
      expect({ limit, actual: measured(document, operation, limit) }).toEqual({
        limit,
        actual: measured(expanded.document, expanded.operation, limit),
      });
    }
    for (const variables of [
      { yes: true, no: false },
      { yes: false, no: true },
    ]) {
      expect(estimateCost({ policy, document, operation, variables })).toBe(
        estimateCost({ policy, ...expanded, variables }),
      );
      const data = responseFor(schema, expanded.operation, variables);
      expect(actualCost({ policy, document, operation, variables, data })).toBe(
        actualCost({ policy, ...expanded, variables, data }),
      );
      for (const principal of [anonymous, member]) {
        const denials = (result: ReturnType<typeof authorizeOperation>) =>
          [...result.denials].sort((a, b) => a.path.join('.').localeCompare(b.path.join('.')));
        expect(denials(authorizeOperation({ policy, document, operation, variables, principal }))).toEqual(
          denials(authorizeOperation({ policy, ...expanded, variables, principal })),
        );
      }
    }
  });
});
