import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { FragmentMemo, fragmentsOf, reachableFragments, saturatingAdd } from './documentWalk.js';

/** Structural limits on one operation, checked before validation and planning (defaults in README). */
export interface OperationLimits {
  /** Deepest field nesting, fragments expanded (default 12). */
  maxDepth: number;
  /** Aliased fields in the whole document, fragments expanded (default 30). */
  maxAliases: number;
  /** Fields selected at the root of the operation, fragments expanded (default 20). */
  maxRootFields: number;
  /** Field selections in the whole document, fragments expanded, duplicates included (default 300). */
  maxFields: number;
  /** Directive usages in the whole document, as written (default 50). */
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
  /** What the operation had, fragments expanded (saturates at 2^53 - 1). */
  actual: number;
}

/** What one selection set amounts to with its fragments expanded. */
interface Totals {
  fields: number;
  aliases: number;
  /** Fields at this level itself (through inline fragments and spreads): the root-field count of an operation. */
  levelFields: number;
  /** Deepest field nesting below and including this level (0 for an empty set). */
  depth: number;
}

const NONE: Totals = { fields: 0, aliases: 0, levelFields: 0, depth: 0 };

/**
 * Measures an operation against the limits; returns the first violation or null. Linear in the document: each
 * fragment's totals are computed once and multiplied by how often it is spread (saturating), so a document
 * whose expansion is huge is measured — and refused — without being expanded.
 */
export function checkOperationLimits(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: OperationLimits,
): LimitViolation | null {
  const fragments = fragmentsOf(document);
  const memo = new FragmentMemo<Totals>(NONE);

  const totalsOf = (set: SelectionSetNode): Totals => {
    let fields = 0;
    let aliases = 0;
    let levelFields = 0;
    let depth = 0;
    const add = (inner: Totals): void => {
      fields = saturatingAdd(fields, inner.fields);
      aliases = saturatingAdd(aliases, inner.aliases);
      levelFields = saturatingAdd(levelFields, inner.levelFields);
      depth = Math.max(depth, inner.depth);
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const below = selection.selectionSet ? totalsOf(selection.selectionSet) : NONE;
        add({
          fields: saturatingAdd(1, below.fields),
          aliases: saturatingAdd(selection.alias ? 1 : 0, below.aliases),
          levelFields: 1,
          depth: 1 + below.depth,
        });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        add(totalsOf(selection.selectionSet));
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) add(memo.get(fragment.name.value, () => totalsOf(fragment.selectionSet)));
      }
    }
    return { fields, aliases, levelFields, depth };
  };

  // Whole-document counts: every definition is parsed and validated, used or not. Each operation counts with its
  // fragments expanded; a fragment no operation reaches counts once, expanded.
  let directives = 0;
  let fields = 0;
  let aliases = 0;
  const reached = new Set<string>();
  const countDirectives = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      directives += selection.directives?.length ?? 0;
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet)
        countDirectives(selection.selectionSet);
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION)
      continue;
    directives += definition.directives?.length ?? 0;
    countDirectives(definition.selectionSet);
    if (definition.kind === Kind.OPERATION_DEFINITION) {
      const totals = totalsOf(definition.selectionSet);
      fields = saturatingAdd(fields, totals.fields);
      aliases = saturatingAdd(aliases, totals.aliases);
      for (const name of reachableFragments(definition, fragments)) reached.add(name);
    }
  }
  for (const [name, fragment] of fragments) {
    if (reached.has(name)) continue;
    const totals = memo.get(name, () => totalsOf(fragment.selectionSet));
    fields = saturatingAdd(fields, totals.fields);
    aliases = saturatingAdd(aliases, totals.aliases);
  }
  if (aliases > limits.maxAliases) return { limit: 'aliases', max: limits.maxAliases, actual: aliases };
  if (fields > limits.maxFields) return { limit: 'fields', max: limits.maxFields, actual: fields };
  if (directives > limits.maxDirectives)
    return { limit: 'directives', max: limits.maxDirectives, actual: directives };

  const own = totalsOf(operation.selectionSet);
  if (own.levelFields > limits.maxRootFields)
    return { limit: 'rootFields', max: limits.maxRootFields, actual: own.levelFields };
  const depth = Math.max(1, own.depth);
  if (depth > limits.maxDepth) return { limit: 'depth', max: limits.maxDepth, actual: depth };
  return null;
}
