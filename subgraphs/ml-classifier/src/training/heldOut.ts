import { createHash } from 'node:crypto';

/**
 * Whether the example with this key is held out for evaluation: a stable hash of the key, so an example is
 * held out in every training (no version of the classifier ever trains on it) and every version is judged on
 * the same examples. Keys: `outcome:<task id>` for outcome examples, `<source>#<ref>` for corpus examples.
 */
export function isHeldOut(key: string, percent: number): boolean {
  const bucket = createHash('sha256').update(key).digest().readUInt32BE(0) % 100;
  return bucket < percent;
}

/** The key of an outcome example. */
export function outcomeKey(taskId: string): string {
  return `outcome:${taskId}`;
}
