import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  ALL_SCOPES,
  ANONYMOUS,
  ApiKeyTier,
  ErrorCode,
  REQUEST_ID_HEADER,
  ROLES,
  ROUTER_TOKEN_HEADER,
  signRouterToken,
  type KeyValueStore,
  type Logger,
  type Principal,
} from '@cap/runtime';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { RevocationFeed } from './revocation/RevocationFeed.js';
import { Lru } from './speed/Lru.js';

/** Only the algorithm identity signs with; `none`, HS256 with the public key and friends are refused. */
const ACCESS_TOKEN_ALGORITHMS = ['ES256'];
const API_KEY_PREFIX = 'cap_';
/**
 * Minimum time between two JWKS refetches. A token with an unknown `kid` (identity rotated its key) triggers a
 * refetch; within the cooldown the router waits for it to pass and tries once more instead of refusing a valid
 * token, so forged `kid`s cost identity at most one fetch per second.
 */
const JWKS_COOLDOWN_MS = 1_000;
/**
 * An access token whose signature and claims were verified is remembered (by its exact text) for at most this
 * long, never past its `exp`: the same token sent again skips the ES256 verification (the costliest step of a
 * request's authentication). Revocations are checked on every request whatever is remembered; the bound keeps a
 * key identity withdraws from its JWKS from being trusted for long (docs/adr/0029-router-per-request-path.md).
 */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** How many verified access tokens are remembered (least recently used forgotten first; about 1 KiB each). */
const VERIFIED_TOKEN_CAPACITY = 10_000;
/** A rejected API key is remembered briefly so a flood of bad keys does not hammer identity. */
const NEGATIVE_CACHE_MS = 5_000;

/** Why credentials were refused (logged; the client sees UNAUTHENTICATED and a generic message). */
export type AuthFailureReason =
  | 'malformed_authorization'
  | 'token_expired'
  | 'token_invalid'
  | 'api_key_invalid'
  /** Revoked after it was issued: the user's role changed, the user was deactivated, the API key revoked. */
  | 'credentials_revoked'
  /** Identity (its JWKS or API-key verification) or its revocation feed cannot be reached: HTTP 503. */
  | 'identity_unavailable';

export class AuthenticationError extends Error {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super(message);
  }
}

const accessClaims = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  scopes: z.array(z.enum(ALL_SCOPES)),
});

const verifiedKey = z.object({
  apiKeyId: z.string(),
  userId: z.string(),
  role: z.enum(ROLES),
  scopes: z.array(z.enum(ALL_SCOPES)),
  tier: z.enum(Object.values(ApiKeyTier)),
  expiresAt: z.string().nullable(),
});

/** What a verified access token said, kept by its text (`Authenticator`). */
interface VerifiedAccessToken {
  principal: Extract<Principal, { kind: 'user' }>;
  /** `iat`, for the revocation check each request still makes. */
  issuedAtMs: number;
  /** The earlier of `exp` and VERIFIED_TOKEN_TTL_MS after verification. */
  trustedUntilMs: number;
}

export interface AuthenticatorOptions {
  identityUrl: string;
  issuer: string;
  audience: string;
  internalTokenSecret: string;
  kv: KeyValueStore;
  apiKeyCacheTtlSeconds: number;
  logger: Logger;
  /**
   * Identity's revocations (role changes, deactivations, revoked API keys), applied within seconds. Unset = none
   * (credentials hold until they expire or, for API keys, until the cache TTL); while set but not live, every
   * credential is refused as "cannot be verified right now" (docs/adr/0013-credential-revocation.md).
   */
  revocations?: RevocationFeed;
}

/**
 * Turns request credentials into a principal: a JWT verified locally against identity's JWKS (cached by jose,
 * refetched when an unknown `kid` appears, i.e. after a key rotation), or an API key verified by identity and
 * cached briefly in the key-value store (so a revoked key stops working within the cache TTL).
 */
export class Authenticator {
  readonly #jwks: JWTVerifyGetKey;
  /** Access tokens verified lately: what each one says and until when it may be trusted without verifying. */
  readonly #verified = new Lru<VerifiedAccessToken>(VERIFIED_TOKEN_CAPACITY);

