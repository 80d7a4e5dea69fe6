import { randomUUID } from 'node:crypto';
import {
  buildSchema,
  graphql,
  GraphQLID,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  subscribe,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLUnionType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  ANONYMOUS,
  applyDirectiveAuthorization,
  scopesForRole,
  type Principal,
  type Role,
} from '../src/index.js';

interface Context {
  principal: Principal;
}

function user(role: Role): Principal {
  return { kind: 'user', userId: randomUUID(), role, scopes: [...scopesForRole(role)] };
}

function apiKey(role: Role): Principal {
  return {
    kind: 'apiKey',
    userId: randomUUID(),
    apiKeyId: randomUUID(),
    role,
    scopes: [...scopesForRole(role)],
    tier: 'FREE',
  };
}

const viewer = user('VIEWER');
const developer = user('DEVELOPER');
const admin = user('ADMIN');

/** A schema built from SDL: the directives live on the AST nodes, as in a schema parsed from printed SDL. */
const SDL = /* GraphQL */ `
  directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @federation__authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  directive @policy(policies: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

  scalar _Any

  type Query {
    public: String
    me: String @authenticated
    prefixed: String @federation__authenticated
    users: [String!] @requiresScopes(scopes: [["users:manage"]])
    writer: String @requiresScopes(scopes: [["tasks:write", "chat:write"], ["users:manage"]])
    interactive: String @policy(policies: [["session:interactive"]])
    secret: Secret
    _entities(representations: [_Any!]!): [_Entity]!
  }

  type Secret @requiresScopes(scopes: [["tasks:write"]]) {
    id: ID!
  }

  type Open {
    id: ID!
  }

  union _Entity = Secret | Open

  type Subscription {
    ticks: String @requiresScopes(scopes: [["chat:read"]])
  }
`;

/** The SDL schema with resolvers that count their calls, protected. */
function sdlSchema(): { schema: GraphQLSchema; calls: Map<string, number>; entityTypes: string[][] } {
  const schema = buildSchema(SDL);
  const calls = new Map<string, number>();
  const entityTypes: string[][] = [];
  const counted =
    (name: string, value: unknown): GraphQLFieldResolver<unknown, Context> =>
    () => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return value;
    };
  const query = schema.getQueryType()!.getFields();
  query['public']!.resolve = counted('public', 'hello');
  query['me']!.resolve = counted('me', 'you');
  query['prefixed']!.resolve = counted('prefixed', 'prefixed');
  query['users']!.resolve = counted('users', ['ada', 'grace']);
  query['writer']!.resolve = counted('writer', 'written');
  query['interactive']!.resolve = counted('interactive', 'interactive');
  query['secret']!.resolve = counted('secret', { id: 's1' });
  query['_entities']!.resolve = (
    _source,
    args: { representations: Array<{ __typename: string; id: string }> },
  ) => {
    entityTypes.push(args.representations.map((representation) => representation.__typename));
    return args.representations;
  };
  (schema.getType('_Entity') as GraphQLUnionType).resolveType = (value) =>
    (value as { __typename: string }).__typename;
  const ticks = schema.getSubscriptionType()!.getFields()['ticks']!;
  ticks.subscribe = () => {
    calls.set('ticks', (calls.get('ticks') ?? 0) + 1);
    return (async function* () {
      yield { ticks: 'tick' };
    })();
  };
  applyDirectiveAuthorization<Context>(schema, { principal: (context) => context.principal });
  return { schema, calls, entityTypes };
}

async function run(
  schema: GraphQLSchema,
  source: string,
  principal: Principal,
  variables?: Record<string, unknown>,
): Promise<ExecutionResult> {
  return graphql({
    schema,
    source,
    contextValue: { principal } satisfies Context,
    variableValues: variables ?? null,
  });
}

function codes(result: ExecutionResult): unknown[] {
  return (result.errors ?? []).map((error) => error.extensions['code']);
}

