import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededInts, userPrincipal } from '@cap/testkit';
import type { LiveSubscription } from '@cap/live';
import { storableText } from '../src/domain/storableText.js';
import type { TaskLogWire } from '../src/domain/liveMessages.js';
import { CommitThenPublishWriter } from '../src/logs/commitThenPublishWriter.js';
import { appendTaskLogs, type TaskLogLiveMessage } from '../src/logs/taskLogs.js';
import { LiveTopic } from '../src/live/LiveTopic.js';
import { RETRY_DELAY_MS } from '../src/logs/bufferedLogWriter.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  type Instance,
  type OrchestrationHarness,
} from './harness.js';

// The commit-then-publish writer (the path before ADR 0028, `LOG_PUBLISH_BEFORE_COMMIT=false`, the benchmark's
// baseline) on real PostgreSQL and the real Redis live bus: a line goes live only once its batch has committed, in
// seq order, each once; a write that fails publishes nothing and costs nothing already stored; hostile text is
// stored and published as the writer's redaction makes it (storable, cut to LOG_LINE_MAX_CHARS).
let cluster: OrchestrationHarness;
let instance: Instance;
const alice = userPrincipal('DEVELOPER');
const MAX_CHARS = 200;

beforeAll(async () => {
  cluster = await startOrchestrationHarness();
  // No workers and no timed sweep: only this test writes the tasks' logs. Small flushes so batches interleave.
  instance = await cluster.start({
    WORKER_CONCURRENCY: '0',
    SWEEP_INTERVAL_MS: '600000',
    LOG_FLUSH_MAX_LINES: '7',
    LOG_FLUSH_INTERVAL_MS: '5',
    LOG_LINE_MAX_CHARS: String(MAX_CHARS),
  });
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

const deps = () => instance.orchestration.deps;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);
const writerOf = (taskId: string) => new CommitThenPublishWriter(deps(), { taskId, executionId: null });

/** What went live on a task's topic, and for each message whether all its entries were stored when it arrived. */
interface Live {
  entries: TaskLogWire[];
  /** One per message: its entries' seqs, and the seqs of them the database had when the message arrived. */
  checks: Array<Promise<{ seqs: number[]; stored: number[] }>>;
  subscription: LiveSubscription;
}

async function watch(taskId: string): Promise<Live> {
  const entries: TaskLogWire[] = [];
  const checks: Live['checks'] = [];
  const subscription = await deps().live.subscribe(LiveTopic.taskLogs(taskId), (raw) => {
    const message = raw as TaskLogLiveMessage;
    if (!('entries' in message)) return;
    entries.push(...message.entries);
    const seqs = message.entries.map((entry) => entry.seq);
    checks.push(
      deps()
        .prisma.taskLog.findMany({ where: { taskId, seq: { in: seqs } }, select: { seq: true } })
        .then((rows) => ({ seqs, stored: rows.map((row) => row.seq).sort((a, b) => a - b) })),
    );
  });
  return { entries, checks, subscription };
}

/** Every message went live only after all of its entries were stored. */
async function expectStoredBeforeLive(live: Live): Promise<void> {
  for (const { seqs, stored } of await Promise.all(live.checks)) expect(stored).toEqual(seqs);
}

async function storedLog(taskId: string) {
  return deps().prisma.taskLog.findMany({ where: { taskId }, orderBy: { seq: 'asc' } });
}

async function newTask(title: string): Promise<{ taskId: string; base: number }> {
  const taskId = await createTaskVia(instance, alice, { title, command: 'true' });
  return { taskId, base: await deps().prisma.taskLog.count({ where: { taskId } }) };
}

const line = (message: string) => ({ level: 'INFO' as const, kind: 'COMMAND_OUTPUT' as const, message });

describe('CommitThenPublishWriter', () => {
  it.each(range(1, 6))(
    'generated run %i: every line is stored once, densely, then published once, in order',
    async (seed) => {
      const next = seededInts(seed * 104_729);
      const { taskId, base } = await newTask(`Commit then publish ${seed}`);
      const live = await watch(taskId);
      const writer = writerOf(taskId);
      const total = 1 + next(400);
      for (let index = 1; index <= total; index += 1) {
        writer.log(line(`line ${index}`));
        // Sometimes let batches go out while lines keep coming, sometimes queue a burst.
        if (next(20) === 0) await new Promise((resolve) => setTimeout(resolve, next(15)));
      }
      await writer.close();
      expect(writer.written).toBe(total);
      expect(writer.pending).toBe(0);
      const stored = await storedLog(taskId);
      expect(stored.map((entry) => entry.seq)).toEqual(range(1, base + total));
      expect(stored.slice(base).map((entry) => entry.message)).toEqual(
        range(1, total).map((i) => `line ${i}`),
      );
      await waitFor(() => live.entries.length >= total, { message: 'every line went live' });
      expect(live.entries.map((entry) => entry.seq)).toEqual(range(base + 1, base + total));
      expect(live.entries.map((entry) => entry.message)).toEqual(range(1, total).map((i) => `line ${i}`));
      await expectStoredBeforeLive(live);
      await live.subscription.close();
    },
  );

  it('a write that fails publishes nothing and keeps what was stored; retried, its lines go live once stored', async () => {
    const { taskId, base } = await newTask('Failing commit');
    const live = await watch(taskId);
    const writer = writerOf(taskId);
    for (let index = 1; index <= 10; index += 1) writer.log(line(`before ${index}`));
    await writer.flush();
    await waitFor(() => live.entries.length >= 10, { message: 'the first lines went live' });
    // A row squatting on the next seq: the batch's INSERT conflicts and its whole transaction (the counter's
    // advance included) rolls back, every time, until the squatter goes.
    const squatter = base + 11;
    await deps().prisma.taskLog.create({
      data: { taskId, seq: squatter, level: 'INFO', kind: 'STEP', message: 'squatter' },
    });
    for (let index = 1; index <= 20; index += 1) writer.log(line(`after ${index}`));
    await new Promise((resolve) => setTimeout(resolve, 3 * RETRY_DELAY_MS));
    expect(writer.pending).toBe(20);
    expect(writer.written).toBe(10);
    expect(live.entries).toHaveLength(10);
    const during = await storedLog(taskId);
    expect(during.slice(base).map((entry) => entry.message)).toEqual([
      ...range(1, 10).map((i) => `before ${i}`),
      'squatter',
    ]);

    await deps().prisma.taskLog.delete({ where: { taskId_seq: { taskId, seq: squatter } } });
    await writer.close();
    expect(writer.written).toBe(30);
    const stored = await storedLog(taskId);
    expect(stored.map((entry) => entry.seq)).toEqual(range(1, base + 30));
    expect(stored.slice(base).map((entry) => entry.message)).toEqual([
      ...range(1, 10).map((i) => `before ${i}`),
      ...range(1, 20).map((i) => `after ${i}`),
    ]);
    await waitFor(() => live.entries.length >= 30, { message: 'the retried lines went live' });
    expect(live.entries.map((entry) => entry.seq)).toEqual(range(base + 1, base + 30));
    await expectStoredBeforeLive(live);
    await live.subscription.close();
  });

  it('closed while its write keeps failing, it gives the batch up: nothing of it published, nothing stored lost', async () => {
    const { taskId, base } = await newTask('Given up');
    const live = await watch(taskId);
    const writer = writerOf(taskId);
    for (let index = 1; index <= 5; index += 1) writer.log(line(`kept ${index}`));
    await writer.flush();
    await deps().prisma.taskLog.create({
      data: { taskId, seq: base + 6, level: 'INFO', kind: 'STEP', message: 'squatter' },
    });
    for (let index = 1; index <= 5; index += 1) writer.log(line(`dropped ${index}`));
    // Closing retries the batch RETRIES_WHEN_CLOSED times, then gives it up rather than hang.
    await writer.close();
    expect(writer.written).toBe(5);
    expect(writer.pending).toBe(0);
    writer.log(line('after close'));
    expect(writer.pending).toBe(0);
    const stored = await storedLog(taskId);
    expect(stored.slice(base).map((entry) => entry.message)).toEqual([
      ...range(1, 5).map((i) => `kept ${i}`),
      'squatter',
    ]);
    // Give a stray publish time to arrive before asserting there was none.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(live.entries.map((entry) => entry.message)).toEqual(range(1, 5).map((i) => `kept ${i}`));
    await expectStoredBeforeLive(live);
    await live.subscription.close();
  });

  // What a command may print: NUL, both halves of a surrogate pair alone, whole pairs, ANSI colour and cursor
  // escapes, C1 controls, ordinary text.
  const ALPHABET = [
    '\u0000',
    '\uD83D',
    '\uDE00',
    '\uD83D\uDE00',
    '\u001b[31m',
    '\u001b[0m',
    '\u001b[2K\r',
    '\u0085',
    'a',
    ' ',
    'é',
  ];
  const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  it('stores and publishes hostile lines as its redaction makes them: storable text, cut to the maximum (generated)', async () => {
    const next = seededInts(2_026);
    const { taskId, base } = await newTask('Hostile lines');
    const live = await watch(taskId);
    const writer = writerOf(taskId);
    const inputs: string[] = [];
    // A 1 MB line, then lines around the maximum length (where a cut may fall inside a pair), then short ones.
    let huge = '';
    while (huge.length < 1_048_576) huge += ALPHABET[next(ALPHABET.length)];
    inputs.push(huge);
    for (let round = 0; round < 150; round += 1) {
      let text = '';
      const length = round < 100 ? MAX_CHARS - 3 + next(8) : next(60);
      while (text.length < length) text += ALPHABET[next(ALPHABET.length)];
      inputs.push(text);
    }
    for (const input of inputs) writer.log(line(input));
    await writer.close();
    expect(writer.written).toBe(inputs.length);

    const stored = (await storedLog(taskId)).slice(base).map((entry) => entry.message);
    expect(stored).toHaveLength(inputs.length);
    await waitFor(() => live.entries.length >= inputs.length, { message: 'every hostile line went live' });
    expect(live.entries.map((entry) => entry.message)).toEqual(stored);
    for (const [index, input] of inputs.entries()) {
      const message = stored[index]!;
      expect(message.includes('\u0000'), `line ${index}: no NUL`).toBe(false);
      expect(LONE.test(message), `line ${index}: no lone surrogate`).toBe(false);
      const clean = storableText(input);
      if (clean.length <= MAX_CHARS) {
        // Short enough: kept whole, ANSI escapes included, only NUL and lone surrogates replaced.
        expect(message).toBe(clean);
      } else {
        const suffix = message.slice(message.lastIndexOf('…'));
        expect(suffix).toMatch(/^… \[\d+ characters cut\]$/);
        const kept = message.slice(0, message.lastIndexOf('…'));
        expect(clean.startsWith(kept), `line ${index}: a prefix of the line is kept`).toBe(true);
        expect(kept.length).toBeGreaterThanOrEqual(MAX_CHARS - 1);
        expect(kept.length).toBeLessThanOrEqual(MAX_CHARS);
        expect(suffix).toBe(`… [${clean.length - kept.length} characters cut]`);
      }
    }
    await expectStoredBeforeLive(live);
    await live.subscription.close();
  });

  it.each(range(1, 4))(
    'generated concurrency %i: writers and notes on one task get dense seqs, each writer its lines in its order',
    async (seed) => {
      const next = seededInts(seed * 7_919);
      const { taskId, base } = await newTask(`Concurrent ${seed}`);
      const live = await watch(taskId);
      const writers = Array.from({ length: 2 + next(3) }, () => writerOf(taskId));
      const counts = writers.map(() => 1 + next(150));
      const produce = async (writer: CommitThenPublishWriter, label: string, count: number) => {
        for (let index = 1; index <= count; index += 1) {
          writer.log(line(`${label} ${index}`));
          if (next(10) === 0) await new Promise((resolve) => setTimeout(resolve, next(10)));
        }
        await writer.close();
      };
      const notes = 1 + next(8);
      const noting = (async () => {
        for (let index = 1; index <= notes; index += 1) {
          await appendTaskLogs(deps(), taskId, null, [
            { ...line(`note ${index}`), executionId: null, createdAt: new Date() },
          ]);
          await new Promise((resolve) => setTimeout(resolve, next(10)));
        }
      })();
      await Promise.all([...writers.map((writer, w) => produce(writer, `w${w}`, counts[w]!)), noting]);
      const total = counts.reduce((sum, count) => sum + count, 0) + notes;

      const stored = (await storedLog(taskId)).slice(base);
      expect(stored.map((entry) => entry.seq)).toEqual(range(base + 1, base + total));
      for (const [w, count] of counts.entries()) {
        const own = stored.filter((entry) => entry.message.startsWith(`w${w} `));
        expect(own.map((entry) => entry.message)).toEqual(range(1, count).map((i) => `w${w} ${i}`));
      }
      // Notes (orchestration's own appends) are not published here; each writer line went live once, after its commit.
      const writerTotal = total - notes;
      await waitFor(() => live.entries.filter((entry) => /^w\d /.test(entry.message)).length >= writerTotal, {
        message: 'every writer line went live',
      });
      const published = live.entries.filter((entry) => /^w\d /.test(entry.message));
      expect(new Set(published.map((entry) => entry.seq)).size).toBe(writerTotal);
      for (const [w] of counts.entries()) {
        const own = published.filter((entry) => entry.message.startsWith(`w${w} `)).map((entry) => entry.seq);
        expect(own).toEqual([...own].sort((a, b) => a - b));
      }
      await expectStoredBeforeLive(live);
      await live.subscription.close();
    },
  );
});
