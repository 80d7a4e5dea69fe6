import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { skipped } from './authorize.js';
import { FragmentMemo, fragmentsOf, saturatingAdd, saturatingMultiply } from './documentWalk.js';
import type { ListSize, SupergraphPolicy } from './supergraphPolicy.js';

/**
 * Static and actual cost per the IBM GraphQL Cost Directives specification, as composed by Federation 2.9
 * (`@cost(weight:)`, `@listSize(...)`). Defaults: composite fields weigh 1, scalars and enums 0, mutation root
 * fields 10; a list without `@listSize` is assumed to hold `defaultListSize` items.
 */
export interface CostSettings {
  /** Items assumed in a list without `@listSize` or slicing argument (default 10). */
  defaultListSize: number;
  /** Weight of a mutation root field (default 10). */
  mutationWeight: number;
}

export const DEFAULT_COST_SETTINGS: CostSettings = { defaultListSize: 10, mutationWeight: 10 };

interface Walk {
  policy: SupergraphPolicy;
  fragments: Map<string, FragmentDefinitionNode>;
  /** The operation's coerced variables (defaults applied), as execution sees them. */
  variables: Record<string, unknown>;
  settings: CostSettings;
}

/** What both cost functions are given: the operation, its document and variables, against the policy. */
export interface CostOptions {
  policy: SupergraphPolicy;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** The operation's coerced variables (defaults applied). */
  variables: Record<string, unknown>;
  settings?: CostSettings;
}

function walkOf(options: CostOptions): Walk {
  return {
    policy: options.policy,
    fragments: fragmentsOf(options.document),
    variables: options.variables,
    settings: options.settings ?? DEFAULT_COST_SETTINGS,
  };
}

/** A connection's `@listSize(sizedFields:)`: its size applies to those child fields. */
interface Sized {
  size: number;
  fields: string[];
}

/**
 * A field's arguments as execution reads them (graphql-js `getArgumentValues`: typed literals, coerced variables,
 * argument defaults). Unreadable arguments fail execution anyway; the estimate then treats them as absent.
 */
export function fieldArguments(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  try {
    return getArgumentValues(field, node, variables);
  } catch {
    return {};
  }
}

/** The slicing arguments a selection actually gives (non-null), by name. */
export function givenSlicingArguments(declared: ListSize, args: Record<string, unknown>): string[] {
  return declared.slicingArguments.filter((name) => args[name] !== undefined && args[name] !== null);
}

function fieldWeight(
  walk: Walk,
  parent: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown>,
  isMutationRoot: boolean,
): number {
  const explicit = walk.policy.costs.get(`${parent.name}.${field.name}`);
  if (explicit !== undefined) return explicit;
  const named = getNamedType(field.type);
  const typeCost = walk.policy.costs.get(named.name);
  if (typeCost !== undefined) return typeCost;
  if (isMutationRoot) return walk.settings.mutationWeight;
  return isCompositeType(named) ? 1 : 0;
}

function argumentsWeight(walk: Walk, parent: GraphQLCompositeType, node: FieldNode): number {
  let weight = 0;
  for (const argument of node.arguments ?? []) {
    weight += walk.policy.costs.get(`${parent.name}.${node.name.value}(${argument.name.value}:)`) ?? 0;
  }
  return weight;
}

/** Size of a list field: the largest slicing argument given, else @listSize's assumedSize, else the default. */
function listSize(walk: Walk, declared: ListSize | undefined, args: Record<string, unknown>): number {
  if (!declared) return walk.settings.defaultListSize;
  const sliced = declared.slicingArguments
    .map((name) => args[name])
    .filter((value): value is number => typeof value === 'number');
  return sliced.length > 0 ? Math.max(...sliced) : (declared.assumedSize ?? walk.settings.defaultListSize);
}