describe('applyDirectiveAuthorization on directives from SDL (AST nodes)', () => {
  it('leaves fields without directives open to anonymous callers', async () => {
    const { schema } = sdlSchema();
    expect(await run(schema, '{ public }', ANONYMOUS)).toEqual({ data: { public: 'hello' } });
  });

  it('refuses @authenticated fields to anonymous callers before their resolver runs, and serves signed-in ones', async () => {
    const { schema, calls } = sdlSchema();
    const refused = await run(schema, '{ me prefixed }', ANONYMOUS);
    expect(codes(refused)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(refused.errors?.[0]?.extensions['requirement']).toBe('Query.me');
    expect(refused.data).toEqual({ me: null, prefixed: null });
    expect(calls.get('me')).toBeUndefined();
    expect(await run(schema, '{ me prefixed }', viewer)).toEqual({
      data: { me: 'you', prefixed: 'prefixed' },
    });
    expect(await run(schema, '{ me }', apiKey('VIEWER'))).toEqual({ data: { me: 'you' } });
  });

  it('refuses @requiresScopes fields to callers without the scope, naming it, and to anonymous callers as UNAUTHENTICATED', async () => {
    const { schema, calls } = sdlSchema();
    const forbidden = await run(schema, '{ users }', viewer);
    expect(codes(forbidden)).toEqual(['FORBIDDEN']);
    expect(forbidden.errors?.[0]?.extensions).toMatchObject({
      requirement: 'Query.users',
      requiredScope: 'users:manage',
    });
    expect(forbidden.errors?.[0]?.path).toEqual(['users']);
    expect(codes(await run(schema, '{ users }', ANONYMOUS))).toEqual(['UNAUTHENTICATED']);
    expect(calls.get('users')).toBeUndefined();
    expect(await run(schema, '{ users }', admin)).toEqual({ data: { users: ['ada', 'grace'] } });
    expect(calls.get('users')).toBe(1);
  });

  it('reads scope sets as OR of ANDs', async () => {
    const { schema } = sdlSchema();
    const forbidden = await run(schema, '{ writer }', viewer);
    expect(forbidden.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requiredScopes: [['tasks:write', 'chat:write'], ['users:manage']],
    });
    // DEVELOPER holds both scopes of the first set; a key with only one of them holds neither set.
    expect(await run(schema, '{ writer }', developer)).toEqual({ data: { writer: 'written' } });
    const oneOfTwo: Principal = { ...apiKey('DEVELOPER'), scopes: ['tasks:write'] } as Principal;
    expect(codes(await run(schema, '{ writer }', oneOfTwo))).toEqual(['FORBIDDEN']);
  });

  it('evaluates @policy with the named policies: session:interactive refuses API keys', async () => {
    const { schema } = sdlSchema();
    const refused = await run(schema, '{ interactive }', apiKey('ADMIN'));
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requirement: 'Query.interactive',
      requiredPolicies: [['session:interactive']],
    });
    expect(await run(schema, '{ interactive }', viewer)).toEqual({ data: { interactive: 'interactive' } });
  });

  it('applies a type-level directive to every field returning the type', async () => {
    const { schema, calls } = sdlSchema();
    const refused = await run(schema, '{ secret { id } }', viewer);
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requirement: 'type Secret',
      requiredScope: 'tasks:write',
    });
    expect(calls.get('secret')).toBeUndefined();
    expect(await run(schema, '{ secret { id } }', developer)).toEqual({ data: { secret: { id: 's1' } } });
  });

  it('refuses protected entity representations one by one in _entities, without resolving them', async () => {
    const { schema, entityTypes } = sdlSchema();
    const query =
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Secret { id } ... on Open { id } } }';
    const representations = [
      { __typename: 'Open', id: 'o1' },
      { __typename: 'Secret', id: 's1' },
      { __typename: 'Open', id: 'o2' },
    ];
    const mixed = await run(schema, query, viewer, { r: representations });
    expect(mixed.data).toEqual({ _entities: [{ id: 'o1' }, null, { id: 'o2' }] });
    expect(codes(mixed)).toEqual(['FORBIDDEN']);
    expect(mixed.errors?.[0]?.path).toEqual(['_entities', 1]);
    expect(entityTypes).toEqual([['Open', 'Open']]);

    const allowed = await run(schema, query, developer, { r: representations });
    expect(allowed).toEqual({ data: { _entities: [{ id: 'o1' }, { id: 's1' }, { id: 'o2' }] } });
    const anonymous = await run(schema, query, ANONYMOUS, { r: [representations[1]] });
    expect(anonymous.data).toEqual({ _entities: [null] });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
  });

  it('authorizes a subscription when it starts', async () => {
    const { schema, calls } = sdlSchema();
    const document = parse('subscription { ticks }');
    // VIEWER holds chat:read: the stream starts.
    const started = (await subscribe({
      schema,
      document,
      contextValue: { principal: viewer },
    })) as AsyncGenerator<ExecutionResult>;
    expect((await started.next()).value).toEqual({ data: { ticks: 'tick' } });
    await started.return(undefined);
    const anonymous = (await subscribe({
      schema,
      document,
      contextValue: { principal: ANONYMOUS },
    })) as ExecutionResult;
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const noScope = (await subscribe({
      schema,
      document,
      contextValue: { principal: { ...viewer, scopes: [] } },
    })) as ExecutionResult;
    expect(codes(noScope)).toEqual(['FORBIDDEN']);
    expect(calls.get('ticks')).toBe(1);
  });

  it('wraps resolvers once however often it is applied', async () => {
    const { schema } = sdlSchema();
    let principalReads = 0;
    expect(
      applyDirectiveAuthorization<Context>(schema, {
        principal: (context) => ((principalReads += 1), context.principal),
      }),
    ).toBe(schema);
    await run(schema, '{ me }', viewer);
    expect(principalReads).toBe(0);
  });

  it('refuses at once a @policy naming a policy nobody evaluates', () => {
    const schema = buildSchema(`
      directive @policy(policies: [[String!]!]!) on FIELD_DEFINITION
      type Query { x: String @policy(policies: [["role:wizard"]]) }
    `);
    expect(() =>
      applyDirectiveAuthorization<Context>(schema, { principal: (context) => context.principal }),
    ).toThrow(/role:wizard/);
  });
});

