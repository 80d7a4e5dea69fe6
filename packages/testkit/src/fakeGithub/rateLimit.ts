import type { FakeGithub } from './fakeGithubServer.js';

/** The fake's REST rate limit (one for every caller): what `x-ratelimit-*` headers say. */
export interface FakeRateLimit {
  limit: number;
  remaining: number;
  /** When `remaining` is back to `limit`. */
  resetAt: Date;
}

/** The fake's rate limit; tests lower `remaining` to see the platform back off. */
export function fakeRateLimit(fake: FakeGithub): FakeRateLimit {
  let rate = fake.state.get('rateLimit') as FakeRateLimit | undefined;
  if (!rate) {
    rate = { limit: 5_000, remaining: 5_000, resetAt: new Date(Date.now() + 3_600_000) };
    fake.state.set('rateLimit', rate);
  }
  return rate;
}

/** Counts a request (unless `counted` is false: a 304) and the `x-ratelimit-*` headers GitHub answers with. */
export function rateLimitHeaders(fake: FakeGithub, counted: boolean): Record<string, string> {
  const rate = fakeRateLimit(fake);
  if (rate.resetAt.getTime() <= Date.now()) {
    rate.remaining = rate.limit;
    rate.resetAt = new Date(Date.now() + 3_600_000);
  }
  if (counted) rate.remaining = Math.max(0, rate.remaining - 1);
  return {
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-used': String(rate.limit - rate.remaining),
    'x-ratelimit-reset': String(Math.ceil(rate.resetAt.getTime() / 1000)),
    'x-ratelimit-resource': 'core',
  };
}
