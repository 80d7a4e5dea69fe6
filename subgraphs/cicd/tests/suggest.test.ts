import { FixRequested } from '@cap/events';
import { MemoryEventBus } from '@cap/messaging';
import { errorCodes, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun, noteBranchHead } from '../src/domain/builds.js';
import { factsOfApiRun } from '../src/domain/runFacts.js';
import { fakeRun, sha, startCicdHarness, type CicdHarness } from './harness.js';

/** SUGGEST: a fix waits for a person's go (`approveFix`), once; a newer commit supersedes a waiting suggestion. */
let h: CicdHarness;
const bus = new MemoryEventBus();
const owner = userPrincipal('DEVELOPER');
const approver = userPrincipal('DEVELOPER');
const REPOSITORY = 'acme/suggest';

beforeAll(async () => {
  h = await startCicdHarness({ bus });
  const policy = await h.call(
    `mutation { setFixPolicy(input: { repository: "acme/suggest", mode: SUGGEST }) { mode } }`,
    {},
    owner,
  );
  expect(policy.errors).toBeUndefined();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

async function failedBuild(branch: string) {
  const run = fakeRun({ branch, sha: sha() });
  h.actions.addRun(REPOSITORY, run);
  const api = h.actions.runPayload(REPOSITORY, run) as never;
  const recorded = await recordRun(h.cicd.deps, factsOfApiRun(REPOSITORY, api), 'POLL');
  await h.cicd.logs.process(recorded.build);
  return h.cicd.deps.prisma.fixAttempt.findUniqueOrThrow({ where: { buildId: recorded.build.id } });
}

describe('SUGGEST', () => {
  it('waits for approveFix, then requests the fix on the approver’s behalf, once', async () => {
    const suggested = await failedBuild('main');
    expect(suggested.status).toBe('SUGGESTED');
    const approve = `mutation ($id: ID!) { approveFix(id: $id) { status } }`;
    const approved = await h.call(approve, { id: suggested.id }, approver);
    expect(approved.data).toEqual({ approveFix: { status: 'REQUESTED' } });
    expect(errorCodes(await h.call(approve, { id: suggested.id }, approver))).toEqual(['CONFLICT']);
    const requests = await waitFor(() => {
      const found = bus
        .records(FixRequested.topic)
        .map(
          (record) =>
            JSON.parse(record.value) as { type: string; payload: { fixId: string; requestedBy: string } },
        )
        .filter((event) => event.type === 'FixRequested' && event.payload.fixId === suggested.id);
      return found.length > 0 ? found : undefined;
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.payload.requestedBy).toBe(approver.userId);
  });

  it('supersedes a waiting suggestion when a newer commit reaches the branch', async () => {
    const suggested = await failedBuild('develop');
    expect(suggested.status).toBe('SUGGESTED');
    await h.cicd.deps.prisma.$transaction((tx) =>
      noteBranchHead(h.cicd.deps, tx, REPOSITORY, 'develop', sha(), new Date()),
    );
    const after = await h.cicd.deps.prisma.fixAttempt.findUniqueOrThrow({ where: { id: suggested.id } });
    expect(after.status).toBe('SUPERSEDED');
    const approve = `mutation ($id: ID!) { approveFix(id: $id) { status } }`;
    expect(errorCodes(await h.call(approve, { id: suggested.id }, approver))).toEqual(['CONFLICT']);
  });
});
