import { ErrorCode, evaluateRequirement, type Principal } from '@cap/runtime';
import {
  getDirectiveValues,
  getNamedType,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  Kind,
  visit,
  type ASTNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { FragmentMemo, fragmentsOf, reachableFragments } from './documentWalk.js';
import { POLICIES } from './policies.js';
import type { Requirement, SupergraphPolicy } from './supergraphPolicy.js';

/** A field the caller may not see, with where it sits in the response. */
export interface Denial {
  /** Response path (aliases, no list indices), e.g. `['me', 'apiKeys']`. */
  path: string[];
  code: typeof ErrorCode.UNAUTHENTICATED | typeof ErrorCode.FORBIDDEN;
  /** Where the unmet requirement was declared, e.g. `Query.users`. */
  requirement: string;
  /**
   * Where the response gets its null: the field itself when nullable, otherwise its nearest nullable ancestor
   * field (GraphQL's null propagation); null when nothing up to the root is nullable, i.e. `data` itself.
   */
  nullPath: string[] | null;
}

export interface AuthorizationResult {
  denials: Denial[];
  /** The operation without the denied fields, or null when nothing was denied. */
  document: DocumentNode | null;
  /** True when every root field was denied: nothing is left to execute. */
  empty: boolean;
}

/** Alias under which a placeholder `__typename` keeps an emptied selection set valid. */
export const PLACEHOLDER = '__authorizationPlaceholder';

/** The one evaluator shared with the subgraphs (`@cap/runtime` `evaluateRequirement`), with the router's registry. */
function evaluate(requirement: Requirement, principal: Principal): Denial['code'] | null {
  return evaluateRequirement(requirement, principal, POLICIES)?.code ?? null;
}

/**
 * Whether `@skip`/`@include` leave a selection out, decided as execution decides it (graphql-js
 * `getDirectiveValues` over the coerced variables, defaults applied). An argument execution could not read
 * (e.g. an explicit null for `if`) fails execution anyway: the selection is kept and checked.
 */
export function skipped(
  node: { directives?: readonly DirectiveNode[] },
  variables: Record<string, unknown>,
): boolean {
  if (!node.directives || node.directives.length === 0) return false;
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.['if'] === true) return true;
    if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.['if'] === false) return true;
  } catch {
    return false;
  }
  return false;
}

/**
 * The `@skip`/`@include` arguments execution could not read (e.g. an explicit null for a defaulted variable in
 * `if: Boolean!`): execution would fail on them, so the request is refused as bad input before any policy
 * decides on a value it does not have. Reads the operation and the fragments it reaches once each.
 */
export function unreadableConditions(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): GraphQLError[] {
  const fragments = fragmentsOf(document);
  const errors: GraphQLError[] = [];
  // Returns false below a selection execution leaves out: what it holds is never read.
  const check = (node: { directives?: readonly DirectiveNode[] }): false | undefined => {
    if (!node.directives || node.directives.length === 0) return undefined;
    const before = errors.length;
    for (const directive of [GraphQLSkipDirective, GraphQLIncludeDirective]) {
      try {
        getDirectiveValues(directive, node, variables);
      } catch (error) {
        if (error instanceof GraphQLError) errors.push(error);
        else throw error;
      }
    }
    return errors.length === before && skipped(node, variables) ? false : undefined;
  };
  const definitions = [
    operation,
    ...[...reachableFragments(operation, fragments)].flatMap((name) => fragments.get(name) ?? []),
  ];
  for (const definition of definitions)
    visit(definition, { Field: check, InlineFragment: check, FragmentSpread: check });
  return errors;
}

/** A denial relative to where a fragment is spread; `nullPath` 'inherit' = the nullable ancestor outside it. */
interface RelativeDenial {
  path: string[];
  code: Denial['code'];
  requirement: string;
  nullPath: string[] | 'inherit';
}

/**
 * Checks every field an operation selects — through fragments, aliases, interfaces and unions, honouring
 * `@skip`/`@include` — against the requirements composed into the supergraph, for one caller. Returns the
 * denials and, when there are any, the operation rewritten without those fields. `variables` are the
 * operation's coerced variables (defaults applied), as execution sees them. Linear in the document: each
 * fragment's denials are computed once per parent type, relative to the spread, and placed at each spread.
 */
