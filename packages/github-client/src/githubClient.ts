import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';

/** Octokit with the retry and throttling plugins. */
const PluggedOctokit = Octokit.plugin(retry, throttling);

/** The REST client the platform talks to GitHub with (see {@link createGithubClient}). */
export type GithubOctokit = Octokit;

/** GitHub's public API; GitHub Enterprise Server is `https://<host>/api/v3` (`GITHUB_API_URL`). */
export const GITHUB_API_URL = 'https://api.github.com';

/** What a rate-limit hit reports to the caller's log (never the request's headers). */
export interface RateLimitNotice {
  kind: 'primary' | 'secondary';
  method: string;
  url: string;
  retryAfterSeconds: number;
  retryCount: number;
  willRetry: boolean;
}

/** Options of {@link createGithubClient}. */
export interface GithubClientOptions {
  /** A token (installation, personal or OAuth user token), or a function that returns a fresh one per request. */
  auth: string | (() => Promise<string>);
  /** API base URL (default {@link GITHUB_API_URL}). */
  baseUrl?: string | undefined;
  /** One request's time limit, ms (default 15,000): a hung connection fails and is retried. */
  timeoutMs?: number | undefined;
  /** Retries of 5xx and network failures (default 3), with growing delays. */
  retries?: number | undefined;
  /** Retries after a primary or secondary rate limit (default 2), waiting what `Retry-After` says. */
  rateLimitRetries?: number | undefined;
  /** Milliseconds per second of `Retry-After` and of retry delays (default 1,000; tests shrink it). */
  retryAfterBaseMs?: number | undefined;
  /** Told of every rate-limit hit (for the log). */
  onRateLimit?: ((notice: RateLimitNotice) => void) | undefined;
  /**
   * Where Octokit's own messages go (request lines such as `GET /repos/o/r - 502`, deprecations); default:
   * nowhere. Give the service's logger: the lines carry methods, paths and statuses, never headers.
   */
  log?:
    | {
        debug(message: string): void;
        info(message: string): void;
        warn(message: string): void;
        error(message: string): void;
      }
    | undefined;
  /** `User-Agent` (GitHub requires one). */
  userAgent?: string | undefined;
}

/**
 * Creates the GitHub REST client: rate limits respected (`x-ratelimit-*`, secondary limits and `Retry-After`
 * through the throttling plugin, which also spaces writes as GitHub asks), 5xx and network errors retried with
 * backoff (retry plugin), every request bounded by a timeout, and conditional requests available to callers
 * (`headers: { 'if-none-match': etag }` answers 304 without costing rate limit).
 */
export function createGithubClient(options: GithubClientOptions): GithubOctokit {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const base = options.retryAfterBaseMs ?? 1_000;
  const rateLimitRetries = options.rateLimitRetries ?? 2;
  const onLimit =
    (kind: RateLimitNotice['kind']) =>
    (
      retryAfter: number,
      request: { method: string; url: string },
      _octokit: unknown,
      retryCount: number,
    ): boolean => {
      const willRetry = retryCount < rateLimitRetries;
      options.onRateLimit?.({
        kind,
        method: request.method,
        url: request.url,
        retryAfterSeconds: retryAfter,
        retryCount,
        willRetry,
      });
      return willRetry;
    };
  const auth = options.auth;
  const octokit = new PluggedOctokit({
    baseUrl: (options.baseUrl ?? GITHUB_API_URL).replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'cap-github',
    log: options.log ?? { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    ...(typeof auth === 'string' ? { auth } : {}),
    request: {
      fetch: (url: string | URL, init: RequestInit = {}) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
        return fetch(url, { ...init, signal });
      },
    },
    // `retries` here, not in `request`: there it would make the retry plugin retry 401, 403 and 404 too.
    retry: { retryAfterBaseValue: base, retries: options.retries ?? 3 },
    throttle: {
      retryAfterBaseValue: base,
      fallbackSecondaryRateRetryAfter: 60,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    },
  });
  if (typeof auth === 'function') {
    // A token per request: installation tokens expire hourly and the provider refreshes them before that.
    octokit.hook.before('request', async (request) => {
      request.headers.authorization = `token ${await auth()}`;
    });
  }
  return octokit;
}
