import { randomUUID } from 'node:crypto';
import { FixRequested, FixSuperseded, FixTaskCreated } from '@cap/events';
import { DlqHeader, dlqTopic, MemoryEventBus, toBusRecord, type BusRecord } from '@cap/messaging';
import { userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CICD_CONSUMER_GROUP } from '../src/consumers/cicdConsumer.js';
import { fixRequestedEvent, sha, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * `cicd.fix` is read by two groups: cicd's consumer (FixTaskCreated) and orchestration's fix consumer
 * (FixRequested, FixSuperseded). A malformed record used to be dead-lettered by both, so `cicd.fix.dlq` held it
 * twice (a redrive would have replayed it twice). Now each lands there exactly once, from the group that would
 * have handled it (cicd for what no contract can read), and the good records after it are still processed.
 */
const bus = new MemoryEventBus();
const alice = userPrincipal('DEVELOPER');
let h: CicdHarness;
const ORCHESTRATION_GROUP = 'orchestration.fix-requests';

beforeAll(async () => {
  h = await startCicdHarness({ bus, orchestration: true });
  await Promise.all([h.cicd.consumerReady, h.orchestration!.fixRequestConsumerReady]);
}, 120_000);
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

const KEY = randomUUID();

const fixRequested = (patch: Parameters<typeof fixRequestedEvent>[1] = {}) =>
  fixRequestedEvent({ repository: 'acme/dlq', branch: 'main', requestedBy: alice.userId, key: KEY }, patch);

/** As a producer's outbox would publish it, on one key (one partition: in order). */
const record = (envelope: Parameters<typeof toBusRecord>[0]): BusRecord => ({
  ...toBusRecord(envelope),
  key: KEY,
});

describe('a malformed record on cicd.fix', () => {
  it('is dead-lettered exactly once, by the group that would handle it, and the next good record is processed', async () => {
    const badRequest = fixRequested({ requestedBy: 'nobody' });
    const goodCreated = FixTaskCreated.create(
      { fixId: randomUUID(), taskId: randomUUID(), creatorId: alice.userId },
      { source: 'orchestration', aggregateId: KEY },
    );
    const badCreated = { ...goodCreated, id: randomUUID(), payload: { ...goodCreated.payload, taskId: 'x' } };
    const superseded = FixSuperseded.create(
      {
        fixId: randomUUID(),
        taskId: randomUUID(),
        repository: 'acme/dlq',
        branch: 'main',
        headSha: sha(),
        supersededBy: sha(),
      },
      { source: 'cicd', aggregateId: KEY },
    );
    const badSuperseded = { ...superseded, id: randomUUID(), payload: { ...superseded.payload, fixId: 42 } };
    const unknownType = { ...superseded, id: randomUUID(), type: 'FixTeleported' };
    const poison: BusRecord[] = [
      { topic: FixRequested.topic, key: KEY, value: '{"not": json', headers: {} },
      record(badRequest),
      record(badCreated as unknown as typeof goodCreated),
      record(badSuperseded as unknown as typeof superseded),
      { ...record(superseded), value: JSON.stringify(unknownType) },
    ];
    const good = fixRequested();
    await bus.publish([...poison, record(good), record(goodCreated)]);

    // The good records after the poison: orchestration created the task, cicd consumed FixTaskCreated.
    await waitFor(
      async () =>
        (await h.orchestration!.deps.prisma.codingTask.findUnique({
          where: { fixId: good.payload.fixId },
        })) ?? undefined,
      { timeoutMs: 30_000, message: 'the good FixRequested processed' },
    );
    await waitFor(
      async () =>
        (await h.cicd.deps.prisma.processedEvent.findUnique({
          where: { consumerGroup_eventId: { consumerGroup: CICD_CONSUMER_GROUP, eventId: goodCreated.id } },
        })) ?? undefined,
      { timeoutMs: 30_000, message: 'the good FixTaskCreated processed' },
    );
    // Both groups are past the poison (one partition, in order): the dead letters are all there.
    const dead = bus.records(dlqTopic(FixRequested.topic));
    const summary = dead.map((entry) => ({
      value: entry.value,
      group: entry.headers[DlqHeader.CONSUMER_GROUP],
    }));
    expect(summary).toHaveLength(poison.length);
    expect(summary).toEqual(
      expect.arrayContaining([
        { value: poison[0]!.value, group: CICD_CONSUMER_GROUP },
        { value: poison[1]!.value, group: ORCHESTRATION_GROUP },
        { value: poison[2]!.value, group: CICD_CONSUMER_GROUP },
        { value: poison[3]!.value, group: ORCHESTRATION_GROUP },
        { value: poison[4]!.value, group: CICD_CONSUMER_GROUP },
      ]),
    );
    // Nothing of the good records, and no task for the malformed request.
    expect(dead.some((entry) => entry.value.includes(good.id) || entry.value.includes(goodCreated.id))).toBe(
      false,
    );
    expect(
      await h.orchestration!.deps.prisma.codingTask.count({ where: { fixId: badRequest.payload.fixId } }),
    ).toBe(0);
  });
});
