import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * Helpers shared by the policies' walks over a document. Every walk visits each fragment once and reuses its
 * result: following spreads naively is exponential in the document's size (a fragment spreading the next one k
 * times, n deep, is k^n selections from a few hundred bytes).
 */

/** Where counts stop growing: large enough to exceed any limit, small enough to stay an exact integer. */
export const SATURATED = Number.MAX_SAFE_INTEGER;

/** `a + b`, at most {@link SATURATED}. */
export function saturatingAdd(a: number, b: number): number {
  const sum = a + b;
  return sum > SATURATED ? SATURATED : sum;
}

/** `a * b`, at most {@link SATURATED} (negative weights, which nothing declares today, multiply plainly). */
export function saturatingMultiply(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  if (a < 0 || b < 0) return a * b;
  return a > SATURATED / b ? SATURATED : Math.min(SATURATED, a * b);
}

/** The document's fragment definitions by name (the first of a duplicated name wins, as validation refuses it). */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value))
      fragments.set(definition.name.value, definition);
  }
  return fragments;
}

/** The fragments an operation reaches, transitively; each fragment's spreads are read once. */
export function reachableFragments(
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
): Set<string> {
  const reached = new Set<string>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (fragment && !reached.has(fragment.name.value)) {
          reached.add(fragment.name.value);
          pending.push(fragment.selectionSet);
        }
      } else if (selection.selectionSet) {
        pending.push(selection.selectionSet);
      }
    }
  }
  return reached;
}

/**
 * Memoises one result per key, guarding against cycles (fragment cycles are invalid, but limits run before
 * validation): a key met again while its own result is being computed gets `onCycle`.
 */
export class FragmentMemo<T> {
  readonly #done = new Map<string, T>();
  readonly #inProgress = new Set<string>();

  constructor(private readonly onCycle: T) {}

  get(key: string, compute: () => T): T {
    const done = this.#done.get(key);
    if (done !== undefined) return done;
    if (this.#inProgress.has(key)) return this.onCycle;
    this.#inProgress.add(key);
    try {
      const result = compute();
      this.#done.set(key, result);
      return result;
    } finally {
      this.#inProgress.delete(key);
    }
  }
}
