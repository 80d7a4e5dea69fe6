import type { Principal } from '@cap/runtime';
import type { CicdDeps } from './domain/deps.js';

/** Per-request context: who is calling (from the router's token) and the use cases' deps. */
export interface CicdContext {
  principal: Principal;
  requestId: string;
  deps: CicdDeps;
}
