import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  print,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Fan-out shapes that are exponential when fragments are expanded naively. */
export const fanOut = {
  /** `F0` spreads `F1` k times, … `F(n-1)` spreads `Fn` k times: k^n selections of `Fn`. */
  chain(k: number, n: number): string {
    const fragments = Array.from(
      { length: n },
      (_, i) => `fragment F${i} on User { id ${`...F${i + 1} `.repeat(k)}}`,
    );
    return `query { me { ...F0 } } ${fragments.join(' ')} fragment F${n} on User { id displayName email }`;
  },
  /** Each level spreads two fragments that both spread the next level: 2^n paths through n diamonds. */
  diamonds(n: number): string {
    const parts: string[] = [];
    for (let i = 0; i < n; i += 1) {
      parts.push(
        `fragment D${i} on Query { ...L${i} ...R${i} }`,
        `fragment L${i} on Query { me { id } ...D${i + 1} }`,
        `fragment R${i} on Query { me { email } ...D${i + 1} }`,
      );
    }
    return `query { ...D0 } ${parts.join(' ')} fragment D${n} on Query { apiKeys { id name } }`;
  },
  /** Aliased, sliced fields beside the spreads in every fragment: fields, aliases and cost all blow up. */
  nested(k: number, n: number): string {
    const fragments = Array.from(
      { length: n },
      (_, i) =>
        `fragment N${i} on Query { a${i}: users(first: 5) { edges { node { id } } } ${`...N${i + 1} `.repeat(k)}}`,
    );
    return `query { ...N0 } ${fragments.join(' ')} fragment N${n} on Query { me { id } }`;
  },
};

/**
 * A random operation over the schema, with named fragments (each spread exactly once: no reuse), inline
 * fragments, aliases, `@include`/`@skip` (literal or variable) and slicing arguments.
 */
export function randomDocument(
  schema: GraphQLSchema,
  next: () => number,
  options: { maxDepth: number },
): string {
  const fragments: string[] = [];
  let names = 0;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const directive = (): string => {
    const roll = next();
    if (roll < 0.1) return ` @include(if: ${pick(['true', 'false', '$yes', '$no'])})`;
    if (roll < 0.2) return ` @skip(if: ${pick(['true', 'false', '$yes', '$no'])})`;
    return '';
  };
  const selections = (type: GraphQLCompositeType, depth: number): string => {
    const parts: string[] = [];
    if (isAbstractType(type)) {
      for (const possible of schema.getPossibleTypes(type).slice(0, 2))
        parts.push(`... on ${possible.name} { ${selections(possible, depth)} }`);
      return parts.length > 0 ? `__typename ${parts.join(' ')}` : '__typename';
    }
    const fields = Object.values((type as GraphQLObjectType).getFields()).filter(
      (field) => !field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined),
    );
    const count = 1 + Math.floor(next() * 4);
    for (let i = 0; i < count && fields.length > 0; i += 1) {
      const field = pick(fields);
      const named = getNamedType(field.type);
      const alias = next() < 0.15 ? `x${(names += 1)}: ` : '';
      const slicing = field.args.find((arg) => arg.name === 'first');
      const args = slicing && next() < 0.6 ? `(first: ${1 + Math.floor(next() * 40)})` : '';
      let text: string;
      if (isCompositeType(named)) {
        if (depth >= options.maxDepth) continue;
        text = `${alias}${field.name}${args}${directive()} { ${selections(named, depth + 1)} }`;
      } else {
        text = `${alias}${field.name}${args}${directive()}`;
      }
      const wrap = next();
      if (wrap < 0.25) {
        const name = `G${(names += 1)}`;
        fragments.push(`fragment ${name} on ${type.name} { ${text} }`);
        parts.push(`...${name}${directive()}`);
      } else if (wrap < 0.4) {
        parts.push(`...${next() < 0.5 ? ` on ${type.name}` : ''}${directive()} { ${text} }`);
      } else {
        parts.push(text);
      }
    }
    return parts.length > 0 ? parts.join(' ') : '__typename';
  };
  const query = schema.getQueryType();
  if (!query) throw new Error('the schema has no query type');
  return `query($yes: Boolean = true, $no: Boolean = false) { ${selections(query, 1)} } ${fragments.join(' ')}`;
}

/** The same operation with every named fragment spread replaced by its body (a straightforward expansion). */
export function expandFragments(document: DocumentNode): {
  document: DocumentNode;
  operation: OperationDefinitionNode;
} {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const expandSet = (set: SelectionSetNode): SelectionSetNode =>
    visit(set, {
      FragmentSpread(spread): InlineFragmentNode {
        const fragment = fragments.get(spread.name.value);
        if (!fragment) throw new Error(`unknown fragment ${spread.name.value}`);
        return {
          kind: Kind.INLINE_FRAGMENT,
          typeCondition: fragment.typeCondition,
          directives: spread.directives,
          selectionSet: expandSet(fragment.selectionSet),
        };
      },
    });
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (!operation) throw new Error('no operation');
  const expanded: OperationDefinitionNode = { ...operation, selectionSet: expandSet(operation.selectionSet) };
  // Printed and parsed again: a plain document, as a client would have sent it.
  const reparsed = parse(print({ kind: Kind.DOCUMENT, definitions: [expanded] }));
  return { document: reparsed, operation: reparsed.definitions[0] as OperationDefinitionNode };
}

/**
 * A response for an expanded operation: every selected field present (lists of two items, objects with their
 * `__typename`, the first possible type for abstract ones), honouring literal and variable `@include`/`@skip`.
 */
export function responseFor(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, boolean>,
): Record<string, unknown> {
  const included = (directives: InlineFragmentNode['directives']): boolean => {
    for (const node of directives ?? []) {
      const arg = node.arguments?.[0]?.value;
      const value =
        arg?.kind === Kind.BOOLEAN
          ? arg.value
          : arg?.kind === Kind.VARIABLE
            ? variables[arg.name.value] === true
            : true;
      if (node.name.value === 'skip' && value) return false;
      if (node.name.value === 'include' && !value) return false;
    }
    return true;
  };
  const build = (
    set: SelectionSetNode,
    type: GraphQLObjectType,
    into: Record<string, unknown>,
  ): Record<string, unknown> => {
    into['__typename'] = type.name;
    for (const selection of set.selections) {
      if (!included(selection.directives)) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (
          condition === type ||
          (condition && isAbstractType(condition) && schema.isSubType(condition, type))
        )
          build(selection.selectionSet, type, into);
        continue;
      }
      if (selection.kind !== Kind.FIELD || selection.name.value === '__typename') continue;
      const field = type.getFields()[selection.name.value];
      if (!field) continue;
      const named = getNamedType(field.type);
      const key = selection.alias?.value ?? selection.name.value;
      const one = (): unknown => {
        if (!isCompositeType(named) || !selection.selectionSet) return 'value';
        const runtime = isObjectType(named) ? named : schema.getPossibleTypes(named)[0];
        if (!runtime) return null;
        const existing = into[key];
        const target =
          existing && typeof existing === 'object' && !Array.isArray(existing)
            ? (existing as Record<string, unknown>)
            : {};
        return build(selection.selectionSet, runtime, target);
      };
      const isList = isListType(isNonNullType(field.type) ? field.type.ofType : field.type);
      into[key] = isList ? [one(), one()] : one();
    }
    return into;
  };
  const query = schema.getQueryType();
  if (!query) throw new Error('no query type');
  return build(operation.selectionSet, query, {});
}
