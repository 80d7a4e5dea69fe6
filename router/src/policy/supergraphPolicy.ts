import {
  printSchema as printFederationSchema,
  ROUTER_SUPPORTED_SUPERGRAPH_FEATURES,
  Supergraph,
} from '@apollo/federation-internals';
import {
  buildASTSchema,
  Kind,
  parse,
  print,
  valueFromASTUntyped,
  visit,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

/**
 * What the schema demands of a caller before a field may be resolved, read from the Federation 2
 * authorization directives composed into the supergraph: `@authenticated`, `@requiresScopes(scopes: [[...]])`
 * (outer list OR, inner list AND) and `@policy(policies: [[...]])` (same shape). One source of truth: the
 * subgraphs declare these, composition carries them, the router reads them here.
 */
export interface Requirement {
  /** Where it was declared, e.g. `Query.users` or `type User`. */
  source: string;
  authenticated: boolean;
  scopes: string[][] | null;
  policies: string[][] | null;
}

/** IBM GraphQL Cost Directives `@listSize`. */
export interface ListSize {
  assumedSize: number | null;
  slicingArguments: string[];
  sizedFields: string[];
  requireOneSlicingArgument: boolean;
}

/** Everything the router's policies need from one supergraph. */
export interface SupergraphPolicy {
  /** The public API schema (what clients validate against). */
  apiSchema: GraphQLSchema;
  /** The supergraph as handed to @apollo/gateway (authorization links made purpose-free: we enforce them). */
  gatewaySdl: string;
  /** Requirements declared on fields, by `Type.field`. */
  fieldRequirements: Map<string, Requirement[]>;
  /** Requirements declared on types (objects, interfaces, scalars, enums), by type name. */
  typeRequirements: Map<string, Requirement[]>;
  /** `@cost(weight:)` on fields (`Type.field`), types and arguments (`Type.field(arg:)`). */
  costs: Map<string, number>;
  /** `@listSize` by `Type.field`. */
  listSizes: Map<string, ListSize>;
  /** Every policy name the schema uses (checked against the router's registry at load). */
  policyNames: Set<string>;
  /** `@resumable` subscription root fields, by field name (see {@link resumableFieldsOf}). */
  resumableFields: ReadonlyMap<string, ResumableField>;
}

/**
 * A subscription root field that can pick up where it left off, as its subgraph declares it with
 * `@resumable(argument:, cursorField:)`: subscribing again with `argument` set to the `cursorField` of the last
 * event received replays exactly what came after it, each once.
 */
export interface ResumableField {
  /** Argument of the root field that says where to resume, e.g. `after`. */
  argument: string;
  /** Field of each event holding the position to resume after, e.g. `cursor`. */
  cursorField: string;
}

/** The spec `@resumable` is linked from (`@cap/runtime` `RESUMABLE_SPEC_URL`), without its version. */
const RESUMABLE_SPEC = 'https://specs.cap.local/resumable/';

/**
 * The `@resumable` subscription root fields of a supergraph (composed with `@composeDirective` from the subgraphs
 * that own them), by field name. The directive's name is read from its `@link` import, like the other policies'.
 */
export function resumableFieldsOf(document: DocumentNode): Map<string, ResumableField> {
  let directiveName: string | undefined;
  let subscriptionType = 'Subscription';
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    const root = definition.operationTypes?.find((type) => type.operation === 'subscription');
    if (root) subscriptionType = root.type.name.value;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue;
      const args = argumentsOf(directive);
      if (!String(args['url'] ?? '').startsWith(RESUMABLE_SPEC)) continue;
      const imports = (args['import'] ?? []) as Array<string | { name: string; as?: string }>;
      for (const entry of imports) {
        const name = typeof entry === 'string' ? entry : entry.name;
        const as = typeof entry === 'string' ? entry : (entry.as ?? entry.name);
        if (name === '@resumable') directiveName = as.replace(/^@/, '');
      }
    }
  }
  const fields = new Map<string, ResumableField>();
  if (!directiveName) return fields;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION)
      continue;
    if (definition.name.value !== subscriptionType) continue;
    for (const field of definition.fields ?? []) {
      const directive = field.directives?.find((candidate) => candidate.name.value === directiveName);
      if (!directive) continue;
      const args = argumentsOf(directive);
      if (typeof args['argument'] === 'string' && typeof args['cursorField'] === 'string')
        fields.set(field.name.value, { argument: args['argument'], cursorField: args['cursorField'] });
    }
  }
  return fields;
}

const SPECS = {
  authenticated: 'https://specs.apollo.dev/authenticated/',
  requiresScopes: 'https://specs.apollo.dev/requiresScopes/',
  policy: 'https://specs.apollo.dev/policy/',
  cost: 'https://specs.apollo.dev/cost/',
} as const;
/** Features @apollo/gateway refuses because they are `for: SECURITY`; the router enforces them itself. */
const ENFORCED_HERE = [SPECS.authenticated, SPECS.requiresScopes, SPECS.policy];

/** Directive names as the supergraph spells them (`@link` may import under another name). */
interface DirectiveNames {
  authenticated: string;
  requiresScopes: string;
  policy: string;
  cost: string;
  listSize: string;
}

