import {
  defaultFieldResolver,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { codedError, ErrorCode } from './errors.js';
import {
  evaluateRequirement,
  PRINCIPAL_POLICIES,
  type AuthorizationRequirement,
  type PolicyName,
  type PrincipalPolicies,
} from './evaluateRequirement.js';
import type { Principal } from './principal.js';
import type { Scope } from './scopes.js';

/**
 * Defence in depth for the Federation 2 authorization directives (ADR 0007). A subgraph declares
 * `@authenticated`, `@requiresScopes(scopes: [[...]])` and `@policy(policies: [[...]])` on its fields and types;
 * composition carries them into the supergraph, where the router enforces them. The same declarations are enforced
 * again inside the subgraph, so a request that reaches it with a valid router token but without the declared
 * access (a router bug, a misconfigured route, a replayed token) is still refused. One source of truth: the
 * directives; object-level rules (ownership, membership) stay in each subgraph's domain code.
 */

/** What one directive application demands of a caller (see {@link evaluateRequirement}). */
type Requirement = AuthorizationRequirement;

/**
 * Values for Pothos' `directives:` option (the directives plugin), typed so scope and policy names are checked
 * at compile time. Spread several into one object:
 * `directives: { ...policyDirectives.requiresScopes('chat:read'), ...policyDirectives.connectionSize(50) }`.
 * The subgraph imports the names in `toSubGraphSchema({ federationDirectives: [...] })`.
 */
export const policyDirectives = {
  /** `@authenticated`: any signed-in caller (a user or an API key). */
  authenticated: () => ({ authenticated: {} }),
  /** `@requiresScopes(scopes: [[...scopes]])`: the caller must hold every one of `scopes`. */
  requiresScopes: (...scopes: [Scope, ...Scope[]]) => ({ requiresScopes: { scopes: [scopes] } }),
  /** `@policy(policies: [[...policies]])`: every named policy must allow the caller. */
  policy: (...policies: [PolicyName, ...PolicyName[]]) => ({ policy: { policies: [policies] } }),
  /** `@cost(weight:)`: what resolving the field costs, in the router's cost units (composite fields weigh 1). */
  cost: (weight: number) => ({ cost: { weight } }),
  /** `@listSize(assumedSize:)` for a plain list field: the size the router assumes for its cost. */
  listSize: (assumedSize: number) => ({ listSize: { assumedSize } }),
  /**
   * `@listSize` for a Relay connection: `first`/`last` size its `edges`; without them the connection returns
   * `assumedSize` items (its default page size).
   */
  connectionSize: (assumedSize: number) => ({
    listSize: {
      assumedSize,
      slicingArguments: ['first', 'last'],
      sizedFields: ['edges'],
      requireOneSlicingArgument: false,
    },
  }),
};

export interface DirectiveAuthorizationOptions<TContext> {
  /** The caller of a request, from its context (as the router established it). */
  principal: (context: TContext) => Principal;
  /** Evaluators of `@policy` names (default {@link PRINCIPAL_POLICIES}). */
  policies?: PrincipalPolicies;
}

/** A directive application as Pothos (`extensions.directives`) or an SDL-built schema (`astNode`) records it. */
interface AppliedDirective {
  name: string;
  args: Record<string, unknown>;
}

interface Annotated {
  extensions?: Readonly<Record<string, unknown>> | null | undefined;
  astNode?: { readonly directives?: readonly ConstDirectiveNode[] | undefined } | null | undefined;
}

const AUTHORIZATION_DIRECTIVES = new Set(['authenticated', 'requiresScopes', 'policy']);
/** Schemas already protected: applying twice must not wrap resolvers twice. */
const protectedSchemas = new WeakSet<GraphQLSchema>();

/**
 * The directives applied to a field or type. Pothos keeps them in `extensions.directives` (a list of
 * `{ name, args }` or a record of name to args); a schema built from SDL has them on its AST nodes. Unimported
 * federation directives are spelled `@federation__name`.
 */
function appliedDirectives(element: Annotated): AppliedDirective[] {
  const fromExtensions = element.extensions?.['directives'];
  let applied: AppliedDirective[];
  if (Array.isArray(fromExtensions)) {
    applied = (fromExtensions as Array<{ name: string; args?: Record<string, unknown> }>).map((d) => ({
      name: d.name,
      args: d.args ?? {},
    }));
  } else if (fromExtensions && typeof fromExtensions === 'object') {
    applied = Object.entries(fromExtensions as Record<string, unknown>).flatMap(([name, args]) =>
      (Array.isArray(args) ? args : [args]).map((entry) => ({
        name,
        args: (entry ?? {}) as Record<string, unknown>,
      })),
    );
  } else {
    applied = (element.astNode?.directives ?? []).map((node) => ({
      name: node.name.value,
      args: Object.fromEntries(
        (node.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)]),
      ),
    }));
  }
  return applied.map((directive) => ({ ...directive, name: directive.name.replace(/^federation__/, '') }));
}

