import type { Principal } from '@cap/runtime';
import type { GithubDeps } from './domain/deps.js';

/** Per-request context: who is calling (from the router's token) and the use cases' deps. */
export interface GithubContext {
  principal: Principal;
  requestId: string;
  deps: GithubDeps;
}