  constructor(private readonly options: AuthenticatorOptions) {
    this.#jwks = createRemoteJWKSet(new URL(`${options.identityUrl}/.well-known/jwks.json`), {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 3_000,
    });
  }

  /** The revocations credentials are checked against, if any (open connections listen to it too). */
  get revocations(): RevocationFeed | undefined {
    return this.options.revocations;
  }

  /** Anonymous when no credentials are sent; throws AuthenticationError for any bad ones. */
  async authenticate(headers: IncomingHttpHeaders, requestId: string): Promise<Principal> {
    const credential = extractCredential(headers);
    if (!credential) return ANONYMOUS;
    this.#assertRevocationsLive();
    if (credential.startsWith(API_KEY_PREFIX)) return this.#verifyApiKey(credential, requestId);
    return this.#verifyAccessToken(credential);
  }

  /** Fails closed: without the revocation feed a revoked credential would pass unnoticed. */
  #assertRevocationsLive(): void {
    const feed = this.options.revocations;
    if (!feed || feed.live) return;
    this.options.logger.warn({}, 'credentials refused: the revocation feed is not live');
    throw new AuthenticationError('identity_unavailable', 'Credentials cannot be verified right now.');
  }

  /** Throws `credentials_revoked` when the revocation view refuses the principal. */
  #assertNotRevoked(principal: Principal, issuedAtMs?: number): void {
    const revoked = this.options.revocations?.view.check(principal, issuedAtMs);
    if (revoked) throw new AuthenticationError('credentials_revoked', revoked.message);
  }

  async #verifyAccessToken(token: string): Promise<Principal> {
    const remembered = this.#verified.get(token);
    if (remembered && Date.now() < remembered.trustedUntilMs) {
      this.#assertNotRevoked(remembered.principal, remembered.issuedAtMs);
      return { ...remembered.principal, scopes: [...remembered.principal.scopes] };
    }
    const verify = () =>
      jwtVerify(token, this.#jwks, {
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
      });
    try {
      let verified;
      try {
        verified = await verify();
      } catch (error) {
        if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
        // Possibly a key identity activated after our last fetch, inside the cooldown: try once after it.
        await new Promise((resolve) => setTimeout(resolve, JWKS_COOLDOWN_MS + 50));
        verified = await verify();
      }
      const { payload } = verified;
      const claims = accessClaims.safeParse(payload);
      if (!claims.success) throw new AuthenticationError('token_invalid', 'Access token is invalid.');
      const principal: VerifiedAccessToken['principal'] = {
        kind: 'user',
        userId: claims.data.sub,
        role: claims.data.role,
        scopes: claims.data.scopes,
      };
      const issuedAtMs = (payload.iat ?? 0) * 1000;
      this.#assertNotRevoked(principal, issuedAtMs);
      // jose refuses a token once the clock reaches `exp` (seconds): trusted strictly before that, as jose would.
      const trustedUntilMs = Math.min((payload.exp ?? 0) * 1000, Date.now() + VERIFIED_TOKEN_TTL_MS);
      this.#verified.set(token, {
        principal: { ...principal, scopes: [...principal.scopes] },
        issuedAtMs,
        trustedUntilMs,
      });
      return principal;
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      if (error instanceof joseErrors.JWTExpired)
        throw new AuthenticationError('token_expired', 'Access token has expired.');
      if (error instanceof joseErrors.JWKSTimeout || isNetworkError(error)) {
        this.options.logger.error({ err: error }, 'cannot fetch the JWKS from identity');
        throw new AuthenticationError('identity_unavailable', 'Credentials cannot be verified right now.');
      }
      throw new AuthenticationError('token_invalid', 'Access token is invalid.');
    }
  }

  async #verifyApiKey(key: string, requestId: string): Promise<Principal> {
    if (key.length > 200) throw new AuthenticationError('api_key_invalid', 'API key is invalid.');
    const cacheKey = `router:apikey:${createHash('sha256').update(key).digest('hex')}`;
    const cached = await this.options.kv.get(cacheKey).catch(() => null);
    if (cached === 'invalid') throw new AuthenticationError('api_key_invalid', 'API key is invalid.');
    if (cached) {
      const principal = JSON.parse(cached) as Principal;
      const revoked = this.options.revocations?.view.check(principal);
      if (!revoked) return principal;
      // A revoked key or a deactivated owner is final; a changed role only makes the cached scopes stale.
      if (revoked.reason !== 'role_changed')
        throw new AuthenticationError('credentials_revoked', revoked.message);
      await this.options.kv.del(cacheKey).catch(() => undefined);
    }

    const token = await signRouterToken(this.options.internalTokenSecret, {
      principal: ANONYMOUS,
      requestId,
      clientIp: 'router',
    });
    let response: Response;
    try {
      response = await fetch(`${this.options.identityUrl}/internal/api-keys/verify`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [ROUTER_TOKEN_HEADER]: token,
          [REQUEST_ID_HEADER]: requestId,
        },
        body: JSON.stringify({ key }),
        signal: AbortSignal.timeout(3_000),
      });
    } catch (error) {
      this.options.logger.error({ err: error }, 'cannot reach identity to verify an API key');
      throw new AuthenticationError('identity_unavailable', 'Credentials cannot be verified right now.');
    }
    if (response.status === 404) {
      await this.options.kv.set(cacheKey, 'invalid', NEGATIVE_CACHE_MS).catch(() => undefined);
      throw new AuthenticationError('api_key_invalid', 'API key is invalid.');
    }
    if (!response.ok) {
      this.options.logger.error({ status: response.status }, 'identity failed to verify an API key');
      throw new AuthenticationError('identity_unavailable', 'Credentials cannot be verified right now.');
    }
    const verified = verifiedKey.parse(await response.json());
    const principal: Principal = {
      kind: 'apiKey',
      userId: verified.userId,
      apiKeyId: verified.apiKeyId,
      role: verified.role,
      scopes: verified.scopes,
      tier: verified.tier,
    };
    // Identity answered with the key's current state; only an event it has not seen yet can still refuse it.
    const revoked = this.options.revocations?.view.check(principal);
    if (revoked && revoked.reason !== 'role_changed')
      throw new AuthenticationError('credentials_revoked', revoked.message);
    const ttlMs = Math.min(
      this.options.apiKeyCacheTtlSeconds * 1000,
      verified.expiresAt ? new Date(verified.expiresAt).getTime() - Date.now() : Number.POSITIVE_INFINITY,
    );
    if (ttlMs > 0)
      await this.options.kv.set(cacheKey, JSON.stringify(principal), ttlMs).catch(() => undefined);
    return principal;
  }
}

/** `Authorization: Bearer <jwt | api key>` or `X-API-Key: <api key>`; anything else malformed is refused. */
function extractCredential(headers: IncomingHttpHeaders): string | null {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey.trim();
  const authorization = headers.authorization;
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) {
    throw new AuthenticationError(
      'malformed_authorization',
      'Authorization header must be `Bearer <token>`.',
    );
  }
  return match[1];
}

function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed/i.test(error.message);
}

/** A client-supplied request id if it is safe to log and echo, else a fresh one. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const value = headers[REQUEST_ID_HEADER];
  return typeof value === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : randomUUID();
}
