import {
  createGithubClient,
  GithubAccessError,
  type AppInstallationTokenProvider,
  type CredentialCipher,
  type GithubClientOptions,
  type GithubOctokit,
  type PersonalAccessTokenProvider,
  type RepositoryCoordinates,
  type RepositoryToken,
  type SecretRedactor,
} from '@cap/github-client';
import { codedError, ErrorCode, type Logger } from '@cap/runtime';
import type { GraphQLError } from 'graphql';
import type { PrismaClient, RepositoryAccess } from '../generated/prisma/client.js';

/** What to set so that the platform reaches GitHub (the `fix` of GITHUB_NOT_CONFIGURED). */
export const GITHUB_CREDENTIALS_FIX =
  'Set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a GitHub App installed on the repository), GITHUB_TOKEN (a personal access token), or connect your GitHub account (githubAuthorizeUrl).';

/** Which credential reached a repository, and the token it gave. */
export interface ResolvedToken extends RepositoryToken {
  access: RepositoryAccess;
}

/**
 * The github subgraph's credentials in one place: the App installations (`GITHUB_APP_*`), the personal access
 * token (`GITHUB_TOKEN`) and users' OAuth tokens (sealed in `user_credentials`). Tokens leave this class only to
 * call GitHub, and towards orchestration's agent through the internal repository-token route; each is registered
 * with the redactor first.
 */
export class GithubAccess {
  readonly #app: AppInstallationTokenProvider | null;
  readonly #pat: PersonalAccessTokenProvider | null;
  readonly #prisma: PrismaClient;
  readonly #cipher: CredentialCipher;
  readonly #redactor: SecretRedactor;
  readonly #client: Omit<GithubClientOptions, 'auth'>;

  constructor(options: {
    app: AppInstallationTokenProvider | null;
    pat: PersonalAccessTokenProvider | null;
    prisma: PrismaClient;
    cipher: CredentialCipher;
    redactor: SecretRedactor;
    client: Omit<GithubClientOptions, 'auth'>;
    logger: Logger;
  }) {
    this.#app = options.app;
    this.#pat = options.pat;
    this.#prisma = options.prisma;
    this.#cipher = options.cipher;
    this.#redactor = options.redactor;
    const logger = options.logger;
    this.#client = {
      ...options.client,
      onRateLimit: (notice) => logger.warn({ rateLimit: notice }, 'GitHub rate limit hit'),
    };
  }

  /** Whether any server-wide credential is configured (the App or a personal access token). */
  get configured(): boolean {
    return this.#app !== null || this.#pat !== null;
  }

  /**
   * A token for `repository`: through `access` when given (how it was connected), else the App, then the personal
   * access token, then `userId`'s OAuth token.
   * @throws GraphQLError GITHUB_NOT_CONFIGURED when nothing reaches it; GITHUB_UNAVAILABLE when GitHub failed
   */
  async tokenFor(
    repository: RepositoryCoordinates,
    options: { access?: RepositoryAccess | undefined; userId?: string | null | undefined } = {},
  ): Promise<ResolvedToken> {
    const order: RepositoryAccess[] = options.access ? [options.access] : ['APP', 'TOKEN', 'OAUTH'];
    let notInstalled = false;
    for (const access of order) {
      try {
        if (access === 'APP' && this.#app) return { ...(await this.#app.tokenFor(repository)), access };
        if (access === 'TOKEN' && this.#pat) return { ...(await this.#pat.tokenFor()), access };
        if (access === 'OAUTH' && options.userId) {
          const token = await this.userToken(options.userId);
          if (token) return { token, expiresAt: null, source: 'OAUTH', access };
        }
      } catch (error) {
        if (error instanceof GithubAccessError && error.reason === 'NOT_INSTALLED') {
          notInstalled = true;
          continue;
        }
        throw githubFailure(error, this.#redactor);
      }
    }
    throw codedError(
      ErrorCode.GITHUB_NOT_CONFIGURED,
      notInstalled
        ? `The GitHub App is not installed on ${repository.owner}/${repository.name}, and no other credential reaches it.`
        : `No GitHub credential reaches ${repository.owner}/${repository.name}.`,
      { fix: GITHUB_CREDENTIALS_FIX },
    );
  }

  /** A REST client acting on `repository` with the token {@link tokenFor} chose. */
  async clientFor(
    repository: RepositoryCoordinates,
    options: { access?: RepositoryAccess | undefined; userId?: string | null | undefined } = {},
  ): Promise<{ client: GithubOctokit; access: RepositoryAccess }> {
    const resolved = await this.tokenFor(repository, options);
    return { client: createGithubClient({ ...this.#client, auth: resolved.token }), access: resolved.access };
  }

  /** A client with `token` (a user's OAuth token during the callback). */
  clientWith(token: string): GithubOctokit {
    this.#redactor.register(token);
    return createGithubClient({ ...this.#client, auth: token });
  }

  /** `userId`'s OAuth token, opened (and registered for redaction), or null when they connected none. */
  async userToken(userId: string): Promise<string | null> {
    const row = await this.#prisma.userCredential.findUnique({ where: { userId } });
    if (!row) return null;
    const token = this.#cipher.open(row.sealed, userId);
    this.#redactor.register(token);
    return token;
  }
}

/**
 * A GitHub failure as the client sees it: 404 is NOT_FOUND, 401/403 (after the retries) and 5xx are
 * GITHUB_UNAVAILABLE with GitHub's status; the message never carries a token (redacted) or GitHub's body.
 */
export function githubFailure(error: unknown, redactor: SecretRedactor): GraphQLError {
  if (error instanceof Error && 'extensions' in error) return error as GraphQLError;
  const status = (error as { status?: unknown }).status;
  if (status === 404)
    return codedError(ErrorCode.NOT_FOUND, 'GitHub does not show this repository or object to the platform.');
  const safe = redactor.redactError(error);
  return codedError(ErrorCode.GITHUB_UNAVAILABLE, `GitHub request failed: ${safe.message.slice(0, 300)}`, {
    ...(typeof status === 'number' ? { status } : {}),
  });
}
