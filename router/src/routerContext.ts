import type { Principal } from '@cap/runtime';
import type { OperationPolicy, PolicyOutcome } from './policy/OperationPolicy.js';

/** What the router knows about one request; passed to every subgraph fetch. */
export interface RouterContext {
  principal: Principal;
  requestId: string;
  clientIp: string;
  /** W3C trace context from the client, forwarded unchanged. */
  traceparent: string | undefined;
  /** Signed once per request and reused for every subgraph fetch of it. */
  routerToken: Promise<string>;
  /** What the policies decided for this operation, applied to its result before it is sent. */
  policy?: { policy: OperationPolicy; outcome: PolicyOutcome };
}
