import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/** Structural limits on one operation, checked before validation and planning (defaults in README). */
export interface OperationLimits {
  /** Deepest field nesting, fragments expanded (default 12). */
  maxDepth: number;
  /** Aliased fields in the whole document (default 30). */
  maxAliases: number;
  /** Fields selected at the root of the operation (default 20). */
  maxRootFields: number;
  /** Field selections in the whole document, duplicates included (default 300). */
  maxFields: number;
  /** Directive usages in the whole document (default 50). */
  maxDirectives: number;
  /** Lexical tokens; parsing stops past it (default 2,000). */
  maxTokens: number;
  /** Size of the query text, bytes (default 32 KiB). */
  maxDocumentBytes: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxRootFields: 20,
  maxFields: 300,
  maxDirectives: 50,
  maxTokens: 2_000,
  maxDocumentBytes: 32 * 1024,
};

/** Which limit an operation broke, with the numbers for the client. */
export interface LimitViolation {
  limit: 'depth' | 'aliases' | 'rootFields' | 'fields' | 'directives' | 'tokens' | 'documentBytes';
  max: number;
  /** What the operation had (for depth and tokens, at least this much: counting stops early). */
  actual: number;
}

/** Measures an operation against the limits; returns the first violation or null. */
export function checkOperationLimits(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: OperationLimits,
): LimitViolation | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let aliases = 0;
  let fields = 0;
  let directives = operation.directives?.length ?? 0;
  // Whole-document counts: every definition is parsed and validated, used or not.
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) directives += definition.directives?.length ?? 0;
  }
  const countDocument = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      directives += selection.directives?.length ?? 0;
      if (selection.kind === Kind.FIELD) {
        fields += 1;
        if (selection.alias) aliases += 1;
        if (selection.selectionSet) countDocument(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        countDocument(selection.selectionSet);
      }
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) countDocument(definition.selectionSet);
  }
  if (aliases > limits.maxAliases) return { limit: 'aliases', max: limits.maxAliases, actual: aliases };
  if (fields > limits.maxFields) return { limit: 'fields', max: limits.maxFields, actual: fields };
  if (directives > limits.maxDirectives) return { limit: 'directives', max: limits.maxDirectives, actual: directives };

  const rootFields = (set: SelectionSetNode, seen: Set<string>): number =>
    set.selections.reduce((sum, selection) => {
      if (selection.kind === Kind.FIELD) return sum + 1;
      if (selection.kind === Kind.INLINE_FRAGMENT) return sum + rootFields(selection.selectionSet, seen);
      const fragment = fragments.get(selection.name.value);
      if (!fragment || seen.has(fragment.name.value)) return sum;
      return sum + rootFields(fragment.selectionSet, new Set([...seen, fragment.name.value]));
    }, 0);
  const roots = rootFields(operation.selectionSet, new Set());
  if (roots > limits.maxRootFields) return { limit: 'rootFields', max: limits.maxRootFields, actual: roots };

  // Depth with fragments expanded; a cycle (invalid anyway) or anything past the limit stops the walk.
  const depthOf = (set: SelectionSetNode, depth: number, seen: Set<string>): number => {
    if (depth > limits.maxDepth) return depth;
    let deepest = depth;
    for (const selection of set.selections) {
      let reached = depth;
      if (selection.kind === Kind.FIELD) {
        reached = selection.selectionSet ? depthOf(selection.selectionSet, depth + 1, seen) : depth;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        reached = depthOf(selection.selectionSet, depth, seen);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment && !seen.has(fragment.name.value)) reached = depthOf(fragment.selectionSet, depth, new Set([...seen, fragment.name.value]));
      }
      deepest = Math.max(deepest, reached);
      if (deepest > limits.maxDepth) return deepest;
    }
    return deepest;
  };
  const depth = depthOf(operation.selectionSet, 1, new Set());
  if (depth > limits.maxDepth) return { limit: 'depth', max: limits.maxDepth, actual: depth };
  return null;
}
