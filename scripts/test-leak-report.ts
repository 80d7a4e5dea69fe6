/**
 * Setup file of the `integration` project, whose files share their worker (ADR 0041): after each file it reports the
 * handles (timers, sockets, child processes) that are still open and were not before the file started, on stderr
 * as `LEAK <file>: <kind> +<count>`. What a file leaks lives on in the files after it; CONVENTIONS §14 says every
 * file releases what it starts, and this is where a file that does not shows. A report, not a failure: some
 * libraries close asynchronously after their promise settles (`SETTLE_MS`).
 */
import { afterAll, beforeAll, expect } from 'vitest';

/** How long closes that settled their promise get to release their handles before counting. */
const SETTLE_MS = 50;

let before = new Map<string, number>();

function openHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

beforeAll(() => {
  before = openHandles();
});

afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const grown: string[] = [];
  for (const [kind, count] of openHandles()) {
    const extra = count - (before.get(kind) ?? 0);
    if (extra > 0) grown.push(`${kind} +${extra}`);
  }
  if (grown.length > 0)
    process.stderr.write(`LEAK ${expect.getState().testPath ?? ''}: ${grown.join(', ')}\n`);
});