function rootOf(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
): GraphQLCompositeType | null | undefined {
  const kind = operation.operation;
  return kind === 'query'
    ? schema.getQueryType()
    : kind === 'mutation'
      ? schema.getMutationType()
      : schema.getSubscriptionType();
}

/**
 * The estimated cost of one operation, before execution. Linear in the document: a fragment's cost is computed
 * once per (fragment, parent type, sizing context) and reused at every spread; sums saturate at 2^53 - 1.
 */
export function estimateCost(options: CostOptions): number {
  const walk = walkOf(options);
  const schema = options.policy.apiSchema;
  const memo = new FragmentMemo<number>(0);

  const selectionCost = (
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    sized: Sized | null,
    isMutationRoot: boolean,
  ): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      // Skipped selections are not executed: they cost nothing (decided from the coerced variables).
      if (skipped(selection, walk.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        total = saturatingAdd(total, fieldCost(selection, parent, sized, isMutationRoot));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : parent;
        total = saturatingAdd(
          total,
          selectionCost(
            selection.selectionSet,
            isCompositeType(condition) ? condition : parent,
            sized,
            isMutationRoot,
          ),
        );
      } else {
        const fragment = walk.fragments.get(selection.name.value);
        if (!fragment) continue;
        const condition = schema.getType(fragment.typeCondition.name.value);
        const on = isCompositeType(condition) ? condition : parent;
        const key = [
          fragment.name.value,
          on.name,
          sized ? `${sized.size}:${sized.fields.join(',')}` : '',
          isMutationRoot,
        ].join('\u0000');
        total = saturatingAdd(
          total,
          memo.get(key, () => selectionCost(fragment.selectionSet, on, sized, isMutationRoot)),
        );
      }
    }
    return total;
  };

  const fieldCost = (
    node: FieldNode,
    parent: GraphQLCompositeType,
    sized: Sized | null,
    isMutationRoot: boolean,
  ): number => {
    const name = node.name.value;
    if (name.startsWith('__')) return 0;
    const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
    const field = fields[name];
    if (!field) return 0;
    const weight = fieldWeight(walk, parent, field, isMutationRoot) + argumentsWeight(walk, parent, node);
    const named = getNamedType(field.type);
    const isList = isListType(getNullableType(field.type));
    const declared = walk.policy.listSizes.get(`${parent.name}.${name}`);
    const args = declared || isList ? fieldArguments(field, node, walk.variables) : {};
    // A connection's @listSize(sizedFields: ["edges"]) sizes its `edges`, not the connection itself.
    const parentSized = sized && sized.fields.includes(name) ? sized.size : null;
    const multiplier = parentSized ?? (isList ? listSize(walk, declared, args) : 1);
    let children = 0;
    if (node.selectionSet && isCompositeType(named)) {
      const childSized =
        declared && declared.sizedFields.length > 0
          ? { size: listSize(walk, declared, args), fields: declared.sizedFields }
          : null;
      children = selectionCost(node.selectionSet, named, childSized, false);
    }
    return saturatingMultiply(multiplier, saturatingAdd(weight, children));
  };

  const root = rootOf(schema, options.operation);
  if (!root) return 0;
  return selectionCost(
    options.operation.selectionSet,
    root,
    null,
    options.operation.operation === 'mutation',
  );
}

/** One response key of a selection set, merged across the selections that name it (as execution merges them). */
interface CollectedField {
  field: GraphQLField<unknown, unknown>;
  /** The type the (first) selection names the field on: where its `@cost` is looked up. */
  on: GraphQLCompositeType;
  /** The merged sub-selections, collected once per runtime type (cached on this array). */
  subSets: SelectionSetNode[];
}

/**
 * The actual cost of a response: the same weights applied to what was really returned (each returned object
 * counted, lists by their real length). Fields are collected the way execution collects them (each fragment
 * once per selection set, same response keys merged), once per selection and runtime type, so the work is the
 * response's size times the document's, never the document's expansion.
 */
