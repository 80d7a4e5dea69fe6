import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, graphql, type GraphQLResult } from '@cap/testkit';
import type { RunningRouter } from '../src/index.js';
import { startStack, type Stack } from './harness.js';

/**
 * The policies decide on the operation's variables as execution sees them: coerced once, defaults applied. For
 * each policy input and each way of giving it, the router's decision must equal what execution does.
 */
let stack: Stack;
let admin: { accessToken: string };
let slicingRouter: RunningRouter;
const supergraphCopy = `/tmp/cap-supergraph-${randomUUID()}.graphql`;
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.loginAdmin();
  // The real supergraph, with Query.users requiring exactly one slicing argument.
  const sdl = readFileSync('schema/supergraph.graphql', 'utf8');
  const usersField = /(\n {2}users\([\s\S]*?\): QueryUsersConnection![^\n]*requireOneSlicingArgument: )false/;
  if (!usersField.test(sdl))
    throw new Error('Query.users no longer declares @listSize(requireOneSlicingArgument: false)');
  writeFileSync(supergraphCopy, sdl.replace(usersField, '$1true'));
  slicingRouter = await stack.startRouter({ SUPERGRAPH_PATH: supergraphCopy });
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
  rmSync(supergraphCopy, { force: true });
});

const bearer = () => ({ authorization: `Bearer ${admin.accessToken}` });

/** One way of giving a policy input: how the operation is written and which variables are sent. */
interface Way {
  name: string;
  /** Variable definitions (with parentheses) or ''. */
  definitions: string;
  /** The argument value as written in the operation. */
  argument: string;
  variables: Record<string, unknown>;
}

/** Every way of giving `value` of type `type` (`Boolean!` position for directives, `Int` for slicing). */
function waysOf(value: boolean | number, type: 'Boolean' | 'Int'): Way[] {
  const literal = String(value);
  return [
    { name: `literal ${literal}`, definitions: '', argument: literal, variables: {} },
    {
      name: `variable provided ${literal}`,
      definitions: `($v: ${type}!)`,
      argument: '$v',
      variables: { v: value },
    },
    {
      name: `nullable variable provided ${literal}`,
      definitions: `($v: ${type} = ${type === 'Boolean' ? !value : 1})`,
      argument: '$v',
      variables: { v: value },
    },
    {
      name: `variable defaulted ${literal}`,
      definitions: `($v: ${type} = ${literal})`,
      argument: '$v',
      variables: {},
    },
    {
      name: `non-null variable defaulted ${literal}`,
      definitions: `($v: ${type}! = ${literal})`,
      argument: '$v',
      variables: {},
    },
    {
      name: `explicit null over default ${literal}`,
      definitions: `($v: ${type} = ${literal})`,
      argument: '$v',
      variables: { v: null },
    },
    {
      name: 'explicit null for a non-null variable',
      definitions: `($v: ${type}!)`,
      argument: '$v',
      variables: { v: null },
    },
    { name: 'missing optional variable', definitions: `($v: ${type})`, argument: '$v', variables: {} },
    { name: 'missing required variable', definitions: `($v: ${type}!)`, argument: '$v', variables: {} },
    {
      name: 'wrongly typed variable',
      definitions: `($v: ${type})`,
      argument: '$v',
      variables: { v: type === 'Int' ? 'ten' : 'yes' },
    },
  ];
}

/**
 * What happened to the `apiKeys` field: ran (or was denied by the router, which means it would have run), was
 * left out, or the request failed (by status: where execution can only fail with a masked internal error, the
 * router answers the same status with BAD_USER_INPUT).
 */
function fieldOutcome(result: GraphQLResult): string {
  const denied = result.errors?.some(
    (error) => error.extensions?.['requirement'] !== undefined && error.path?.[0] === 'apiKeys',
  );
  if (denied) return 'included';
  if (result.errors && result.errors.length > 0 && !result.data) return `failed ${result.status}`;
  if (result.data && 'apiKeys' in result.data) return 'included';
  return 'excluded';
}

