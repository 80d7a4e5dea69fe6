import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { FakeGithub, FakeRequest, FakeResponse } from './fakeGithubServer.js';
import { pullsOf, repositoriesOf, type FakePull, type FakeRepository } from './repositoryRoutes.js';

/** A review the fake holds, with its line comments. */
export interface FakeReview {
  id: number;
  pullNumber: number;
  commitId: string;
  body: string;
  event: string;
  comments: Array<{ path: string; line: number; side: string; body: string }>;
}

const NOT_FOUND: FakeResponse = { status: 404, body: { message: 'Not Found', documentation_url: '' } };

export function reviewsOf(fake: FakeGithub, repo: FakeRepository): FakeReview[] {
  const key = `reviews:${repo.id}`;
  let reviews = fake.state.get(key) as FakeReview[] | undefined;
  if (!reviews) fake.state.set(key, (reviews = []));
  return reviews;
}

function git(fake: FakeGithub, repo: FakeRepository, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: join(fake.gitRoot, repo.owner, `${repo.name}.git`),
    encoding: 'utf8',
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  });
}

/** The pull request's files with their patches, as `git diff base...head` has them (GitHub's three-dot diff). */
export function pullFiles(
  fake: FakeGithub,
  repo: FakeRepository,
  pull: FakePull,
): Array<{ filename: string; status: string; additions: number; deletions: number; patch: string }> {
  const range = `refs/heads/${pull.base}...refs/heads/${pull.head}`;
  const names = git(fake, repo, 'diff', '--name-status', range).split('\n').filter(Boolean);
  return names.map((line) => {
    const [code = 'M', filename = ''] = line.split('\t');
    const full = git(fake, repo, 'diff', '--unified=3', range, '--', filename);
    const patch = full.slice(Math.max(0, full.indexOf('@@')));
    const body = patch.split('\n');
    return {
      filename,
      status: code.startsWith('A') ? 'added' : code.startsWith('D') ? 'removed' : 'modified',
      additions: body.filter((l) => l.startsWith('+')).length,
      deletions: body.filter((l) => l.startsWith('-')).length,
      patch,
    };
  });
}

/**
 * Lines of the new version a comment may sit on: added and context lines of the patch's hunks. The github
 * subgraph computes the same set to choose which notes become line comments; this copy is deliberately its own,
 * so the fake's 422 stays an independent check of that choice (CONVENTIONS §13), not the code under test agreeing
 * with itself.
 */
function commentableLines(patch: string): Set<number> {
  const lines = new Set<number>();
  let line = 0;
  for (const text of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (text.startsWith('-') || text.startsWith('\\')) continue;
    if (text.startsWith('+') || text.startsWith(' ')) lines.add(line++);
  }
  return lines;
}

/**
 * The pull-request review routes: the files of a pull request (patches from the bare repository), its reviews,
 * and submitting one with line comments, refused with 422 (as GitHub does) when a comment's line is not part of
 * the diff. Checked against GitHub's OpenAPI description like every route of the fake.
 */
export function installPullRequestReviewRoutes(fake: FakeGithub): FakeGithub {
  const withPull =
    (handler: (repo: FakeRepository, pull: FakePull, request: FakeRequest) => FakeResponse) =>
    (request: FakeRequest) => {
      const repo = repositoriesOf(fake).get(
        `${request.params['owner']}/${request.params['repo']}`.toLowerCase(),
      );
      const seen =
        repo &&
        request.caller.kind === 'token' &&
        (request.caller.grant.kind !== 'installation' ||
          request.caller.grant.installationId === repo.installationId);
      const pull = seen
        ? pullsOf(fake, repo).find((p) => p.number === Number(request.params['pull_number']))
        : undefined;
      return repo && pull ? handler(repo, pull, request) : NOT_FOUND;
    };
  const reviewFacts = (repo: FakeRepository, review: FakeReview) => ({
    id: review.id,
    node_id: `PRR_${review.id}`,
    user: null,
    body: review.body,
    state: 'COMMENTED',
    commit_id: review.commitId,
    html_url: `${fake.url}/${repo.owner}/${repo.name}/pull/${review.pullNumber}#pullrequestreview-${review.id}`,
    pull_request_url: `${fake.apiUrl}/repos/${repo.owner}/${repo.name}/pulls/${review.pullNumber}`,
    author_association: 'NONE',
    _links: {
      html: { href: `${fake.url}/${repo.owner}/${repo.name}/pull/${review.pullNumber}` },
      pull_request: { href: `${fake.apiUrl}/repos/${repo.owner}/${repo.name}/pulls/${review.pullNumber}` },
    },
  });
  return fake
    .route(
      'GET',
      '/repos/{owner}/{repo}/pulls/{pull_number}/files',
      withPull((repo, pull) => ({
        status: 200,
        body: fake.sample(
          'GET /repos/{owner}/{repo}/pulls/{pull_number}/files',
          200,
          pullFiles(fake, repo, pull).map((file, i) => ({
            sha: String(i).padStart(40, '0'),
            filename: file.filename,
            status: file.status,
            additions: file.additions,
            deletions: file.deletions,
            changes: file.additions + file.deletions,
            blob_url: `${fake.url}/${repo.owner}/${repo.name}/blob/${pull.head}/${file.filename}`,
            raw_url: `${fake.url}/${repo.owner}/${repo.name}/raw/${pull.head}/${file.filename}`,
            contents_url: `${fake.apiUrl}/repos/${repo.owner}/${repo.name}/contents/${file.filename}`,
            patch: file.patch,
          })),
        ),
      })),
    )
    .route(
      'GET',
      '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
      withPull((repo, pull) => ({
        status: 200,
        body: fake.sample(
          'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews',
          200,
          reviewsOf(fake, repo)
            .filter((review) => review.pullNumber === pull.number)
            .map((review) => reviewFacts(repo, review)),
        ),
      })),
    )
    .route(
      'POST',
      '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
      withPull((repo, pull, request) => {
        const input = request.body as {
          commit_id?: string;
          body?: string;
          event?: string;
          comments?: Array<{ path: string; line?: number; side?: string; body: string }>;
        };
        const files = new Map(
          pullFiles(fake, repo, pull).map((f) => [f.filename, commentableLines(f.patch)]),
        );
        for (const comment of input.comments ?? []) {
          if (!comment.line || !files.get(comment.path)?.has(comment.line))
            return {
              status: 422,
              body: {
                message: 'Unprocessable Entity',
                errors: ['Line could not be resolved'],
                documentation_url: '',
              },
            };
        }
        const reviews = reviewsOf(fake, repo);
        const review: FakeReview = {
          id: 7000 + reviews.length,
          pullNumber: pull.number,
          commitId: input.commit_id ?? fake.branchesOf(repo.owner, repo.name).get(pull.head) ?? '',
          body: input.body ?? '',
          event: input.event ?? 'PENDING',
          comments: (input.comments ?? []).map((c) => ({
            path: c.path,
            line: c.line ?? 0,
            side: c.side ?? 'RIGHT',
            body: c.body,
          })),
        };
        reviews.push(review);
        return {
          status: 200,
          body: fake.sample(
            'POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews',
            200,
            reviewFacts(repo, review),
          ),
        };
      }),
    );
}