describe('applyDirectiveAuthorization on directives in extensions (Pothos)', () => {
  it('reads both the list and the record form of extensions.directives', async () => {
    const Item = new GraphQLObjectType({
      name: 'Item',
      extensions: { directives: { authenticated: {} } },
      fields: { id: { type: new GraphQLNonNull(GraphQLID) } },
    });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          admins: {
            type: new GraphQLList(GraphQLString),
            extensions: {
              directives: [
                { name: 'requiresScopes', args: { scopes: [['users:manage']] } },
                { name: 'cost', args: { weight: 5 } },
              ],
            },
            resolve: () => ['root'],
          },
          item: { type: Item, resolve: () => ({ id: 'i1' }) },
          free: {
            type: GraphQLString,
            extensions: { directives: [{ name: 'listSize', args: { assumedSize: 3 } }] },
            resolve: () => 'free',
          },
        },
      }),
    });
    applyDirectiveAuthorization<Context>(schema, { principal: (context) => context.principal });
    expect(codes(await run(schema, '{ admins }', developer))).toEqual(['FORBIDDEN']);
    expect(await run(schema, '{ admins }', admin)).toEqual({ data: { admins: ['root'] } });
    expect(codes(await run(schema, '{ item { id } }', ANONYMOUS))).toEqual(['UNAUTHENTICATED']);
    expect(await run(schema, '{ item { id } free }', viewer)).toEqual({
      data: { item: { id: 'i1' }, free: 'free' },
    });
    expect(await run(schema, '{ free }', ANONYMOUS)).toEqual({ data: { free: 'free' } });
  });
});
