import { randomUUID } from 'node:crypto';
import { WorkflowRunCompleted } from '@cap/events';
import { dlqTopic, MemoryEventBus } from '@cap/messaging';
import { ANONYMOUS } from '@cap/runtime';
import { errorCodes, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeJob } from '@cap/testkit';
import { fakeRun, runCompletedEvent, sha, startCicdHarness, type CicdHarness } from './harness.js';

/**
 * Hostile and malformed input on every mutation, query argument and consumer of cicd, and logs that cannot be read:
 * each gets a clear, coded answer (or a coded parse error on the build), nothing crashes, nothing is lost.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const dev = userPrincipal('DEVELOPER');
const viewer = userPrincipal('VIEWER');

beforeAll(async () => {
  h = await startCicdHarness({ bus });
  await h.cicd.consumerReady;
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

const SET_POLICY = /* GraphQL */ `
  mutation ($input: SetFixPolicyInput!) {
    setFixPolicy(input: $input) {
      repository
      mode
      branches
    }
  }
`;

/** Generated hostile strings: huge, control characters, path tricks, injection, unicode lookalikes. */
function hostileStrings(): string[] {
  const out = [
    '',
    ' ',
    '/',
    'a/',
    '/b',
    'a/b/c',
    '../etc/passwd',
    "a/b'; DROP TABLE x;--",
    'a/b\u0000',
    'а/b',
  ];
  out.push(
    'a'.repeat(40) + '/x',
    `a/${'b'.repeat(101)}`,
    'x'.repeat(100_000),
    '\u202eowner/name',
    'owner/na me',
  );
  for (let i = 0; i < 30; i += 1)
    out.push(
      Array.from({ length: 1 + ((i * 7) % 60) }, (_, j) =>
        String.fromCharCode(((i + 1) * (j + 3) * 37) % 0x3000),
      ).join(''),
    );
  return out.filter((value) => !/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/.test(value));
}

describe('setFixPolicy and approveFix', () => {
  it('refuse anonymous and read-only callers', async () => {
    const input = { repository: 'acme/app', mode: 'AUTO' };
    expect(errorCodes(await h.call(SET_POLICY, { input }, ANONYMOUS))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await h.call(SET_POLICY, { input }, viewer))).toEqual(['FORBIDDEN']);
    const approve = `mutation ($id: ID!) { approveFix(id: $id) { id } }`;
    expect(errorCodes(await h.call(approve, { id: randomUUID() }, viewer))).toEqual(['FORBIDDEN']);
    expect(await h.cicd.deps.prisma.fixPolicy.count()).toBe(0);
  });

  it('refuse every malformed repository, branch list and cap with BAD_USER_INPUT', async () => {
    for (const repository of hostileStrings()) {
      const result = await h.call(SET_POLICY, { input: { repository, mode: 'AUTO' } }, dev);
      expect(errorCodes(result), JSON.stringify(repository.slice(0, 40))).toEqual(['BAD_USER_INPUT']);
      expect(JSON.stringify(result.errors).length).toBeLessThan(2_000);
    }
    const bad: Array<Record<string, unknown>> = [
      { branches: [] },
      { branches: Array.from({ length: 21 }, (_, i) => `b${i}`) },
      { branches: ['main', 'a..b'] },
      { branches: ['has space'] },
      { branches: ['x'.repeat(256)] },
      { branches: ['ctl\u0007'] },
      { maxAttemptsPerPullRequest: 0 },
      { maxAttemptsPerPullRequest: 21 },
      { maxAttemptsPerFingerprint: -1 },
    ];
    for (const patch of bad) {
      const result = await h.call(
        SET_POLICY,
        { input: { repository: 'acme/app', mode: 'AUTO', ...patch } },
        dev,
      );
      expect(errorCodes(result), JSON.stringify(patch).slice(0, 80)).toEqual(['BAD_USER_INPUT']);
    }
    expect(await h.cicd.deps.prisma.fixPolicy.count()).toBe(0);
  });

  it('approveFix: malformed ids are BAD_USER_INPUT, unknown ones NOT_FOUND', async () => {
    const approve = `mutation ($id: ID!) { approveFix(id: $id) { id } }`;
    for (const id of ['', 'x', "1' OR 1=1", 'z'.repeat(10_000)])
      expect(errorCodes(await h.call(approve, { id }, dev))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(approve, { id: randomUUID() }, dev))).toEqual(['NOT_FOUND']);
  });
});

