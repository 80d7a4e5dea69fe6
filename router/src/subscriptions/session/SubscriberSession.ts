import type { IncomingHttpHeaders } from 'node:http';
import { ROUTER_TOKEN_TTL_SECONDS, signRouterToken, type Principal, type RouterClaims } from '@cap/runtime';
import { decodeJwt } from 'jose';
import type { Authenticator } from '../../authenticate.js';
import type { RouterContext } from '../../routerContext.js';
import { UpstreamPool, type UpstreamPoolOptions } from '../execution/UpstreamPool.js';

/** Headers that carry credentials; everything else in a `connection_init` payload is ignored. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'] as const;
/** A router token is re-signed once it is this old (it lives 60 s; an HTTP fetch may take a while). */
const ROUTER_TOKEN_REUSE_MS = (ROUTER_TOKEN_TTL_SECONDS * 1000) / 2;

/** How long the credentials of a connection hold. */
export type SessionCredential =
  | { kind: 'anonymous' }
  /**
   * An access token (JWT): valid until `expiresAt` (ms since epoch) unless renewed or revoked; `issuedAt` (its
   * `iat`, ms) is what identity's revocations are compared with.
   */
  | { kind: 'accessToken'; expiresAt: number; issuedAt: number }
  /** An API key: re-verified periodically, so revoking it ends the connection. */
  | { kind: 'apiKey'; headers: IncomingHttpHeaders };

/** Who a subscription connection acts for, as established by {@link authenticateCredentials}. */
export interface Authenticated {
  principal: Principal;
  credential: SessionCredential;
}

/**
 * Reads credentials from a `connection_init` payload (`{ authorization: 'Bearer …' }` or `{ 'x-api-key': … }`,
 * any letter case) into the header object the HTTP path authenticates. Null = a credential that is not a string.
 */
export function credentialHeaders(
  payload: Readonly<Record<string, unknown>> | undefined,
): IncomingHttpHeaders | null {
  const headers: IncomingHttpHeaders = {};
  for (const [key, value] of Object.entries(payload ?? {})) {
    const name = key.toLowerCase() as (typeof CREDENTIAL_HEADERS)[number];
    if (!CREDENTIAL_HEADERS.includes(name)) continue;
    if (typeof value !== 'string') return null;
    headers[name] = value;
  }
  return headers;
}

/**
 * Authenticates like the HTTP path (same Authenticator: JWKS-verified access tokens, identity-verified API keys)
 * and says how long the result holds. Throws AuthenticationError for bad credentials.
 */
export async function authenticateCredentials(
  authenticator: Authenticator,
  headers: IncomingHttpHeaders,
  requestId: string,
): Promise<Authenticated> {
  const principal = await authenticator.authenticate(headers, requestId);
  if (principal.kind === 'anonymous') return { principal, credential: { kind: 'anonymous' } };
  if (principal.kind === 'apiKey') return { principal, credential: { kind: 'apiKey', headers } };
  // A user principal comes from a verified access token: its `exp` is trustworthy.
  const token = /^Bearer\s+(\S+)/i.exec(headers.authorization ?? '')?.[1] ?? '';
  const { exp, iat } = decodeJwt(token);
  return {
    principal,
    credential: {
      kind: 'accessToken',
      expiresAt: typeof exp === 'number' ? exp * 1000 : Date.now(),
      issuedAt: typeof iat === 'number' ? iat * 1000 : 0,
    },
  };
}

/** Whether `next` names the same caller as `current` (a connection may renew credentials, not change hands). */
export function sameCaller(current: Principal, next: Principal): boolean {
  if (current.kind === 'anonymous' || next.kind === 'anonymous') return current.kind === next.kind;
  if (current.kind === 'apiKey' || next.kind === 'apiKey') {
    return current.kind === 'apiKey' && next.kind === 'apiKey' && current.apiKeyId === next.apiKeyId;
  }
  return current.userId === next.userId;
}

export interface SubscriberSessionOptions extends Authenticated {
  requestId: string;
  clientIp: string;
  internalTokenSecret: string;
  upstream: Omit<UpstreamPoolOptions, 'claims' | 'internalTokenSecret'>;
}

/**
 * One subscription connection (a WebSocket, or one SSE stream): the caller, when its credentials lapse, its
 * sockets to subgraphs, and the router token its event fetches carry.
 */
export class SubscriberSession {
  principal: Principal;
  credential: SessionCredential;
  readonly requestId: string;
  readonly clientIp: string;
  readonly upstreams: UpstreamPool;
  #token: { value: Promise<string>; signedAt: number } | undefined;

  constructor(private readonly options: SubscriberSessionOptions) {
    this.principal = options.principal;
    this.credential = options.credential;
    this.requestId = options.requestId;
    this.clientIp = options.clientIp;
    this.upstreams = new UpstreamPool({
      ...options.upstream,
      internalTokenSecret: options.internalTokenSecret,
      claims: () => this.claims(),
    });
  }

  /** Replaces the credentials (re-authentication); the next upstream (re)connection carries the new principal. */
  renew(authenticated: Authenticated): void {
    this.principal = authenticated.principal;
    this.credential = authenticated.credential;
    this.#token = undefined;
  }

  claims(): RouterClaims {
    return { principal: this.principal, requestId: this.requestId, clientIp: this.clientIp };
  }

  /** The context of the HTTP fetches resolving an event's entity fields. */
  context(): RouterContext {
    const now = Date.now();
    if (!this.#token || now - this.#token.signedAt > ROUTER_TOKEN_REUSE_MS) {
      this.#token = {
        value: signRouterToken(this.options.internalTokenSecret, this.claims()),
        signedAt: now,
      };
    }
    return {
      principal: this.principal,
      requestId: this.requestId,
      clientIp: this.clientIp,
      traceparent: undefined,
      routerToken: this.#token.value,
    };
  }

  async dispose(): Promise<void> {
    await this.upstreams.dispose();
  }
}
