import { randomUUID } from 'node:crypto';
import { ANONYMOUS, ROUTER_TOKEN_HEADER, signRouterToken } from '@cap/runtime';
import type { SecretRedactor } from './secretRedactor.js';

/** The github subgraph's internal route that hands out repository tokens. */
export const REPOSITORY_TOKEN_ROUTE = '/internal/repository-token';

/** What the github subgraph answers: where to clone from, and with which short-lived credentials. */
export interface RepositoryGrant {
  repository: string;
  cloneUrl: string;
  defaultBranch: string;
  username: string;
  token: string;
  expiresAt: Date | null;
}

/** Why no grant was had: `status` is the github subgraph's answer (404: not connected), 0 when unreachable. */
export class RepositoryGrantError extends Error {
  override readonly name = 'RepositoryGrantError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Asks the github subgraph (the custodian of GitHub credentials) for a short-lived token for one repository,
 * authenticated as an internal service with the router-token mechanism (INTERNAL_TOKEN_SECRET, ADR 0004). The
 * token is registered with `redactor` before it is returned and is meant to live in memory only (ADR 0019).
 */
export class RepositoryTokenClient {
  readonly #baseUrl: string;
  readonly #secret: string;
  readonly #redactor: SecretRedactor | undefined;
  readonly #timeoutMs: number;

  constructor(options: {
    baseUrl: string;
    internalTokenSecret: string;
    redactor?: SecretRedactor;
    timeoutMs?: number;
  }) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#secret = options.internalTokenSecret;
    this.#redactor = options.redactor;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /**
   * A grant for `repository` (`owner/name`). `onBehalfOf` names the user whose work the token is for (a task's
   * creator): a repository connected through someone's own OAuth token is granted only for that person's work.
   * @throws {RepositoryGrantError}
   */
  async grant(repository: string, options: { onBehalfOf?: string } = {}): Promise<RepositoryGrant> {
    const token = await signRouterToken(this.#secret, {
      principal: ANONYMOUS,
      requestId: randomUUID(),
      clientIp: '127.0.0.1',
    });
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}${REPOSITORY_TOKEN_ROUTE}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [ROUTER_TOKEN_HEADER]: token },
        body: JSON.stringify({
          repository,
          ...(options.onBehalfOf ? { onBehalfOf: options.onBehalfOf } : {}),
        }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch {
      throw new RepositoryGrantError(
        'The github subgraph cannot be reached for a repository token.',
        0,
        'UNREACHABLE',
      );
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown> & {
      error?: { code?: string; message?: string };
    };
    if (!response.ok || typeof body['token'] !== 'string' || typeof body['cloneUrl'] !== 'string') {
      throw new RepositoryGrantError(
        body.error?.message ?? `The github subgraph answered ${response.status}.`,
        response.status,
        body.error?.code ?? 'UNEXPECTED',
      );
    }
    this.#redactor?.register(body['token']);
    return {
      repository: String(body['repository']),
      cloneUrl: body['cloneUrl'],
      defaultBranch: String(body['defaultBranch']),
      username: typeof body['username'] === 'string' ? body['username'] : 'x-access-token',
      token: body['token'],
      expiresAt: typeof body['expiresAt'] === 'string' ? new Date(body['expiresAt']) : null,
    };
  }
}

/**
 * The environment that makes one git command send `credentials` over HTTP(S), and nothing else: git reads it
 * as command-line configuration (`GIT_CONFIG_COUNT`), so the token is never written to `.git/config`, never in
 * the command's arguments (visible in `ps`), and gone with the process. Give it only to git run on the host,
 * never to a sandboxed command.
 */
export function gitCredentialEnv(credentials: { username: string; token: string }): Record<string, string> {
  const basic = Buffer.from(`${credentials.username}:${credentials.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/** Where a repository is cloned from and pushed to, with which credentials (the agent's `RepositoryLocation`). */
export interface GrantedLocation {
  url: string;
  credentials?: { username: string; token: string } | undefined;
}

/**
 * Resolves a repository reference for git run on the host: `owner/name` through the github subgraph, which grants a
 * short-lived token per call (hand it to git with {@link gitCredentialEnv} only); any other reference (a local
 * path) goes to `fallback`. Tokens are registered with the redactor and kept in memory. The agent itself never gets
 * credentials: orchestration clones and publishes on the host (`GithubRepositories`, ADR 0019).
 */
export class GithubRepositoryAccess {
  readonly #client: RepositoryTokenClient;
  readonly #fallback: { locate(repository: string): Promise<GrantedLocation> };

  constructor(
    client: RepositoryTokenClient,
    fallback: { locate(repository: string): Promise<GrantedLocation> },
  ) {
    this.#client = client;
    this.#fallback = fallback;
  }

  async locate(repository: string): Promise<GrantedLocation> {
    if (!/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/.test(repository))
      return this.#fallback.locate(repository);
    const grant = await this.#client.grant(repository);
    return { url: grant.cloneUrl, credentials: { username: grant.username, token: grant.token } };
  }
}
