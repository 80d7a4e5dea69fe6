import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { SupergraphPolicy } from './supergraphPolicy.js';

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
  variables: Record<string, unknown>;
  settings: CostSettings;
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

function argumentValue(node: FieldNode, name: string, variables: Record<string, unknown>): unknown {
  const arg = node.arguments?.find((argument) => argument.name.value === name);
  return arg ? valueFromASTUntyped(arg.value, variables) : undefined;
}

function fieldWeight(walk: Walk, parent: GraphQLCompositeType, field: GraphQLField<unknown, unknown>, isMutationRoot: boolean): number {
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

/** Size of a list field: the slicing argument sent, else @listSize's assumedSize, else the default. */
function listSize(walk: Walk, parent: GraphQLCompositeType, node: FieldNode): { size: number } {
  const declared = walk.policy.listSizes.get(`${parent.name}.${node.name.value}`);
  if (!declared) return { size: walk.settings.defaultListSize };
  const sliced = declared.slicingArguments
    .map((name) => argumentValue(node, name, walk.variables))
    .filter((value): value is number => typeof value === 'number');
  const size = sliced.length > 0 ? Math.max(...sliced) : (declared.assumedSize ?? walk.settings.defaultListSize);
  return { size };
}

function selectionCost(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLCompositeType, sized: { size: number; fields: string[] } | null, isRoot: boolean, isMutation: boolean): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      total += fieldCost(walk, selection, parent, sized, isRoot && isMutation);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? walk.policy.apiSchema.getType(selection.typeCondition.name.value) : parent;
      total += selectionCost(walk, selection.selectionSet, (condition ?? parent) as GraphQLCompositeType, sized, isRoot, isMutation);
    } else {
      const fragment = walk.fragments.get(selection.name.value);
      if (!fragment) continue;
      const condition = walk.policy.apiSchema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined;
      total += selectionCost(walk, fragment.selectionSet, condition ?? parent, sized, isRoot, isMutation);
    }
  }
  return total;
}

function fieldCost(walk: Walk, node: FieldNode, parent: GraphQLCompositeType, sized: { size: number; fields: string[] } | null, isMutationRoot: boolean): number {
  const name = node.name.value;
  if (name.startsWith('__')) return 0;
  const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
  const field = fields[name];
  if (!field) return 0;
  const weight = fieldWeight(walk, parent, field, isMutationRoot) + argumentsWeight(walk, parent, node);
  const named = getNamedType(field.type);
  const isList = isListType(getNullableType(field.type));
  // A connection's @listSize(sizedFields: ["edges"]) sizes its `edges`, not the connection itself.
  const parentSized = sized && sized.fields.includes(name) ? sized.size : null;
  const declared = walk.policy.listSizes.get(`${parent.name}.${name}`);
  const multiplier = parentSized ?? (isList ? listSize(walk, parent, node).size : 1);
  let children = 0;
  if (node.selectionSet && isCompositeType(named)) {
    const childSized = declared && declared.sizedFields.length > 0 ? { size: listSize(walk, parent, node).size, fields: declared.sizedFields } : null;
    children = selectionCost(walk, node.selectionSet, named, childSized, false, false);
  }
  return multiplier * (weight + children);
}

/** The estimated cost of one operation, before execution. */
export function estimateCost(options: {
  policy: SupergraphPolicy;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  settings?: CostSettings;
}): number {
  const walk: Walk = { policy: options.policy, fragments: fragmentsOf(options.document), variables: options.variables, settings: options.settings ?? DEFAULT_COST_SETTINGS };
  const schema = options.policy.apiSchema;
  const kind = options.operation.operation;
  const root = kind === 'query' ? schema.getQueryType() : kind === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;
  return selectionCost(walk, options.operation.selectionSet, root, null, true, kind === 'mutation');
}

/**
 * The actual cost of a response: the same weights applied to what was really returned (each returned object
 * counted, lists by their real length).
 */
export function actualCost(options: {
  policy: SupergraphPolicy;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  data: unknown;
  settings?: CostSettings;
}): number {
  const walk: Walk = { policy: options.policy, fragments: fragmentsOf(options.document), variables: options.variables, settings: options.settings ?? DEFAULT_COST_SETTINGS };
  const schema = options.policy.apiSchema;
  const kind = options.operation.operation;
  const root = kind === 'query' ? schema.getQueryType() : kind === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;

  const measure = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, value: unknown, isRoot: boolean): number => {
    if (value === null || value === undefined) return 0;
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + measure(selectionSet, parent, item, isRoot), 0);
    if (typeof value !== 'object') return 0;
    const record = value as Record<string, unknown>;
    const typename = typeof record['__typename'] === 'string' ? schema.getType(record['__typename']) : null;
    const concrete = (isObjectType(typename) ? typename : parent) as GraphQLCompositeType;
    let total = 0;
    const visitSelections = (set: SelectionSetNode, on: GraphQLCompositeType): void => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          const fields = isObjectType(on) || isInterfaceType(on) ? on.getFields() : {};
          const field = fields[name];
          if (!field) continue;
          const fieldValue = record[selection.alias?.value ?? name];
          if (fieldValue === undefined || fieldValue === null) continue;
          const weight = fieldWeight(walk, on, field, isRoot && kind === 'mutation');
          const count = Array.isArray(fieldValue) ? fieldValue.filter((item) => item !== null).length : 1;
          total += weight * count;
          const named = getNamedType(field.type);
          if (selection.selectionSet && isCompositeType(named)) total += measure(selection.selectionSet, named, fieldValue, false);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : on;
          if (!selection.typeCondition || !isObjectType(typename) || condition === typename || (condition && 'name' in condition && schema.isSubType(condition as never, typename))) {
            visitSelections(selection.selectionSet, (condition ?? on) as GraphQLCompositeType);
          }
        } else {
          const fragment = walk.fragments.get(selection.name.value);
          if (fragment) visitSelections(fragment.selectionSet, (schema.getType(fragment.typeCondition.name.value) ?? on) as GraphQLCompositeType);
        }
      }
    };
    visitSelections(selectionSet, concrete);
    return total;
  };
  return measure(options.operation.selectionSet, root, options.data, true);
}
