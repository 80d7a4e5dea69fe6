import { createAppAuth } from '@octokit/auth-app';
import { createGithubClient, type GithubClientOptions, type GithubOctokit } from './githubClient.js';
import type { SecretRedactor } from './secretRedactor.js';

/** A repository on GitHub. */
export interface RepositoryCoordinates {
  owner: string;
  name: string;
}

/** A token that may act on one repository, and until when. */
export interface RepositoryToken {
  token: string;
  /** null: does not expire by itself (a personal access token). */
  expiresAt: Date | null;
  /** Where it came from: an App installation, the configured personal access token, a user's OAuth token. */
  source: 'APP' | 'TOKEN' | 'OAUTH';
}

/** Why no token could be had for a repository; the message names the repository, never a credential. */
export class GithubAccessError extends Error {
  override readonly name = 'GithubAccessError';
  constructor(
    message: string,
    readonly reason: 'NOT_INSTALLED' | 'NOT_CONFIGURED' | 'UPSTREAM',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Gives tokens for repositories (the github subgraph's credentials, never stored outside it). */
export interface TokenProvider {
  tokenFor(repository: RepositoryCoordinates): Promise<RepositoryToken>;
}

/** The simplest path for one user: a personal access token (`GITHUB_TOKEN`) for every repository. */
export class PersonalAccessTokenProvider implements TokenProvider {
  readonly #token: string;

  constructor(token: string, redactor?: SecretRedactor) {
    this.#token = token;
    redactor?.register(token);
  }

  async tokenFor(): Promise<RepositoryToken> {
    return { token: this.#token, expiresAt: null, source: 'TOKEN' };
  }
}

/** Options of {@link AppInstallationTokenProvider}. */
export interface AppInstallationTokenOptions {
  appId: string | number;
  /** The App's private key (PEM, PKCS#1 or PKCS#8). */
  privateKey: string;
  client?: Omit<GithubClientOptions, 'auth'> | undefined;
  /** A cached token is replaced this long before it expires, ms (default 5 minutes). */
  refreshMarginMs?: number | undefined;
  /** Every minted token is registered here for redaction. */
  redactor?: SecretRedactor | undefined;
  now?: (() => number) | undefined;
}

interface CachedToken {
  token: string;
  expiresAt: Date;
}

/**
 * Tokens of a GitHub App's installations (`GITHUB_APP_ID`, `GITHUB_APP_PRIVATE_KEY`): the installation that covers
 * a repository is looked up once (`GET /repos/{owner}/{repo}/installation`, with the App's JWT), and a token scoped
 * to that one repository is minted with `@octokit/auth-app` and cached until `refreshMarginMs` before it expires
 * (GitHub's tokens live an hour). Concurrent requests for the same repository share one lookup and one mint.
 */
export class AppInstallationTokenProvider implements TokenProvider {
  readonly #auth: ReturnType<typeof createAppAuth>;
  readonly #client: GithubOctokit;
  readonly #margin: number;
  readonly #now: () => number;
  readonly #redactor: SecretRedactor | undefined;
  readonly #installations = new Map<string, Promise<number>>();
  readonly #tokens = new Map<string, Promise<CachedToken>>();
  /** How many tokens were minted (observability, tests). */
  minted = 0;

  constructor(options: AppInstallationTokenOptions) {
    this.#redactor = options.redactor;
    options.redactor?.register(options.privateKey);
    // A client without auth: every request below sends the App's JWT itself (as a Bearer token, as GitHub asks).
    this.#client = createGithubClient({ ...options.client, auth: '' });
    this.#auth = createAppAuth({
      appId: options.appId,
      privateKey: options.privateKey,
      request: this.#client.request,
    });
    this.#margin = options.refreshMarginMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The installation covering `repository`, looked up once (concurrent callers share the lookup). */
  installationOf(repository: RepositoryCoordinates): Promise<number> {
    const key = `${repository.owner}/${repository.name}`.toLowerCase();
    let lookup = this.#installations.get(key);
    if (!lookup) {
      lookup = this.#lookUpInstallation(repository);
      this.#installations.set(key, lookup);
      lookup.catch(() => this.#installations.delete(key));
    }
    return lookup;
  }

  async #lookUpInstallation(repository: RepositoryCoordinates): Promise<number> {
    try {
      const jwt = await this.#auth({ type: 'app' });
      const { data } = await this.#client.request('GET /repos/{owner}/{repo}/installation', {
        owner: repository.owner,
        repo: repository.name,
        headers: { authorization: `bearer ${jwt.token}` },
      });
      return data.id;
    } catch (error) {
      if ((error as { status?: number }).status === 404)
        throw new GithubAccessError(
          `The GitHub App is not installed on ${repository.owner}/${repository.name}.`,
          'NOT_INSTALLED',
        );
      throw new GithubAccessError(
        `GitHub did not say which installation covers ${repository.owner}/${repository.name}.`,
        'UPSTREAM',
        { cause: this.#redactor ? this.#redactor.redactError(error) : undefined },
      );
    }
  }

  async tokenFor(repository: RepositoryCoordinates): Promise<RepositoryToken> {
    const installationId = await this.installationOf(repository);
    const key = `${installationId}:${repository.name.toLowerCase()}`;
    const cached = this.#tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => null);
      if (token && token.expiresAt.getTime() - this.#margin > this.#now()) return { ...token, source: 'APP' };
      // Someone else started a new mint meanwhile: share it.
      if (this.#tokens.get(key) !== cached) return this.tokenFor(repository);
    }
    const minting = this.#mint(installationId, repository.name);
    this.#tokens.set(key, minting);
    try {
      return { ...(await minting), source: 'APP' };
    } catch (error) {
      if (this.#tokens.get(key) === minting) this.#tokens.delete(key);
      throw error;
    }
  }

  async #mint(installationId: number, name: string): Promise<CachedToken> {
    try {
      const result = await this.#auth({
        type: 'installation',
        installationId,
        repositoryNames: [name],
        refresh: true,
      });
      this.minted += 1;
      this.#redactor?.register(result.token);
      return { token: result.token, expiresAt: new Date(result.expiresAt) };
    } catch (error) {
      throw new GithubAccessError(
        `GitHub refused an installation token for installation ${installationId}.`,
        'UPSTREAM',
        { cause: this.#redactor ? this.#redactor.redactError(error) : undefined },
      );
    }
  }
}