function directiveNames(document: DocumentNode): DirectiveNames {
  const names: DirectiveNames = {
    authenticated: 'authenticated',
    requiresScopes: 'requiresScopes',
    policy: 'policy',
    cost: 'cost',
    listSize: 'cost__listSize',
  };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue;
      const args = Object.fromEntries(
        (directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)]),
      );
      const url = String(args['url'] ?? '');
      const imports = (args['import'] ?? []) as Array<string | { name: string; as?: string }>;
      const specName = Object.entries(SPECS).find(([, prefix]) => url.startsWith(prefix))?.[0] as
        | keyof typeof SPECS
        | undefined;
      if (!specName) continue;
      const prefix = (args['as'] as string | undefined) ?? specName;
      // The spec's own directive is named after the spec (`@authenticated`, `@cost`) unless renamed.
      (names as unknown as Record<string, string>)[specName] = prefix;
      for (const entry of imports) {
        const name = typeof entry === 'string' ? entry : entry.name;
        const as = typeof entry === 'string' ? entry : (entry.as ?? entry.name);
        if (name === '@listSize') names.listSize = as.replace(/^@/, '');
        if (name === `@${specName}`)
          (names as unknown as Record<string, string>)[specName] = as.replace(/^@/, '');
      }
      if (
        specName === 'cost' &&
        !imports.some((entry) => (typeof entry === 'string' ? entry : entry.name) === '@listSize')
      ) {
        names.listSize = `${prefix}__listSize`;
      }
    }
  }
  return names;
}

function argumentsOf(directive: ConstDirectiveNode): Record<string, unknown> {
  return Object.fromEntries(
    (directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)]),
  );
}

function requirementFrom(
  source: string,
  directives: readonly ConstDirectiveNode[],
  names: DirectiveNames,
  policyNames: Set<string>,
): Requirement[] {
  const requirements: Requirement[] = [];
  for (const directive of directives) {
    const name = directive.name.value;
    if (name === names.authenticated) {
      requirements.push({ source, authenticated: true, scopes: null, policies: null });
    } else if (name === names.requiresScopes) {
      requirements.push({
        source,
        authenticated: true,
        scopes: argumentsOf(directive)['scopes'] as string[][],
        policies: null,
      });
    } else if (name === names.policy) {
      const policies = argumentsOf(directive)['policies'] as string[][];
      for (const group of policies) for (const policy of group) policyNames.add(policy);
      requirements.push({ source, authenticated: true, scopes: null, policies });
    }
  }
  return requirements;
}

/** Reads requirements, costs and list sizes from a supergraph, and prepares it for @apollo/gateway. */
export function loadSupergraphPolicy(supergraphSdl: string): SupergraphPolicy {
  const document = parse(supergraphSdl);
  const names = directiveNames(document);
  const fieldRequirements = new Map<string, Requirement[]>();
  const typeRequirements = new Map<string, Requirement[]>();
  const costs = new Map<string, number>();
  const listSizes = new Map<string, ListSize>();
  const policyNames = new Set<string>();

  const addCost = (key: string, directives: readonly ConstDirectiveNode[] | undefined): void => {
    const cost = directives?.find((directive) => directive.name.value === names.cost);
    if (cost) costs.set(key, Number(argumentsOf(cost)['weight']));
  };

  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const typeName = definition.name.value;
        const onType = requirementFrom(`type ${typeName}`, definition.directives ?? [], names, policyNames);
        if (onType.length > 0)
          typeRequirements.set(typeName, [...(typeRequirements.get(typeName) ?? []), ...onType]);
        addCost(typeName, definition.directives);
        for (const field of definition.fields ?? []) {
          const coordinate = `${typeName}.${field.name.value}`;
          const onField = requirementFrom(coordinate, field.directives ?? [], names, policyNames);
          if (onField.length > 0) fieldRequirements.set(coordinate, onField);
          addCost(coordinate, field.directives);
          for (const arg of field.arguments ?? [])
            addCost(`${coordinate}(${arg.name.value}:)`, arg.directives);
          const listSize = field.directives?.find((directive) => directive.name.value === names.listSize);
          if (listSize) {
            const args = argumentsOf(listSize);
            listSizes.set(coordinate, {
              assumedSize: typeof args['assumedSize'] === 'number' ? args['assumedSize'] : null,
              slicingArguments: (args['slicingArguments'] as string[] | undefined) ?? [],
              sizedFields: (args['sizedFields'] as string[] | undefined) ?? [],
              requireOneSlicingArgument: (args['requireOneSlicingArgument'] as boolean | undefined) ?? true,
            });
          }
        }
        break;
      }
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_DEFINITION: {
        const typeName = definition.name.value;
        const onType = requirementFrom(`type ${typeName}`, definition.directives ?? [], names, policyNames);
        if (onType.length > 0) typeRequirements.set(typeName, onType);
        addCost(typeName, definition.directives);
        break;
      }
      default:
        break;
    }
  }

  const gatewayDocument = visit(document, {
    Directive(node) {
      if (node.name.value !== 'link') return undefined;
      const url = String(argumentsOf(node as ConstDirectiveNode)['url'] ?? '');
      if (!ENFORCED_HERE.some((prefix) => url.startsWith(prefix))) return undefined;
      return { ...node, arguments: node.arguments?.filter((arg) => arg.name.value !== 'for') };
    },
  });
  const supergraph = Supergraph.build(supergraphSdl, {
    supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES,
  });
  return {
    // Rebuilt from SDL rather than `toGraphQLJSSchema()`: federation-internals is CommonJS and would hand us a
    // schema from graphql's CommonJS build, which graphql's ES module build (ours) refuses as "another realm".
    apiSchema: buildASTSchema(parse(printFederationSchema(supergraph.apiSchema()))),
    gatewaySdl: print(gatewayDocument),
    fieldRequirements,
    typeRequirements,
    costs,
    listSizes,
    policyNames,
    resumableFields: resumableFieldsOf(document),
  };
}
