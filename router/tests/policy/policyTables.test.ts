import { ANONYMOUS, type Principal } from '@cap/runtime';
import { userPrincipal } from '@cap/testkit';
import { getOperationAST, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { authorizeOperation } from '../../src/policy/authorize.js';
import { estimateCost } from '../../src/policy/cost.js';
import { checkOperationLimits } from '../../src/policy/limits.js';
import { committedPolicy as policy, UNLIMITED } from './committedSupergraph.js';

/**
 * Table tests of the router's policy steps as pure functions over the composed supergraph: the cost estimate,
 * the operation limits and authorization, each case one row, no stack started. The end-to-end behaviour (status
 * codes, headers, budgets) stays in the router's integration tests.
 */

function parsed(source: string): { document: DocumentNode; operation: OperationDefinitionNode } {
  const document = parse(source);
  const operation = getOperationAST(document);
  if (!operation) throw new Error(`no operation in ${source}`);
  return { document, operation };
}

describe('estimateCost (IBM cost directives as composed: composite 1, scalar 0, mutation 10, @cost, @listSize)', () => {
  it.each([
    ['a scalar-only root', '{ __typename }', {}, 0],
    ['one object', '{ task(id: "1") { id title } }', {}, 1],
    // The connection (1) plus @listSize(assumedSize: 20) edges, each an edge (1) and a node (1).
    ['a connection without a slicing argument', '{ tasks { edges { node { id } } } }', {}, 1 + 20 * 2],
    ['a connection sliced by first', '{ tasks(first: 3) { edges { node { id } } } }', {}, 1 + 3 * 2],
    ['the larger of first and last', '{ tasks(first: 3, last: 7) { edges { node { id } } } }', {}, 1 + 7 * 2],
    [
      'a slicing argument from a variable default',
      'query($n: Int = 4) { tasks(first: $n) { edges { node { id } } } }',
      { n: 4 },
      1 + 4 * 2,
    ],
    // Each node (1) with its executions: @listSize(assumedSize: 5) of one object each.
    [
      'a nested list with its own @listSize',
      '{ tasks(first: 3) { edges { node { executions { id } } } } }',
      {},
      1 + 3 * (1 + 1 + 5 * 1),
    ],
    ['a mutation root field', 'mutation { cancelTask(id: "1") { id } }', {}, 10],
    ['a mutation with its own @cost', 'mutation { createTask(input: { title: "x" }) { id } }', {}, 50],
    ['skipped selections cost nothing', '{ task(id: "1") { id executions @skip(if: true) { id } } }', {}, 1],
    [
      'a fragment counts at every spread',
      'query { a: task(id: "1") { ...T } b: task(id: "2") { ...T } } fragment T on CodingTask { executions { id } }',
      {},
      2 * (1 + 5 * 1),
    ],
  ] as const)('%s', (_name, source, variables, expected) => {
    const { document, operation } = parsed(source);
    expect(estimateCost({ policy, document, operation, variables: { ...variables } })).toBe(expected);
  });
});

describe('checkOperationLimits (fragments expanded, the first violation)', () => {
  it.each([
    [
      'depth',
      { maxDepth: 2 },
      '{ task(id: "1") { executions { id } } }',
      { limit: 'depth', max: 2, actual: 3 },
    ],
    ['depth at the limit', { maxDepth: 3 }, '{ task(id: "1") { executions { id } } }', null],
    [
      'depth through a fragment',
      { maxDepth: 2 },
      '{ task(id: "1") { ...E } } fragment E on CodingTask { executions { id } }',
      { limit: 'depth', max: 2, actual: 3 },
    ],
    [
      'aliases',
      { maxAliases: 1 },
      '{ a: __typename b: __typename }',
      { limit: 'aliases', max: 1, actual: 2 },
    ],
    [
      'root fields',
      { maxRootFields: 1 },
      '{ __typename task(id: "1") { id } }',
      { limit: 'rootFields', max: 1, actual: 2 },
    ],
    [
      'fields, each spread counted',
      { maxFields: 1 },
      'query { ...F ...F } fragment F on Query { __typename }',
      { limit: 'fields', max: 1, actual: 2 },
    ],
    [
      'directives as written',
      { maxDirectives: 1 },
      '{ __typename @skip(if: false) @include(if: true) }',
      { limit: 'directives', max: 1, actual: 2 },
    ],
  ] as const)('%s', (_name, limits, source, expected) => {
    const { document, operation } = parsed(source);
    expect(checkOperationLimits(document, operation, { ...UNLIMITED, ...limits })).toEqual(expected);
  });
});

describe('authorizeOperation (requirements composed from @authenticated / @requiresScopes / @policy)', () => {
  const viewer = userPrincipal('VIEWER', 'u1');
  const developer = userPrincipal('DEVELOPER', 'u2');
  const chatOnlyKey: Principal = {
    kind: 'apiKey',
    userId: 'u3',
    apiKeyId: 'k1',
    role: 'DEVELOPER',
    scopes: ['chat:read', 'chat:write'],
    tier: 'FREE',
  };
  const TASK = '{ task(id: "1") { id } }';
  const CREATE = 'mutation { createTask(input: { title: "x" }) { id } }';
  it.each([
    ['anonymous reading a task', ANONYMOUS, TASK, [{ code: 'UNAUTHENTICATED', requirement: 'Query.task' }]],
    ['a VIEWER reading a task', viewer, TASK, []],
    [
      'a chat-only API key reading a task',
      chatOnlyKey,
      TASK,
      [{ code: 'FORBIDDEN', requirement: 'Query.task' }],
    ],
    ['a VIEWER creating a task', viewer, CREATE, [{ code: 'FORBIDDEN', requirement: 'Mutation.createTask' }]],
    ['a DEVELOPER creating a task', developer, CREATE, []],
    [
      'a denied field under an alias keeps its response path',
      ANONYMOUS,
      '{ mine: task(id: "1") { id } }',
      [{ code: 'UNAUTHENTICATED', requirement: 'Query.task', path: ['mine'] }],
    ],
    ['a skipped denied field is not checked', ANONYMOUS, '{ task(id: "1") @skip(if: true) { id } }', []],
  ] as const)('%s', (_name, principal, source, expected) => {
    const { document, operation } = parsed(source);
    const { denials } = authorizeOperation({ policy, document, operation, variables: {}, principal });
    expect(denials).toHaveLength(expected.length);
    expected.forEach((denial, index) => expect(denials[index]).toMatchObject(denial));
  });
});
