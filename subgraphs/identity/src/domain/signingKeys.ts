import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { PrismaClient } from '../generated/prisma/client.js';
import { open, seal } from './secretBox.js';

/** Access tokens are ES256 JWTs; the router accepts no other algorithm. */
export const ACCESS_TOKEN_ALGORITHM = 'ES256';

/** Claims identity puts in an access token beyond iss/aud/sub/iat/exp/jti. */
export interface AccessTokenClaims {
  userId: string;
  role: string;
  scopes: readonly string[];
  /** The refresh-token family (session) this token was issued for. */
  sessionId: string;
}

export interface SigningKeyRingOptions {
  prisma: PrismaClient;
  /** Encrypts private keys at rest. */
  secret: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  /** How long a cached active key is trusted before re-reading (another instance may have rotated). */
  cacheMs?: number;
}

interface ActiveKey {
  kid: string;
  key: CryptoKey | Uint8Array;
  loadedAt: number;
}

/**
 * The keys that sign access tokens. Exactly one is ACTIVE; after a rotation the previous one stays in the
 * JWKS as RETIRING for one access-token lifetime, so tokens it signed keep verifying until they expire.
 */
export class SigningKeyRing {
  #active: ActiveKey | null = null;
  readonly #cacheMs: number;

  constructor(private readonly options: SigningKeyRingOptions) {
    this.#cacheMs = options.cacheMs ?? 60_000;
  }

  /** Creates the first key when none is active (first start). */
  async ensureActiveKey(): Promise<void> {
    const active = await this.options.prisma.signingKey.findFirst({ where: { status: 'ACTIVE' } });
    if (!active) await this.rotate();
  }

  /** Makes a new key active; the previous one starts retiring. Returns the new key id. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
    const privateJwk = await exportJWK(privateKey);
    const now = new Date();
    await this.options.prisma.$transaction([
      this.options.prisma.signingKey.updateMany({
        where: { status: 'ACTIVE' },
        data: { status: 'RETIRING', retiringAt: now },
      }),
      this.options.prisma.signingKey.create({
        data: {
          id: kid,
          algorithm: ACCESS_TOKEN_ALGORITHM,
          publicJwk,
          privateJwk: seal(this.options.secret, JSON.stringify(privateJwk)),
          status: 'ACTIVE',
        },
      }),
    ]);
    this.#active = null;
    await this.retireExpired();
    return kid;
  }

  /** Retires keys whose last token has certainly expired (retiring for longer than a token lifetime). */
  async retireExpired(): Promise<number> {
    const cutoff = new Date(Date.now() - (this.options.accessTokenTtlSeconds + 60) * 1000);
    const { count } = await this.options.prisma.signingKey.updateMany({
      where: { status: 'RETIRING', retiringAt: { lt: cutoff } },
      data: { status: 'RETIRED' },
    });
    return count;
  }

  /** The JWKS document: public keys of ACTIVE and RETIRING keys. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys = await this.options.prisma.signingKey.findMany({
      where: { status: { in: ['ACTIVE', 'RETIRING'] } },
      orderBy: { createdAt: 'desc' },
    });
    return { keys: keys.map((key) => key.publicJwk as JWK) };
  }

  async #activeKey(): Promise<ActiveKey> {
    if (this.#active && Date.now() - this.#active.loadedAt < this.#cacheMs) return this.#active;
    const row = await this.options.prisma.signingKey.findFirst({
      where: { status: 'ACTIVE' },
      orderBy: { createdAt: 'desc' },
    });
    if (!row) throw new Error('No active signing key; identity did not finish starting');
    const jwk = JSON.parse(open(this.options.secret, row.privateJwk)) as JWK;
    this.#active = { kid: row.id, key: await importJWK(jwk, ACCESS_TOKEN_ALGORITHM), loadedAt: Date.now() };
    return this.#active;
  }

  /** Signs an access token; returns it with its expiry. */
  async signAccessToken(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }> {
    const active = await this.#activeKey();
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAtSeconds = issuedAt + this.options.accessTokenTtlSeconds;
    const token = await new SignJWT({ role: claims.role, scopes: claims.scopes, sid: claims.sessionId })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: active.kid, typ: 'at+jwt' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(claims.userId)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSeconds)
      .sign(active.key);
    return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
  }
}