export function authorizeOperation(options: {
  policy: SupergraphPolicy;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  principal: Principal;
}): AuthorizationResult {
  const { policy, document, operation, variables, principal } = options;
  const schema: GraphQLSchema = policy.apiSchema;
  const fragments = fragmentsOf(document);
  const denied = new Set<FieldNode>();
  const memo = new FragmentMemo<RelativeDenial[]>([]);

  const requirementsFor = (
    parent: GraphQLCompositeType,
    fieldName: string,
    returnType: string,
  ): Requirement[] => {
    const found: Requirement[] = [];
    const owners = isAbstractType(parent) ? [parent, ...schema.getPossibleTypes(parent)] : [parent];
    for (const owner of owners)
      found.push(...(policy.fieldRequirements.get(`${owner.name}.${fieldName}`) ?? []));
    found.push(...(policy.typeRequirements.get(returnType) ?? []));
    const object = schema.getType(returnType);
    // Requirements on an interface a returned type implements apply too.
    if (isObjectType(object))
      for (const iface of object.getInterfaces())
        found.push(...(policy.typeRequirements.get(iface.name) ?? []));
    return found;
  };

  /** Denials of one selection set, paths relative to it; duplicates (same response path) reported once. */
  const walk = (
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    nullablePath: string[] | 'inherit',
  ): RelativeDenial[] => {
    const found = new Map<string, RelativeDenial>();
    const add = (denial: RelativeDenial): void => {
      const key = denial.path.join('.');
      if (!found.has(key)) found.set(key, denial);
    };
    const place = (inner: RelativeDenial[], prefix: string[]): void => {
      for (const denial of inner) {
        add({
          ...denial,
          path: [...prefix, ...denial.path],
          nullPath: denial.nullPath === 'inherit' ? nullablePath : [...prefix, ...denial.nullPath],
        });
      }
    };
    for (const selection of selectionSet.selections) {
      if (skipped(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
        const definition = fields[name];
        if (!definition) continue;
        const returnType = getNamedType(definition.type);
        const responseKey = selection.alias?.value ?? name;
        // A list's items are not addressable by path: a null that would land on an item goes to the list field.
        const ownNullablePath = isNonNullType(definition.type) ? nullablePath : [responseKey];
        let code: Denial['code'] | null = null;
        let source = '';
        for (const requirement of requirementsFor(parent, name, returnType.name)) {
          const failed = evaluate(requirement, principal);
          // UNAUTHENTICATED wins: signing in is what the caller can do about it.
          if (failed && (code === null || failed === ErrorCode.UNAUTHENTICATED)) {
            code = failed;
            source = requirement.source;
          }
        }
        if (code) {
          denied.add(selection);
          add({ path: [responseKey], code, requirement: source, nullPath: ownNullablePath });
          continue;
        }
        if (selection.selectionSet && isCompositeType(returnType)) {
          // Below this field, paths are relative to it: the nullable ancestor is this field or is inherited.
          const below = walk(
            selection.selectionSet,
            returnType,
            isNonNullType(definition.type) ? 'inherit' : [],
          );
          for (const denial of below) {
            add({
              ...denial,
              path: [responseKey, ...denial.path],
              nullPath: denial.nullPath === 'inherit' ? ownNullablePath : [responseKey, ...denial.nullPath],
            });
          }
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : parent;
        place(walk(selection.selectionSet, isCompositeType(condition) ? condition : parent, 'inherit'), []);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) continue;
        const condition = schema.getType(fragment.typeCondition.name.value);
        const on = isCompositeType(condition) ? condition : parent;
        place(
          memo.get(`${fragment.name.value}\u0000${on.name}`, () =>
            walk(fragment.selectionSet, on, 'inherit'),
          ),
          [],
        );
      }
    }
    return [...found.values()];
  };

  const root =
    operation.operation === 'query'
      ? schema.getQueryType()
      : operation.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) return { denials: [], document: null, empty: false };
  const denials: Denial[] = walk(operation.selectionSet, root, 'inherit').map((denial) => ({
    path: denial.path,
    code: denial.code,
    requirement: denial.requirement,
    nullPath: denial.nullPath === 'inherit' ? null : denial.nullPath,
  }));
  if (denials.length === 0) return { denials, document: null, empty: false };

  // Rewrite: drop denied fields; a selection set left empty keeps a placeholder so the operation stays valid
  // (removed from the response again by applyDenialsToData).
  let empty = false;
  const placeholder: FieldNode = {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: PLACEHOLDER },
    name: { kind: Kind.NAME, value: '__typename' },
  };
  const rewritten = visit(document, {
    Field: { enter: (node) => (denied.has(node) ? null : undefined) },
    SelectionSet: {
      leave: (node, _key, parentNode) => {
        if (node.selections.length > 0) return undefined;
        if (
          parentNode &&
          !Array.isArray(parentNode) &&
          (parentNode as { kind?: string }).kind === Kind.OPERATION_DEFINITION
        )
          empty = true;
        return { ...node, selections: [placeholder] };
      },
    },
  });
  return { denials, document: pruneUnused(rewritten), empty };
}