function nestedStrings(value: unknown, directive: string, argument: string, source: string): string[][] {
  if (
    !Array.isArray(value) ||
    !value.every((group) => Array.isArray(group) && group.every((item) => typeof item === 'string'))
  ) {
    throw new Error(
      `@${directive} on ${source} needs ${argument}: [[String!]!]!, got ${JSON.stringify(value)}`,
    );
  }
  return value as string[][];
}

function requirementsOf(element: Annotated, source: string, policies: PrincipalPolicies): Requirement[] {
  const requirements: Requirement[] = [];
  for (const directive of appliedDirectives(element)) {
    if (!AUTHORIZATION_DIRECTIVES.has(directive.name)) continue;
    if (directive.name === 'authenticated') {
      requirements.push({ source, scopes: null, policies: null });
    } else if (directive.name === 'requiresScopes') {
      requirements.push({
        source,
        scopes: nestedStrings(directive.args['scopes'], 'requiresScopes', 'scopes', source),
        policies: null,
      });
    } else {
      const named = nestedStrings(directive.args['policies'], 'policy', 'policies', source);
      const unknown = named.flat().filter((name) => !Object.hasOwn(policies, name));
      // Fail at start, like the router: a policy nobody evaluates would otherwise deny (or allow) silently.
      if (unknown.length > 0)
        throw new Error(`@policy on ${source} names unknown policies: ${unknown.join(', ')}`);
      requirements.push({ source, scopes: null, policies: named });
    }
  }
  return requirements;
}

/** The first unmet requirement as the error the caller gets, or null when every requirement is met. */
function denial(
  requirements: readonly Requirement[],
  principal: Principal,
  policies: PrincipalPolicies,
): GraphQLError | null {
  for (const requirement of requirements) {
    const denied = evaluateRequirement(requirement, principal, policies);
    if (!denied) continue;
    if (denied.code === ErrorCode.UNAUTHENTICATED) {
      return codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.', {
        requirement: requirement.source,
      });
    }
    if (denied.unmet === 'policies') {
      return codedError(ErrorCode.FORBIDDEN, 'This operation is not allowed for this caller.', {
        requirement: requirement.source,
        requiredPolicies: requirement.policies,
      });
    }
    const [only] = requirement.scopes ?? [];
    return only?.length === 1 && requirement.scopes?.length === 1
      ? codedError(ErrorCode.FORBIDDEN, `This operation requires the ${only[0]} scope.`, {
          requirement: requirement.source,
          requiredScope: only[0],
        })
      : codedError(ErrorCode.FORBIDDEN, 'This operation requires scopes the caller does not hold.', {
          requirement: requirement.source,
          requiredScopes: requirement.scopes,
        });
  }
  return null;
}

/**
 * The class of a schema element by its `Symbol.toStringTag`, not `instanceof`: a Pothos schema may be built with
 * another copy of graphql-js (CommonJS vs ESM), whose `isObjectType` would refuse this module's elements.
 */
function kindOf(type: GraphQLNamedType): string {
  return Object.prototype.toString.call(type).slice('[object '.length, -1);
}

/** The name of the named type under lists and non-nulls. */
function namedTypeName(type: GraphQLOutputType): string {
  let current: GraphQLOutputType = type;
  while ('ofType' in current) current = current.ofType as GraphQLOutputType;
  return current.name;
}

