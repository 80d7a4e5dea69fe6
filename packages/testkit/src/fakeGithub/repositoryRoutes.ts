import { createHash } from 'node:crypto';
import type { FakeGithub, FakeCaller, FakeRequest, FakeResponse } from './fakeGithubServer.js';
import { sampleWebhookPayload } from './openApiContract.js';
import { rateLimitHeaders } from './rateLimit.js';

/** A repository the fake holds. */
export interface FakeRepository {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  /** The App installation covering it, if any. */
  installationId: number | null;
}

/** A pull request the fake holds. */
export interface FakePull {
  id: number;
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
}

const NOT_FOUND: FakeResponse = { status: 404, body: { message: 'Not Found', documentation_url: '' } };

export function repositoriesOf(fake: FakeGithub): Map<string, FakeRepository> {
  let repos = fake.state.get('repositories') as Map<string, FakeRepository> | undefined;
  if (!repos) fake.state.set('repositories', (repos = new Map()));
  return repos;
}

export function pullsOf(fake: FakeGithub, repo: FakeRepository): FakePull[] {
  const key = `pulls:${repo.id}`;
  let pulls = fake.state.get(key) as FakePull[] | undefined;
  if (!pulls) fake.state.set(key, (pulls = []));
  return pulls;
}

/** Adds an open pull request of `main` into `main` (as a test seeds a task's) to `repo` on the fake; returns it. */
export function addOpenPull(
  fake: FakeGithub,
  repo: FakeRepository,
  pull: Pick<FakePull, 'id' | 'number' | 'title'>,
): FakePull {
  const added: FakePull = {
    ...pull,
    body: null,
    head: 'main',
    base: 'main',
    draft: false,
    state: 'open',
    merged: false,
  };
  pullsOf(fake, repo).push(added);
  return added;
}

/** Adds a repository (and its bare git repository with one commit on `main`). */
export function addFakeRepository(
  fake: FakeGithub,
  input: { owner: string; name: string; private?: boolean; installationId?: number | null },
): FakeRepository {
  const repos = repositoriesOf(fake);
  const repo: FakeRepository = {
    id: 1000 + repos.size,
    owner: input.owner,
    name: input.name,
    private: input.private ?? true,
    defaultBranch: 'main',
    installationId: input.installationId ?? null,
  };
  fake.createBareRepository(repo.owner, repo.name);
  repos.set(`${repo.owner}/${repo.name}`.toLowerCase(), repo);
  return repo;
}

/** Whether `caller` may see `repo`: a PAT or OAuth token sees all; an installation token its scope. */
function canSee(caller: FakeCaller, repo: FakeRepository): boolean {
  if (caller.kind !== 'token') return false;
  const { grant } = caller;
  if (grant.kind !== 'installation') return true;
  if (grant.installationId !== repo.installationId) return false;
  return !grant.repositories || grant.repositories.includes(repo.name.toLowerCase());
}

function find(fake: FakeGithub, request: FakeRequest): FakeRepository | null {
  const repo = repositoriesOf(fake).get(`${request.params['owner']}/${request.params['repo']}`.toLowerCase());
  return repo && canSee(request.caller, repo) ? repo : null;
}

function user(fake: FakeGithub, login: string): Record<string, unknown> {
  return {
    login,
    id: 1,
    node_id: 'U_1',
    type: 'User',
    site_admin: false,
    html_url: `${fake.url}/${login}`,
    url: `${fake.apiUrl}/users/${login}`,
  };
}

function repositoryFacts(fake: FakeGithub, repo: FakeRepository): Record<string, unknown> {
  return {
    id: repo.id,
    node_id: `R_${repo.id}`,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: user(fake, repo.owner),
    private: repo.private,
    visibility: repo.private ? 'private' : 'public',
    default_branch: repo.defaultBranch,
    html_url: `${fake.url}/${repo.owner}/${repo.name}`,
    clone_url: `${fake.url}/${repo.owner}/${repo.name}.git`,
    url: `${fake.apiUrl}/repos/${repo.owner}/${repo.name}`,
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
  };
}

