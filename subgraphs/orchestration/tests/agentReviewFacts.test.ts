import { randomUUID } from 'node:crypto';
import { TaskCompleted } from '@cap/events';
import type { BusRecord } from '@cap/messaging';
import { FakeModelServer, seededRandom, type Fixture } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capReviewNotes, completionFacts } from '../src/chat/chatLink.js';
import { alice, API_KEY, FIX, MODEL, sandboxReachableFixture } from './agentFixtures.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
} from './harness.js';

/** A `TaskCompleted` built from an executor's result the way `finishExecution` builds it. */
function completed(result: Record<string, unknown>, usage: Record<string, unknown> = {}) {
  return TaskCompleted.create(
    {
      taskId: randomUUID(),
      executionId: randomUUID(),
      attempt: 1,
      summary: 'done',
      changedFiles: 1,
      pullRequestUrl: null,
      durationMs: 1,
      ...completionFacts(result, usage),
    },
    { source: 'orchestration', aggregateId: randomUUID() },
  );
}

const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What a note should become when it is kept, or null when it must be dropped. */
function expected(note: unknown): { path: string; line: number; body: string } | null {
  if (note === null || typeof note !== 'object') return null;
  const { path, line, body } = note as Record<string, unknown>;
  if (typeof path !== 'string' || path.length === 0 || path.length > 500) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path) || LONE.test(path)) return null;
  if (typeof line !== 'number' || !Number.isSafeInteger(line) || line < 1) return null;
  if (typeof body !== 'string' || body.length === 0) return null;
  return {
    path,
    line,
    body: body.replaceAll('\u0000', '\uFFFD').replace(new RegExp(LONE.source, 'g'), '\uFFFD'),
  };
}

describe('TaskCompleted carries the agent’s own review, capped to the event', () => {
  it('stays valid for generated hostile notes and keeps every note the caps allow, in order', () => {
    const next = seededRandom(20261206);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const paths = [
      'src/a.ts',
      '',
      'x'.repeat(501),
      'a\u0000b',
      '../../etc/passwd',
      'é/ü.ts',
      'a\nb',
      '\u0085',
      'p'.repeat(500),
      'C:\\x',
      ' ',
      'a\ud800b.ts',
    ];
    const lines = [1, 0, -1, 2.5, Number.NaN, Infinity, 2 ** 53, 42, '3', null];
    const bodies = [
      'ok',
      '',
      'b'.repeat(5_000),
      'b'.repeat(5_001),
      'c'.repeat(200_000),
      `${'d'.repeat(4_998)}😀😀`,
      'nul\u0000here',
      '\udc00 lone low, lone high \ud83d',
      `${'e'.repeat(4_999)}😀`,
      7,
      null,
    ];
    const note = (): unknown =>
      next() < 0.05
        ? pick([null, 'note', 42, [], { path: 'a' }])
        : { path: pick(paths), line: pick(lines), body: pick(bodies) };
    const sizes = [0, 1, 49, 50, 51, 120, 10_000];
    for (let round = 0; round < 120; round++) {
      const size = round < sizes.length ? sizes[round]! : Math.floor(next() * 200);
      const notes = Array.from({ length: size }, note);
      const event = completed({ reviewNotes: notes });
      const kept = event.payload.reviewNotes ?? [];
      const wanted = notes
        .map(expected)
        .filter((n) => n !== null)
        .slice(0, 50);
      expect(kept).toHaveLength(wanted.length);
      kept.forEach((got, index) => {
        const want = wanted[index]!;
        expect({ path: got.path, line: got.line }).toEqual({ path: want.path, line: want.line });
        if (want.body.length <= 5_000) expect(got.body).toBe(want.body);
        else {
          expect(got.body.endsWith('…')).toBe(true);
          expect(want.body.startsWith(got.body.slice(0, -1))).toBe(true);
          expect(got.body.length).toBeGreaterThanOrEqual(4_998);
          expect(got.body.length).toBeLessThanOrEqual(5_000);
        }
      });
      expect(capReviewNotes(notes).dropped).toBe(notes.length - kept.length);
    }
    // Not an array at all: no notes, nothing thrown.
    for (const value of [null, 'notes', 42, { length: 3 }])
      expect(completed({ reviewNotes: value }).payload.reviewNotes).toBeUndefined();
  });

  it('copies the verification, cuts a long command, and leaves out a malformed one', () => {
    expect(completed({ verification: { passed: true, command: 'npm test' } }).payload.verification).toEqual({
      passed: true,
      command: 'npm test',
    });
    const long = completed({ verification: { passed: false, command: `x\u0000${'y'.repeat(10_000)}` } });
    expect(long.payload.verification?.passed).toBe(false);
    expect(long.payload.verification?.command).toHaveLength(2_000);
    expect(long.payload.verification?.command?.startsWith('x\uFFFDy')).toBe(true);
    expect(completed({ verification: { passed: true, command: null } }).payload.verification).toEqual({
      passed: true,
      command: null,
    });
    for (const value of [{ passed: 'yes', command: 'x' }, 'passed', null, 1])
      expect(completed({ verification: value }).payload.verification).toBeUndefined();
    expect(completed({}).payload).not.toHaveProperty('verification');
  });
});

