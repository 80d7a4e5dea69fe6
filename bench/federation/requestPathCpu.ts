/**
 * Per-request steps the router changed in ADR 0029, each measured alone beside what it replaced (CPU time, so the
 * rest of the machine matters less): encoding the response Apollo serialised, signing the router token, and
 * authenticating a signed-in caller's access token.
 */
import { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import { Authenticator } from '@cap/router';
import { createKeyValueStore, signRouterToken, type Logger, type Principal } from '@cap/runtime';

const ITERATIONS = 1_000;

/** Microseconds of CPU per call of `step` (awaited), after a warm-up. */
async function cpuMicroseconds(step: () => unknown): Promise<number> {
  for (let index = 0; index < ITERATIONS / 4; index += 1) await step();
  const started = process.cpuUsage();
  for (let index = 0; index < ITERATIONS; index += 1) await step();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / ITERATIONS;
}

/** One step before and after. */
export interface StepCost {
  step: string;
  before: number;
  after: number;
}

/** Measures the steps for the benchmark's response (`responseJson`) and caller (`accessToken`). */
export async function requestPathMicroseconds(options: {
  responseJson: string;
  accessToken: string;
  identityUrl: string;
  secret: string;
  logger: Logger;
}): Promise<StepCost[]> {
  const { responseJson, accessToken, identityUrl, secret, logger } = options;
  // Apollo answers JSON.stringify(result) + '\n': a fresh rope string, as `executeHttp` receives it (the
  // serialisation is in both columns).
  const result = JSON.parse(responseJson) as unknown;
  const rope = () => `${JSON.stringify(result)}\n`;
  const encoding = {
    step: 'encode the response (rope string to UTF-8)',
    before: await cpuMicroseconds(() => Buffer.from(rope())),
    after: await cpuMicroseconds(() => {
      const text = rope();
      Buffer.byteLength(text);
      return Buffer.from(text);
    }),
  };
  const principal: Principal = { kind: 'user', userId: 'bench', role: 'ADMIN', scopes: [] };
  const key = new TextEncoder().encode(secret);
  const signing = {
    step: 'sign the router token',
    before: await cpuMicroseconds(() =>
      new SignJWT({ p: principal, rid: 'request', ip: '127.0.0.1' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer('cap-router')
        .setAudience('cap-subgraphs')
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(key),
    ),
    after: await cpuMicroseconds(() =>
      signRouterToken(secret, { principal, requestId: 'request', clientIp: '127.0.0.1' }),
    ),
  };
  const jwks = createRemoteJWKSet(new URL(`${identityUrl}/.well-known/jwks.json`));
  const kv = createKeyValueStore(undefined);
  const authenticator = new Authenticator({
    identityUrl,
    issuer: 'cap-identity',
    audience: 'cap-router',
    internalTokenSecret: secret,
    kv,
    apiKeyCacheTtlSeconds: 60,
    logger,
  });
  const authentication = {
    step: 'authenticate the access token',
    before: await cpuMicroseconds(() =>
      jwtVerify(accessToken, jwks, { algorithms: ['ES256'], issuer: 'cap-identity', audience: 'cap-router' }),
    ),
    after: await cpuMicroseconds(() =>
      authenticator.authenticate({ authorization: `Bearer ${accessToken}` }, 'request'),
    ),
  };
  await kv.close();
  return [encoding, signing, authentication];
}