function pullFacts(fake: FakeGithub, repo: FakeRepository, pull: FakePull, heads: Map<string, string>) {
  const ref = (branch: string) => ({
    label: `${repo.owner}:${branch}`,
    ref: branch,
    sha: heads.get(branch) ?? '0'.repeat(40),
    user: user(fake, repo.owner),
    repo: repositoryFacts(fake, repo),
  });
  return {
    id: pull.id,
    node_id: `PR_${pull.id}`,
    number: pull.number,
    title: pull.title,
    body: pull.body,
    state: pull.state,
    draft: pull.draft,
    merged: pull.merged,
    html_url: `${fake.url}/${repo.owner}/${repo.name}/pull/${pull.number}`,
    url: `${fake.apiUrl}/repos/${repo.owner}/${repo.name}/pulls/${pull.number}`,
    user: user(fake, 'cap-bot'),
    head: ref(pull.head),
    base: ref(pull.base),
    mergeable: true,
  };
}

/**
 * The REST routes of repositories, branches, App installations and pull requests the platform uses, each
 * answering what GitHub would (checked against its OpenAPI description by the fake). Add more routes beside these.
 */
export function installRepositoryRoutes(fake: FakeGithub): FakeGithub {
  const withRepo =
    (handler: (repo: FakeRepository, request: FakeRequest) => FakeResponse) => (request: FakeRequest) => {
      const repo = find(fake, request);
      return repo ? handler(repo, request) : NOT_FOUND;
    };
  const pullResponse = (repo: FakeRepository, pull: FakePull, status: number): FakeResponse => ({
    status,
    body: fake.sample(
      status === 201 ? 'POST /repos/{owner}/{repo}/pulls' : 'GET /repos/{owner}/{repo}/pulls/{pull_number}',
      status,
      pullFacts(fake, repo, pull, fake.branchesOf(repo.owner, repo.name)),
    ),
  });
  const createPull = (repo: FakeRepository, request: FakeRequest): FakeResponse => {
    const input = request.body as {
      title: string;
      head: string;
      base: string;
      body?: string;
      draft?: boolean;
    };
    const pulls = pullsOf(fake, repo);
    if (!fake.branchesOf(repo.owner, repo.name).has(input.head))
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ field: 'head', code: 'invalid' }] },
      };
    if (pulls.some((p) => p.head === input.head && p.state === 'open'))
      return {
        status: 422,
        body: { message: `A pull request already exists for ${repo.owner}:${input.head}.` },
      };
    const pull: FakePull = {
      id: 5000 + pulls.length,
      number: pulls.length + 1,
      title: input.title,
      body: input.body ?? null,
      head: input.head,
      base: input.base,
      draft: input.draft ?? false,
      state: 'open',
      merged: false,
    };
    pulls.push(pull);
    return pullResponse(repo, pull, 201);
  };
  return fake
    .route('GET', '/repos/{owner}/{repo}', (request) => {
      const repo = find(fake, request);
      if (!repo) return NOT_FOUND;
      return {
        status: 200,
        body: fake.sample('GET /repos/{owner}/{repo}', 200, repositoryFacts(fake, repo)),
      };
    })
    .route(
      'GET',
      '/repos/{owner}/{repo}/branches',
      withRepo((repo, request) => {
        const perPage = Number(request.query.get('per_page') ?? 30);
        const page = Number(request.query.get('page') ?? 1);
        const all = [...fake.branchesOf(repo.owner, repo.name)].sort(([a], [b]) => a.localeCompare(b));
        const slice = all.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = {};
        if (page * perPage < all.length) {
          headers['link'] =
            `<${fake.apiUrl}/repos/${repo.owner}/${repo.name}/branches?per_page=${perPage}&page=${page + 1}>; rel="next"`;
        }
        return {
          status: 200,
          headers,
          body: slice.map(([name, sha]) => ({
            name,
            protected: false,
            commit: { sha, url: `${fake.apiUrl}/c/${sha}` },
          })),
        };
      }),
    )
    .route('GET', '/repos/{owner}/{repo}/installation', (request) => {
      if (request.caller.kind !== 'app') return { status: 401, body: { message: 'A JWT is required' } };
      const repo = repositoriesOf(fake).get(
        `${request.params['owner']}/${request.params['repo']}`.toLowerCase(),
      );
      if (!repo?.installationId) return NOT_FOUND;
      return {
        status: 200,
        body: fake.sample('GET /repos/{owner}/{repo}/installation', 200, {
          id: repo.installationId,
          app_id: fake.app.id,
          account: user(fake, repo.owner),
          repository_selection: 'selected',
          permissions: { contents: 'write', pull_requests: 'write' },
        }),
      };
    })
    .route('POST', '/app/installations/{installation_id}/access_tokens', (request) => {
      if (request.caller.kind !== 'app') return { status: 401, body: { message: 'A JWT is required' } };
      const installationId = Number(request.params['installation_id']);
      const names = (request.body as { repositories?: string[] } | undefined)?.repositories;
      const expiresAt = new Date(Date.now() + 60 * 60_000);
      const token = fake.issueToken(
        {
          kind: 'installation',
          installationId,
          login: 'cap-app[bot]',
          expiresAt,
          ...(names ? { repositories: names.map((n) => n.toLowerCase()) } : {}),
        },
        'ghs_',
      );
      return {
        status: 201,
        body: fake.sample('POST /app/installations/{installation_id}/access_tokens', 201, {
          token,
          expires_at: expiresAt.toISOString(),
          permissions: { contents: 'write', pull_requests: 'write' },
          repository_selection: 'selected',
        }),
      };
    })
    .route(
      'GET',
      '/repos/{owner}/{repo}/pulls',
      withRepo((repo, request) => {
        const head = request.query.get('head');
        const state = request.query.get('state') ?? 'open';
        const heads = fake.branchesOf(repo.owner, repo.name);
        const pulls = pullsOf(fake, repo).filter(
          (p) => (!head || `${repo.owner}:${p.head}` === head) && (state === 'all' || p.state === state),
        );
        return {
          status: 200,
          body: fake.sample(
            'GET /repos/{owner}/{repo}/pulls',
            200,
            pulls.map((p) => pullFacts(fake, repo, p, heads)),
          ),
        };
      }),
    )
    .route('POST', '/repos/{owner}/{repo}/pulls', async (request) => {
      const repo = find(fake, request);
      if (!repo) return NOT_FOUND;
      const response = createPull(repo, request);
      // As GitHub: the repository's hook hears of the new pull request (`pull_request` `opened`), here before
      // the creator's answer unless the hook's `dispatch` says otherwise.
      if (response.status === 201)
        await fake.emitWebhook(
          'pull_request',
          'pull-request-opened',
          sampleWebhookPayload('pull-request-opened', {
            action: 'opened',
            number: (response.body as { number: number }).number,
            pull_request: response.body,
            repository: repositoryFacts(fake, repo),
            sender: user(fake, 'cap-bot'),
          }),
        );
      return response;
    })
    .route(
      'GET',
      '/repos/{owner}/{repo}/pulls/{pull_number}',
      withRepo((repo, request) => {
        const pull = pullsOf(fake, repo).find((p) => p.number === Number(request.params['pull_number']));
        if (!pull) return NOT_FOUND;
        // As GitHub: a weak ETag of the representation; a request whose If-None-Match carries it is answered 304
        // without a body and without counting against the rate limit.
        const response = pullResponse(repo, pull, 200);
        const etag = `W/"${createHash('sha256').update(JSON.stringify(response.body)).digest('hex').slice(0, 32)}"`;
        const notModified = request.headers['if-none-match'] === etag;
        const headers = { etag, ...rateLimitHeaders(fake, !notModified) };
        return notModified ? { status: 304, headers } : { ...response, headers };
      }),
    )
    .route(
      'PATCH',
      '/repos/{owner}/{repo}/pulls/{pull_number}',
      withRepo((repo, request) => {
        const pull = pullsOf(fake, repo).find((p) => p.number === Number(request.params['pull_number']));
        if (!pull) return NOT_FOUND;
        const input = request.body as {
          title?: string;
          body?: string;
          state?: 'open' | 'closed';
          base?: string;
        };
        if (input.title !== undefined) pull.title = input.title;
        if (input.base !== undefined) pull.base = input.base;
        if (input.body !== undefined) pull.body = input.body;
        if (input.state !== undefined && !pull.merged) pull.state = input.state;
        return pullResponse(repo, pull, 200);
      }),
    )
    .route(
      'PUT',
      '/repos/{owner}/{repo}/pulls/{pull_number}/merge',
      withRepo((repo, request) => {
        const pull = pullsOf(fake, repo).find((p) => p.number === Number(request.params['pull_number']));
        if (!pull) return NOT_FOUND;
        if (pull.state !== 'open') return { status: 405, body: { message: 'Pull Request is not mergeable' } };
        pull.state = 'closed';
        pull.merged = true;
        const sha = fake.branchesOf(repo.owner, repo.name).get(pull.head) ?? '0'.repeat(40);
        return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
      }),
    )
    .route('GET', '/user', (request) => {
      if (request.caller.kind !== 'token')
        return { status: 401, body: { message: 'Requires authentication' } };
      return { status: 200, body: fake.sample('GET /user', 200, user(fake, request.caller.grant.login)) };
    });
}