describe('an agent execution’s TaskCompleted', { timeout: 180_000 }, () => {
  let cluster: OrchestrationHarness;
  let server: FakeModelServer;
  let fixture: Fixture;
  const published: BusRecord[] = [];

  beforeAll(async () => {
    cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '1' } });
    await cluster.bus.subscribe({
      groupId: 'review-facts-observer',
      topics: ['orchestration.task'],
      fromBeginning: true,
      handler: async (record) => {
        published.push(record);
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    fixture?.remove();
    await cluster?.[Symbol.asyncDispose]();
  });

  it('carries the last verification and the agent’s line notes', async () => {
    fixture = sandboxReachableFixture();
    const body = 'Adds instead of subtracting: `sum(2, 3)` is 5.';
    server = await FakeModelServer.start('openai', [
      ...FIX.slice(0, 2),
      { toolCalls: [{ name: 'add_review_note', arguments: { path: 'src/sum.js', line: 2, body } }] },
      ...FIX.slice(3),
    ]);
    const node = await cluster.start({
      AGENT_PROVIDER: 'openai',
      AGENT_MODEL: MODEL,
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: server.baseUrl,
      AGENT_RETRY_BASE_DELAY_MS: '20',
      AGENT_MAX_RETRIES: '1',
      AGENT_COMMAND_TIMEOUT_MS: '60000',
    });
    const id = await createTaskVia(node, alice, {
      title: 'Make sum add',
      description: 'The sum test fails.',
      repository: fixture.origin,
      strategy: 'ITERATIVE',
    });
    await waitForStatus(node, id, ['SUCCEEDED', 'FAILED'], 120_000);
    const record = await waitFor(
      () => published.find((r) => r.key === id && r.headers['event-type'] === 'TaskCompleted'),
      { message: 'TaskCompleted', timeoutMs: 30_000 },
    );
    server.assertDone();
    // What an executor could return at worst still goes into the outbox's jsonb (NUL and lone surrogates would not).
    const hostile = completed({
      verification: { passed: true, command: 'x\u0000\ud800' },
      reviewNotes: [
        { path: 'a\ud800', line: 1, body: 'x' },
        { path: 'src/sum.js', line: 2, body: `nul\u0000 \udc00${'z'.repeat(6_000)}` },
        ...Array.from({ length: 10_000 }, (_, i) => ({ path: 'src/sum.js', line: i + 1, body: 'b' })),
      ],
    });
    const [stored] = await node.orchestration.deps.prisma.$queryRaw<Array<{ payload: unknown }>>`
      SELECT ${JSON.stringify(hostile.payload)}::jsonb AS payload`;
    expect(TaskCompleted.payload.parse(stored!.payload).reviewNotes).toHaveLength(50);
    const event = TaskCompleted.parse(JSON.parse(record.value));
    expect(event.payload.verification).toEqual({ passed: true, command: 'npm test' });
    expect(event.payload.reviewNotes).toEqual([{ path: 'src/sum.js', line: 2, body }]);
    // The same verification on the task, through the subgraph.
    const read = await node.call(
      `query($id: ID!) { task(id: $id) { verification { passed command } } }`,
      { id },
      alice,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data!['task'].verification).toEqual({ passed: true, command: 'npm test' });
    await cluster.stop(node);
  });
});
