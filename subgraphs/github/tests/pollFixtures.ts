import { randomUUID } from 'node:crypto';
import { addFakeRepository, addOpenPull, pullsOf, repositoriesOf, type FakePull } from '@cap/testkit';
import type { PullRequest } from '../src/generated/prisma/client.js';
import type { GithubHarness } from './harness.js';

/** The pull-request route the poller reads (as the fake records calls). */
export const GET_PULL = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';

/** A repository on the fake GitHub (App installation 77), connected, with `count` open task pull requests. */
export async function seedOpenPulls(
  h: GithubHarness,
  name: string,
  count: number,
): Promise<{ pulls: PullRequest[]; fake: FakePull[] }> {
  const fakeRepo = addFakeRepository(h.fake, { owner: 'acme', name, installationId: 77 });
  const fakePulls = pullsOf(h.fake, fakeRepo);
  const { prisma } = h.github.deps;
  const repository = await prisma.repository.create({
    data: {
      githubId: BigInt(fakeRepo.id),
      owner: 'acme',
      name,
      fullNameKey: `acme/${name}`,
      defaultBranch: 'main',
      visibility: 'PRIVATE',
      access: 'APP',
      htmlUrl: `${h.fake.url}/acme/${name}`,
      cloneUrl: `${h.fake.url}/acme/${name}.git`,
    },
  });
  const pulls: PullRequest[] = [];
  for (let number = 1; number <= count; number++) {
    addOpenPull(h.fake, fakeRepo, {
      id: 7000 + repositoriesOf(h.fake).size * 100 + number,
      number,
      title: `Task ${number}`,
    });
    pulls.push(
      await prisma.pullRequest.create({
        data: {
          repositoryId: repository.id,
          number,
          taskId: randomUUID(),
          title: `Task ${number}`,
          url: `${h.fake.url}/acme/${name}/pull/${number}`,
          state: 'OPEN',
          draft: false,
          headBranch: 'main',
          baseBranch: 'main',
          // As the task path stores them: announced (PullRequestOpened recorded) with the row.
          openedRecordedAt: new Date(),
        },
      }),
    );
  }
  return { pulls, fake: fakePulls };
}

/** Merges a pull request on the fake GitHub only: no webhook delivery tells the platform. */
export function mergeSilently(pull: FakePull): void {
  pull.state = 'closed';
  pull.merged = true;
}

/** Makes these pull requests' next poll due now. */
export async function makeDue(h: GithubHarness, pulls: readonly PullRequest[]): Promise<void> {
  await h.github.deps.prisma.$executeRaw`
    UPDATE "github"."pull_requests" SET next_poll_at = now() WHERE id = ANY(${pulls.map((p) => p.id)}::uuid[])`;
}

/** How often the fake answered the pull-request route for `repo`, by status. */
export function pullReads(
  h: GithubHarness,
  repo: string,
): { ok: number; notModified: number; failed: number } {
  const calls = h.fake.calls.filter((c) => c.route === GET_PULL && c.params['repo'] === repo);
  return {
    ok: calls.filter((c) => c.status === 200).length,
    notModified: calls.filter((c) => c.status === 304).length,
    failed: calls.filter((c) => c.status >= 500).length,
  };
}

/** Outbox events of `type` about pull request `id`. */
export async function eventsOf(h: GithubHarness, type: string, id: string): Promise<number> {
  return (await h.outbox(type)).filter((e) => e.payload['pullRequestId'] === id).length;
}
