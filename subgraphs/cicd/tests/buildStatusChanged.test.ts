import { MemoryEventBus } from '@cap/messaging';
import { collectSubscription, userPrincipal, waitFor } from '@cap/testkit';
import type { Principal } from '@cap/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../src/domain/builds.js';
import { factsOfApiRun } from '../src/domain/runFacts.js';
import { fakeRun, sha, startCicdHarness, type CicdHarness } from './harness.js';
import type { FakeRun } from '@cap/testkit';

/**
 * `buildStatusChanged`: a live feed of a repository's builds (optionally one branch), published after the
 * recordRun commit and after the logs are parsed; guarded by `repos:read`; hostile arguments refused with codes.
 */
let h: CicdHarness;
const bus = new MemoryEventBus();
const reader = userPrincipal('VIEWER');
const REPOSITORY = 'acme/live-builds';

beforeAll(async () => {
  h = await startCicdHarness({ bus });
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await bus.close();
});

const BUILD_STATUS_CHANGED = /* GraphQL */ `
  subscription ($repository: String!, $branch: String) {
    buildStatusChanged(repository: $repository, branch: $branch) {
      id
      repository
      runId
      headBranch
      status
      conclusion
      logState
      failures {
        tool
      }
    }
  }
`;

type Event = {
  id: string;
  runId: string;
  headBranch: string;
  status: string;
  conclusion: string | null;
  logState: string;
  failures: Array<{ tool: string }>;
};

async function report(repository: string, run: FakeRun) {
  h.actions.addRun(repository, run);
  const api = h.actions.runPayload(repository, run) as never;
  return recordRun(h.cicd.deps, factsOfApiRun(repository, api), 'POLL');
}

describe('buildStatusChanged', () => {
  it("streams a branch's builds as they run, complete and get their logs parsed, and nothing else", async () => {
    const mainFeed = collectSubscription<Event>(
      h.wsClient(reader),
      BUILD_STATUS_CHANGED,
      { repository: 'Acme/Live-Builds', branch: 'main' },
      'buildStatusChanged',
    );
    const allFeed = collectSubscription<Event>(
      h.wsClient(reader),
      BUILD_STATUS_CHANGED,
      { repository: REPOSITORY },
      'buildStatusChanged',
    );
    // The subscriptions are active once a change reaches them: report marker builds until one reached both.
    await waitFor(
      async () => {
        const marker = fakeRun({ branch: 'main', sha: sha(), conclusion: 'success' });
        await report(REPOSITORY, marker);
        const seen = (feed: typeof mainFeed) => feed.events.some((e) => e.runId === String(marker.id));
        return (await waitFor(() => seen(mainFeed) && seen(allFeed), { timeoutMs: 1_000 }).catch(() => false))
          ? true
          : undefined;
      },
      { message: 'the subscriptions active' },
    );
    const running = {
      ...fakeRun({ branch: 'main', sha: sha() }),
      status: 'in_progress' as const,
      conclusion: null,
    };
    await report(REPOSITORY, running);
    await report('acme/someone-else', fakeRun({ branch: 'main', sha: sha() }));
    const other = fakeRun({ branch: 'feature/x', sha: sha(), conclusion: 'success' });
    await report(REPOSITORY, other);
    const done = await report(REPOSITORY, { ...running, status: 'completed', conclusion: 'failure' });
    // A second report of the same state changes nothing and sends nothing.
    await report(REPOSITORY, { ...running, status: 'completed', conclusion: 'failure' });
    await h.cicd.logs.process(done.build);

    const events = await mainFeed.until((all) =>
      all.some((e) => e.runId === String(running.id) && e.logState === 'PARSED'),
    );
    const ofRun = events.filter((e) => e.runId === String(running.id));
    expect(ofRun.map((e) => [e.status, e.conclusion, e.logState])).toEqual([
      ['in_progress', null, 'NOT_NEEDED'],
      ['completed', 'FAILURE', 'PENDING'],
      ['completed', 'FAILURE', 'PARSED'],
    ]);
    expect(ofRun.at(-1)!.failures).toEqual([{ tool: 'tsc' }]);
    expect(events.every((e) => e.headBranch === 'main')).toBe(true);
    const everything = await allFeed.until((all) => all.some((e) => e.runId === String(other.id)));
    expect(everything.every((e) => e.id && e.runId)).toBe(true);
    expect(mainFeed.errors).toEqual([]);
    mainFeed.stop();
    allFeed.stop();
  });

  it('refuses callers without repos:read and hostile arguments with codes', async () => {
    const anonymous: Principal = { kind: 'anonymous' };
    const noScope: Principal = { ...userPrincipal('VIEWER'), scopes: ['graph:read'] };
    const expectCodes = async (principal: Principal, variables: Record<string, unknown>, code: string) => {
      const feed = collectSubscription(
        h.wsClient(principal),
        BUILD_STATUS_CHANGED,
        variables,
        'buildStatusChanged',
      );
      expect(await feed.failure(), JSON.stringify(variables).slice(0, 100)).toContain(code);
    };
    await expectCodes(anonymous, { repository: REPOSITORY }, 'UNAUTHENTICATED');
    await expectCodes(noScope, { repository: REPOSITORY }, 'FORBIDDEN');
    const hostile: Array<Record<string, unknown>> = [
      { repository: '../../etc/passwd' },
      { repository: 'acme' },
      { repository: `acme/${'x'.repeat(10_000)}` },
      { repository: "acme/app'; DROP TABLE cicd.builds; --" },
      { repository: REPOSITORY, branch: '' },
      { repository: REPOSITORY, branch: 'a..b' },
      { repository: REPOSITORY, branch: 'feature/*' },
      { repository: REPOSITORY, branch: 'main\u0000evil' },
      { repository: REPOSITORY, branch: 'b'.repeat(256) },
    ];
    for (const variables of hostile) await expectCodes(reader, variables, 'BAD_USER_INPUT');
    // The subgraph keeps serving.
    const ok = await h.call(`{ fixPolicy(repository: "acme/live-builds") { mode } }`, {}, reader);
    expect(ok.errors).toBeUndefined();
  });
});
