import { createHmac } from 'node:crypto';
import { jwtVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { ApiKeyTier, type Principal } from './principal.js';
import { ALL_SCOPES, ROLES } from './scopes.js';

/**
 * The router passes the caller's identity to subgraphs in a short-lived token it signs with a secret shared
 * only between the router and the subgraphs. Subgraphs reject every request without a valid one, so calling a
 * subgraph directly (bypassing authentication, RBAC and rate limits) gets nowhere. See ADR 0004.
 */
export const ROUTER_TOKEN_HEADER = 'x-router-token';
export const REQUEST_ID_HEADER = 'x-request-id';

const ISSUER = 'cap-router';
const AUDIENCE = 'cap-subgraphs';
/** Tokens live long enough for one subgraph fetch, plus clock skew. */
export const ROUTER_TOKEN_TTL_SECONDS = 60;
const MIN_SECRET_LENGTH = 32;

const principalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('anonymous') }),
  z.object({
    kind: z.literal('user'),
    userId: z.string().min(1),
    role: z.enum(ROLES),
    scopes: z.array(z.enum(ALL_SCOPES)),
  }),
  z.object({
    kind: z.literal('apiKey'),
    userId: z.string().min(1),
    apiKeyId: z.string().min(1),
    role: z.enum(ROLES),
    scopes: z.array(z.enum(ALL_SCOPES)),
    tier: z.enum(Object.values(ApiKeyTier)),
  }),
]);

/** What a subgraph learns about the request from the router. */
export interface RouterClaims {
  principal: Principal;
  requestId: string;
  /** The client's address as the router saw it; used for per-address throttles (e.g. login). */
  clientIp: string;
}

function keyFrom(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`INTERNAL_TOKEN_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return new TextEncoder().encode(secret);
}

/** The encoded protected header of every router token: HS256, a JWT. */
const ROUTER_TOKEN_HEADER_SEGMENT = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString(
  'base64url',
);

/**
 * Signs the router's token for one request: a compact HS256 JWT (RFC 7519) with the claims, issuer, audience,
 * issued-at and expiry, verified by `verifyRouterToken` (jose). Signed synchronously with node:crypto: the router
 * signs one per request, and WebCrypto's HMAC (what jose's `SignJWT` uses) costs a thread-pool round trip each.
 */
export async function signRouterToken(secret: string, claims: RouterClaims): Promise<string> {
  const key = keyFrom(secret);
  const issuedAt = Math.floor(Date.now() / 1000);
  const payload = Buffer.from(
    JSON.stringify({
      p: claims.principal,
      rid: claims.requestId,
      ip: claims.clientIp,
      iss: ISSUER,
      aud: AUDIENCE,
      iat: issuedAt,
      exp: issuedAt + ROUTER_TOKEN_TTL_SECONDS,
    }),
  ).toString('base64url');
  const signingInput = `${ROUTER_TOKEN_HEADER_SEGMENT}.${payload}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}

/** Why a router token was refused; logged by subgraphs, never detailed to the caller. */
export type RouterTokenFailure = 'missing' | 'expired' | 'invalid';

/** Verifies a router token; returns the claims or the reason it was refused. */
export async function verifyRouterToken(
  secret: string,
  token: string | undefined,
): Promise<{ ok: true; claims: RouterClaims } | { ok: false; reason: RouterTokenFailure }> {
  if (!token) return { ok: false, reason: 'missing' };
  try {
    const { payload } = await jwtVerify(token, keyFrom(secret), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      maxTokenAge: `${ROUTER_TOKEN_TTL_SECONDS + 30}s`,
    });
    const principal = principalSchema.safeParse(payload['p']);
    if (!principal.success || typeof payload['rid'] !== 'string' || typeof payload['ip'] !== 'string') {
      return { ok: false, reason: 'invalid' };
    }
    return {
      ok: true,
      claims: { principal: principal.data, requestId: payload['rid'], clientIp: payload['ip'] },
    };
  } catch (error) {
    return { ok: false, reason: error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
  }
}