/**
 * Removing fields can leave fragments and variables that nothing uses any more, which validation refuses
 * ("Fragment … is never used", "Variable … is never used"): drop them, to a fixed point.
 */
function pruneUnused(document: DocumentNode): DocumentNode {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const spreadsIn = (node: ASTNode): string[] => {
    const names: string[] = [];
    visit(node, { FragmentSpread: (spread) => void names.push(spread.name.value) });
    return names;
  };
  const variablesIn = (node: ASTNode): Set<string> => {
    const names = new Set<string>();
    visit(node, {
      VariableDefinition: () => false,
      Variable: (variable) => void names.add(variable.name.value),
    });
    return names;
  };
  const usedFragments = new Set<string>();
  const definitions = document.definitions.map((definition) => {
    if (definition.kind !== Kind.OPERATION_DEFINITION) return definition;
    // The fragments this operation reaches, transitively.
    const reached = new Set<string>();
    const pending = spreadsIn(definition);
    while (pending.length > 0) {
      const name = pending.pop() as string;
      if (reached.has(name)) continue;
      reached.add(name);
      const fragment = fragments.get(name);
      if (fragment) pending.push(...spreadsIn(fragment));
    }
    for (const name of reached) usedFragments.add(name);
    const used = variablesIn(definition);
    for (const name of reached) {
      const fragment = fragments.get(name);
      if (fragment) for (const variable of variablesIn(fragment)) used.add(variable);
    }
    const variableDefinitions = definition.variableDefinitions?.filter((variable) =>
      used.has(variable.variable.name.value),
    );
    return variableDefinitions?.length === definition.variableDefinitions?.length
      ? definition
      : { ...definition, variableDefinitions };
  });
  return {
    ...document,
    definitions: definitions.filter(
      (definition) =>
        definition.kind !== Kind.FRAGMENT_DEFINITION || usedFragments.has(definition.name.value),
    ),
  };
}

/**
 * Sets each denied field's `nullPath` to null (GraphQL null propagation: a non-null field's null lands on its
 * nearest nullable ancestor) and drops placeholders. Returns the data, or null when a null reached the root.
 */
export function applyDenialsToData(
  data: Record<string, unknown> | null | undefined,
  result: AuthorizationResult,
): Record<string, unknown> | null | undefined {
  if (!data) return data;
  const setNull = (value: unknown, path: string[]): void => {
    if (Array.isArray(value)) {
      for (const item of value) setNull(item, path);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    const [head, ...rest] = path;
    if (head === undefined) return;
    if (rest.length === 0) {
      record[head] = null;
      return;
    }
    setNull(record[head], rest);
  };
  const dropPlaceholders = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) dropPlaceholders(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    delete record[PLACEHOLDER];
    for (const child of Object.values(record)) dropPlaceholders(child);
  };
  if (result.denials.some((denial) => denial.nullPath === null)) return null;
  dropPlaceholders(data);
  for (const denial of result.denials) if (denial.nullPath) setNull(data, denial.nullPath);
  return data;
}