export function actualCost(options: CostOptions & { data: unknown }): number {
  const walk = walkOf(options);
  const schema = options.policy.apiSchema;
  const root = rootOf(schema, options.operation);
  if (!root) return 0;
  const isMutation = options.operation.operation === 'mutation';
  const cache = new WeakMap<readonly SelectionSetNode[], Map<string, Map<string, CollectedField>>>();

  // Whether a type condition holds for the runtime type (unknown runtime type: assume it does, as before).
  const applies = (conditionName: string | undefined, runtime: GraphQLCompositeType): boolean => {
    if (!conditionName || !isObjectType(runtime)) return true;
    const condition = schema.getType(conditionName);
    if (!condition || condition === runtime) return true;
    return isAbstractType(condition) && schema.isSubType(condition, runtime);
  };

  const collect = (
    sets: readonly SelectionSetNode[],
    runtime: GraphQLCompositeType,
  ): Map<string, CollectedField> => {
    let byType = cache.get(sets);
    const cached = byType?.get(runtime.name);
    if (cached) return cached;
    const collected = new Map<string, CollectedField>();
    const visited = new Set<string>();
    const visit = (set: SelectionSetNode, on: GraphQLCompositeType): void => {
      for (const selection of set.selections) {
        if (skipped(selection, walk.variables)) continue;
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          const fields = isObjectType(on) || isInterfaceType(on) ? on.getFields() : {};
          const field = fields[name];
          if (!field) continue;
          const key = selection.alias?.value ?? name;
          let entry = collected.get(key);
          if (!entry) collected.set(key, (entry = { field, on, subSets: [] }));
          if (selection.selectionSet) entry.subSets.push(selection.selectionSet);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const conditionName = selection.typeCondition?.name.value;
          if (!applies(conditionName, runtime)) continue;
          const condition = conditionName ? schema.getType(conditionName) : on;
          visit(selection.selectionSet, isCompositeType(condition) ? condition : on);
        } else {
          const fragment = walk.fragments.get(selection.name.value);
          if (!fragment || visited.has(fragment.name.value)) continue;
          visited.add(fragment.name.value);
          if (!applies(fragment.typeCondition.name.value, runtime)) continue;
          const condition = schema.getType(fragment.typeCondition.name.value);
          visit(fragment.selectionSet, isCompositeType(condition) ? condition : on);
        }
      }
    };
    for (const set of sets) visit(set, runtime);
    if (!byType) cache.set(sets, (byType = new Map()));
    byType.set(runtime.name, collected);
    return collected;
  };

  const measure = (
    sets: readonly SelectionSetNode[],
    parent: GraphQLCompositeType,
    value: unknown,
    isRoot: boolean,
  ): number => {
    if (value === null || value === undefined) return 0;
    if (Array.isArray(value))
      return value.reduce((sum: number, item) => saturatingAdd(sum, measure(sets, parent, item, isRoot)), 0);
    if (typeof value !== 'object') return 0;
    const record = value as Record<string, unknown>;
    const typename = typeof record['__typename'] === 'string' ? schema.getType(record['__typename']) : null;
    const runtime = isObjectType(typename) ? typename : parent;
    let total = 0;
    for (const [key, entry] of collect(sets, runtime)) {
      const fieldValue = record[key];
      if (fieldValue === undefined || fieldValue === null) continue;
      const weight = fieldWeight(walk, entry.on, entry.field, isRoot && isMutation);
      const count = Array.isArray(fieldValue) ? fieldValue.filter((item) => item !== null).length : 1;
      total = saturatingAdd(total, saturatingMultiply(weight, count));
      const named = getNamedType(entry.field.type);
      if (entry.subSets.length > 0 && isCompositeType(named))
        total = saturatingAdd(total, measure(entry.subSets, named, fieldValue, false));
    }
    return total;
  };
  return measure([options.operation.selectionSet], root, options.data, true);
}