describe('queries', () => {
  it('builds, build and fixPolicy refuse bad arguments and callers without repos:read', async () => {
    const builds = `query ($r: String!, $after: String, $first: Int, $branch: String) {
      builds(repository: $r, after: $after, first: $first, branch: $branch) { edges { node { id } } } }`;
    expect(errorCodes(await h.call(builds, { r: 'acme/app' }, ANONYMOUS))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await h.call(builds, { r: '../x' }, dev))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(builds, { r: 'acme/app', after: 'not-a-cursor' }, dev))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(errorCodes(await h.call(builds, { r: 'acme/app', first: 101 }, dev))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(builds, { r: 'acme/app', branch: 'b'.repeat(300) }, dev))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(errorCodes(await h.call(`{ build(id: "nope") { id } }`, {}, dev))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await h.call(`{ fixPolicy(repository: "a b") { mode } }`, {}, dev))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect((await h.call(`{ fixPolicy(repository: "acme/none") { mode } }`, {}, dev)).data).toEqual({
      fixPolicy: null,
    });
  });
});

describe('the consumer and the log processor', () => {
  it('sends invalid events to the dead-letter topic and keeps consuming', async () => {
    const valid = fakeRun({ branch: 'main', sha: sha(), conclusion: 'success' });
    const event = (runId: number, patch: Record<string, unknown>) => {
      const envelope = runCompletedEvent(
        { ...valid, id: Math.max(1, runId) },
        { id: null, owner: 'acme', name: 'hostile' },
      );
      // Past the factory's validation: the bytes a hostile or buggy producer could publish.
      return { ...envelope, payload: { ...envelope.payload, ...patch } } as typeof envelope;
    };
    const poison = [
      event(1, { headBranch: 'x'.repeat(10_000) }),
      event(2, { runId: -5 }),
      event(4, { taskIds: ['not-a-uuid'] }),
    ];
    // Valid for the contract, hostile for a browser: stored with GitHub's address of the run instead.
    const scripted = event(3, { htmlUrl: 'javascript:alert(1)' });
    await h.publish(...poison, scripted);
    await h.publish(event(valid.id, {}));
    await waitFor(
      async () =>
        (await h.cicd.deps.prisma.build.findFirst({ where: { runId: BigInt(valid.id) } })) ?? undefined,
      {
        message: 'the valid event after the poison',
      },
    );
    const dead = await waitFor(
      async () => {
        const records = bus.records(dlqTopic(WorkflowRunCompleted.topic));
        return records.length >= poison.length ? records : undefined;
      },
      { message: 'the poison in the DLQ' },
    );
    expect(dead.length).toBeGreaterThanOrEqual(poison.length);
    const stored = await waitFor(
      async () => (await h.cicd.deps.prisma.build.findFirst({ where: { runId: 3n } })) ?? undefined,
      {
        message: 'the scripted-URL run',
      },
    );
    expect(stored.htmlUrl).toBe('https://github.com/acme/hostile/actions/runs/3');
    expect(await h.cicd.deps.prisma.build.count({ where: { repository: 'acme/hostile' } })).toBe(2);
  });

  it('records a coded parse error for binary, oversized and unreachable logs, and nothing crashes', async () => {
    const cases: Array<{ log: FakeJob['log']; code: string }> = [
      {
        log: Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe]), Buffer.alloc(20_000, 0)]),
        code: 'CI_LOG_NOT_TEXT',
      },
      { log: { bytes: 200 * 1024 * 1024 }, code: 'CI_LOG_TOO_LARGE' },
      {
        log: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00]),
        code: 'CI_LOG_NOT_TEXT',
      },
    ];
    for (const { log, code } of cases) {
      const run = fakeRun({ branch: 'main', sha: sha(), log });
      h.actions.addRun('acme/logs', run);
      const recorded = await import('../src/domain/builds.js').then(({ recordRun }) =>
        recordRun(h.cicd.deps, { ...factsOf(run), repository: 'acme/logs' }, 'WEBHOOK'),
      );
      expect(recorded.newlyFailed).toBe(true);
      await h.cicd.logs.process(recorded.build);
      const build = await h.cicd.deps.prisma.build.findUniqueOrThrow({ where: { id: recorded.build.id } });
      expect({ state: build.logState, code: build.parseErrorCode }).toEqual({ state: 'FAILED', code });
    }
    // A run GitHub does not know: its jobs cannot be listed.
    const ghost = fakeRun({ branch: 'main', sha: sha() });
    const { recordRun } = await import('../src/domain/builds.js');
    const recorded = await recordRun(h.cicd.deps, { ...factsOf(ghost), repository: 'acme/ghost' }, 'WEBHOOK');
    await h.cicd.logs.process(recorded.build);
    const build = await h.cicd.deps.prisma.build.findUniqueOrThrow({ where: { id: recorded.build.id } });
    expect(build.parseErrorCode).toBe('GITHUB_UNAVAILABLE');
  }, 60_000);
});

function factsOf(run: ReturnType<typeof fakeRun>) {
  return {
    repository: '',
    runId: run.id,
    runAttempt: 1,
    workflowName: run.name,
    event: run.event,
    headBranch: run.headBranch,
    headSha: run.headSha,
    status: 'completed',
    conclusion: 'FAILURE',
    htmlUrl: 'https://github.example/run',
    pullRequests: [],
    taskIds: [],
    startedAt: new Date(run.startedAt),
    updatedAt: new Date(run.updatedAt),
  };
}
