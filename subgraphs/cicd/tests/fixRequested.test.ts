import { FixRequested } from '@cap/events';
import { dlqTopic, MemoryEventBus } from '@cap/messaging';
import { userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixRequestedEvent, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * Orchestration's FixRequested consumer with hostile input: invalid requests are dead-lettered (no task), a
 * redelivered request creates one task, and oversized, markup-laden failures give a bounded description.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const alice = userPrincipal('DEVELOPER');

beforeAll(async () => {
  h = await startCicdHarness({ bus, orchestration: true });
  await h.orchestration!.fixRequestConsumerReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

const request = (patch: Parameters<typeof fixRequestedEvent>[1] = {}) =>
  fixRequestedEvent({ repository: 'acme/app', branch: 'feature/x', requestedBy: alice.userId }, patch);

const tasks = () => h.orchestration!.deps.prisma.codingTask.findMany({ where: { creatorId: alice.userId } });

describe('FixRequested in orchestration', () => {
  it('dead-letters requests without an accountable user or with malformed failures, and creates no task', async () => {
    const poison = [
      request({ requestedBy: 'nobody' as never }),
      request({ failures: [] }),
      request({ branch: 'b'.repeat(1_000) }),
      request({ runUrl: 'not a url' }),
      // Valid for the contract, refused by git: dead-lettered at once, no task on a branch git could misread.
      request({ branch: '--upload-pack=touch /tmp/x' }),
      request({ branch: 'main..evil' }),
      request({ branch: 'a b' }),
    ];
    await h.publish(...poison);
    const deadIds = () =>
      bus
        .records(dlqTopic(FixRequested.topic))
        .map((record) => (JSON.parse(record.value) as { id: string }).id);
    await waitFor(() => poison.every((event) => deadIds().includes(event.id)) || undefined, {
      message: 'the poison dead-lettered',
    });
    // Each once (orchestration's group; cicd's, which reads the topic too, leaves FixRequested to it).
    expect(deadIds().sort()).toEqual(poison.map((event) => event.id).sort());
    expect(await tasks()).toHaveLength(0);
  });

  it('creates one task for a redelivered request, with a bounded description of hostile failures', async () => {
    const hostile = Array.from({ length: 20 }, (_, i) => ({
      tool: 'generic',
      file: `src/${i}.ts`,
      line: i + 1,
      testName: null,
      message: `m${i} \`\`\`\n# heading\n<script>alert(1)</script>`.padEnd(4_000, 'x'),
      excerpt: '```\n$(rm -rf /)\n'.padEnd(8_000, 'y'),
      fingerprint: `${i}`.padStart(32, '0'),
      job: 'build',
    }));
    const envelope = request({ failures: hostile });
    await h.publish(envelope, envelope);
    const [task] = await waitFor(async () => {
      const found = await tasks();
      return found.length > 0 ? found : undefined;
    });
    // A marker request after the duplicates, on the same key (same partition, in order): once it is in, both
    // copies were consumed.
    const marker = { ...request(), aggregateId: envelope.aggregateId };
    await h.publish(marker);
    await waitFor(async () => ((await tasks()).length >= 2 ? true : undefined));
    expect(await tasks()).toHaveLength(2);
    expect(task!.description.length).toBeLessThanOrEqual(20_000);
    expect(task!.description).toContain('feature/x');
    expect(task!.title.length).toBeLessThanOrEqual(200);
    expect(task!.strategyOverride).toBeNull();
    expect(task!.repository).not.toBeNull();
    // The fix starts from (and its pull request targets) the failing branch.
    expect(task!.baseBranch).toBe('feature/x');
  });
});