describe('@skip and @include decide authorization as execution does', () => {
  const cases = (['skip', 'include'] as const).flatMap((directive) =>
    [true, false].flatMap((value) => waysOf(value, 'Boolean').map((way) => ({ directive, value, way }))),
  );
  it.each(cases)('@$directive, $way.name', async ({ directive, way }) => {
    const query = `query Probe${way.definitions} { __typename apiKeys @${directive}(if: ${way.argument}) { id } }`;
    // Execution's decision: the admin may read apiKeys, so the field is in the data exactly when it runs.
    const executed = await stack.query(query, way.variables, bearer());
    const before = stack.identityGraphQLRequests();
    const anonymous = await stack.query(query, way.variables);
    expect(fieldOutcome(anonymous)).toBe(fieldOutcome(executed));
    // The anonymous caller may read nothing from identity: whatever the directive says, no request reaches it.
    expect(stack.identityGraphQLRequests()).toBe(before);
    if (fieldOutcome(executed) === 'included') expect(errorCodes(anonymous)).toContain('UNAUTHENTICATED');
    if (fieldOutcome(anonymous).startsWith('failed')) {
      const codes = errorCodes(anonymous);
      expect(codes.length).toBeGreaterThan(0);
      expect(codes.every((code) => code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED')).toBe(
        true,
      );
    }
  });
});

describe('slicing arguments size the cost estimate as execution reads them', () => {
  const estimateOf = async (
    query: string,
    variables: Record<string, unknown>,
    url = stack.router.graphqlUrl,
  ) => {
    const result = await graphql(url, query, variables, { ...bearer(), 'x-include-cost': 'true' });
    return {
      result,
      estimated: (result.extensions?.['cost'] as { estimated?: number } | undefined)?.estimated,
    };
  };
  const selection = (argument: string) => `users(first: ${argument}) { edges { node { id } } }`;

  it.each(waysOf(30, 'Int'))('$name', async (way) => {
    const viaWay = await estimateOf(
      `query Sized${way.definitions} { ${selection(way.argument)} }`,
      way.variables,
    );
    // Execution reads the argument as this literal (or fails the same way).
    const literal =
      way.argument === '$v'
        ? way.variables['v'] === undefined
          ? (/= (\d+)/.exec(way.definitions)?.[1] ?? null)
          : way.variables['v']
        : way.argument;
    const written = typeof literal === 'string' && /^\d+$/.test(literal) ? literal : JSON.stringify(literal);
    const equivalent =
      literal === null
        ? `query Sized { users { edges { node { id } } } }`
        : `query Sized { ${selection(written)} }`;
    const viaLiteral = await estimateOf(equivalent, {});
    if (viaLiteral.result.errors || viaWay.result.errors) {
      // Both refuse: a bad value is an input error (400), never a cost verdict.
      expect(viaWay.result.status).toBe(400);
      expect(errorCodes(viaWay.result).filter((code) => code === 'COST_LIMIT_EXCEEDED')).toEqual([]);
      return;
    }
    expect(viaWay.estimated).toBe(viaLiteral.estimated);
  });

  it('refuses with literals and with defaults alike over MAX_COST', async () => {
    const small = await estimateOf(`{ ${selection('10')} }`, {});
    const large = await estimateOf(`{ ${selection('40')} }`, {});
    expect(large.estimated).toBeGreaterThan(small.estimated ?? Infinity);
    const strict = await stack.startRouter({ MAX_COST: String(small.estimated) });
    for (const [query, variables] of [
      [`{ ${selection('40')} }`, {}],
      [`query($n: Int = 40) { ${selection('$n')} }`, {}],
      [`query($n: Int! = 40) { ${selection('$n')} }`, {}],
      [`query($n: Int) { ${selection('$n')} }`, { n: 40 }],
    ] as const) {
      const refused = await graphql(strict.graphqlUrl, query, variables, bearer());
      expect(errorCodes(refused)).toEqual(['COST_LIMIT_EXCEEDED']);
    }
    const fits = await graphql(strict.graphqlUrl, `query($n: Int = 10) { ${selection('$n')} }`, {}, bearer());
    expect(fits.errors).toBeUndefined();
  });

  it('answers an Int out of range as invalid input, never as a cost of 4294967297', async () => {
    const literal = await graphql(stack.router.graphqlUrl, `{ ${selection('2147483648')} }`, {}, bearer());
    expect(literal.status).toBe(400);
    expect(errorCodes(literal)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const variable = await graphql(
      stack.router.graphqlUrl,
      `query($n: Int) { ${selection('$n')} }`,
      { n: 2147483648 },
      bearer(),
    );
    expect(variable.status).toBe(400);
    expect(errorCodes(variable)).toEqual(['BAD_USER_INPUT']);
    expect(variable.errors?.[0]?.message).toMatch(/\$n/);
  });
});

describe('@listSize(requireOneSlicingArgument: true)', () => {
  const ask = (query: string, variables: Record<string, unknown> = {}) =>
    graphql(slicingRouter.graphqlUrl, query, variables, bearer());

  it('refuses a selection without exactly one slicing argument, naming the field and the arguments', async () => {
    for (const [query, variables] of [
      ['{ users { edges { node { id } } } }', {}],
      ['{ users(first: 2, last: 2) { edges { node { id } } } }', {}],
      ['query($n: Int) { users(first: $n) { edges { node { id } } } }', {}],
      ['query($n: Int = 5) { users(first: $n) { edges { node { id } } } }', { n: null }],
      ['query { ...Page } fragment Page on Query { users { edges { node { id } } } }', {}],
    ] as const) {
      const before = stack.subgraphGraphQLRequests();
      const refused = await ask(query, variables);
      expect(refused.status).toBe(400);
      expect(errorCodes(refused)).toEqual(['SLICING_ARGUMENT_REQUIRED']);
      expect(refused.errors?.[0]?.extensions).toMatchObject({
        field: 'Query.users',
        slicingArguments: ['first', 'last'],
      });
      expect(refused.errors?.[0]?.message).toMatch(/Query\.users.*"first", "last"/);
      expect(stack.subgraphGraphQLRequests()).toBe(before);
    }
  });

  it('runs a selection with exactly one, literal or through a (defaulted) variable', async () => {
    for (const [query, variables] of [
      ['{ users(first: 2) { edges { node { id } } } }', {}],
      ['{ users(last: 2) { edges { node { id } } } }', {}],
      ['query($n: Int = 2) { users(first: $n) { edges { node { id } } } }', {}],
      ['query($n: Int) { users(first: $n, last: null) { edges { node { id } } } }', { n: 2 }],
    ] as const) {
      const result = await ask(query, variables);
      expect(result.errors).toBeUndefined();
      expect(result.data?.['users']?.edges.length).toBeGreaterThan(0);
    }
  });
});