/** Requirements on a named type, and on the interfaces an object type implements. */
function typeRequirements(type: GraphQLNamedType, policies: PrincipalPolicies): Requirement[] {
  const own = requirementsOf(type, `type ${type.name}`, policies);
  if (kindOf(type) !== 'GraphQLObjectType') return own;
  return [
    ...own,
    ...(type as GraphQLObjectType)
      .getInterfaces()
      .flatMap((iface) => requirementsOf(iface, `type ${iface.name}`, policies)),
  ];
}

/**
 * Enforces the authorization directives of `schema` inside the subgraph: every field that declares
 * `@authenticated`, `@requiresScopes` or `@policy`, or returns a type that does, refuses a caller who does not meet
 * them with UNAUTHENTICATED (anonymous) or FORBIDDEN, before its resolver (or a subscription's `subscribe`) runs;
 * `_entities` refuses representations of protected types one by one. Errors carry `extensions.requirement`, where
 * the unmet directive was declared (e.g. `Query.users`), as the router's do.
 *
 * The schema's resolvers are wrapped in place and the same schema is returned; applying it twice is harmless.
 * Throws at once when a `@policy` names a policy not in `options.policies`.
 */
export function applyDirectiveAuthorization<TContext>(
  schema: GraphQLSchema,
  options: DirectiveAuthorizationOptions<TContext>,
): GraphQLSchema {
  if (protectedSchemas.has(schema)) return schema;
  const policies = options.policies ?? PRINCIPAL_POLICIES;
  const byType = new Map<string, Requirement[]>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const requirements = typeRequirements(type, policies);
    if (requirements.length > 0) byType.set(type.name, requirements);
  }

  const guard = <TResolver extends GraphQLFieldResolver<unknown, TContext>>(
    requirements: Requirement[],
    resolver: TResolver,
  ): TResolver =>
    ((source: unknown, args: Record<string, unknown>, context: TContext, info: Parameters<TResolver>[3]) => {
      const refused = denial(requirements, options.principal(context), policies);
      if (refused) throw refused;
      return resolver(source, args, context, info);
    }) as TResolver;

  const subscriptionType = schema.getSubscriptionType();
  for (const type of Object.values(schema.getTypeMap())) {
    const kind = kindOf(type);
    if (type.name.startsWith('__') || (kind !== 'GraphQLObjectType' && kind !== 'GraphQLInterfaceType'))
      continue;
    for (const field of Object.values(
      (type as GraphQLObjectType | GraphQLInterfaceType).getFields(),
    ) as GraphQLField<unknown, TContext>[]) {
      const requirements = [
        ...requirementsOf(field, `${type.name}.${field.name}`, policies),
        ...(byType.get(namedTypeName(field.type)) ?? []),
      ];
      if (requirements.length === 0) continue;
      // A subscription is authorized once, when it starts: the principal holds for the connection's lifetime.
      if (type === subscriptionType && field.subscribe)
        field.subscribe = guard(requirements, field.subscribe);
      else field.resolve = guard(requirements, field.resolve ?? defaultFieldResolver);
    }
  }

  const entities = schema.getQueryType()?.getFields()['_entities'] as
    | GraphQLField<unknown, TContext>
    | undefined;
  if (entities?.resolve && byType.size > 0) {
    const resolveEntities = entities.resolve;
    entities.resolve = (source, args: Record<string, unknown>, context, info) => {
      const representations = args['representations'] as Array<{ __typename?: unknown }>;
      const principal = options.principal(context);
      const refused = representations.map((representation) => {
        const requirements =
          typeof representation.__typename === 'string' ? byType.get(representation.__typename) : undefined;
        return requirements ? denial(requirements, principal, policies) : null;
      });
      if (refused.every((error) => error === null)) return resolveEntities(source, args, context, info);
      // Resolve only the allowed representations; each refused one becomes an error at its index (its item null).
      const allowed = representations.filter((_, index) => refused[index] === null);
      const resolveAllowed = async (): Promise<unknown[]> => {
        const resolved =
          allowed.length > 0
            ? ((await resolveEntities(
                source,
                { ...args, representations: allowed },
                context,
                info,
              )) as unknown[])
            : [];
        let next = 0;
        return refused.map((error) => error ?? resolved[next++]);
      };
      return resolveAllowed();
    };
  }
  protectedSchemas.add(schema);
  return schema;
}
