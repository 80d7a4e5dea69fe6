import { createServer } from 'node:net';
import { KafkaEventBus } from '@cap/messaging';
import { createLogger } from '@cap/runtime';
import { graphql } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevocationFeed } from '../src/index.js';
import { startStack, type Stack } from './harness.js';
import { LONG_API_KEY_CACHE_SECONDS, revocationScenario } from './revocationScenario.js';

/**
 * Credential revocation without Kafka (the embedded platform's case): identity's events reach every router
 * instance through the in-memory bus they share. The same scenario runs on real Kafka in `revocation.e2e.ts`.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    { API_KEY_CACHE_TTL_SECONDS: LONG_API_KEY_CACHE_SECONDS },
    { revocationBus: (stackBus) => stackBus },
  );
}, 120_000);
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
}, 60_000);

describe('credential revocation on the in-memory bus', () => {
  revocationScenario(() => stack, 60_000);
});

describe('credential revocation when the feed is down', () => {
  it('fails closed: credentials get 503 UNAUTHENTICATED, anonymous requests still run, /ready names the feed', async () => {
    // A loopback port nothing listens on: a real Kafka client that can never join.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const bus = new KafkaEventBus({ brokers: [`127.0.0.1:${port}`], clientId: 'router-revocation-down' });
    const feed = new RevocationFeed({
      bus,
      logger: createLogger({ service: 'router-test', level: 'silent' }),
    });
    void feed.start();
    try {
      const router = await stack.startRouter(undefined, feed);
      const { accessToken } = await stack.loginAdmin();
      const refused = await graphql(
        router.graphqlUrl,
        `
          {
            me {
              id
            }
          }
        `,
        {},
        { authorization: `Bearer ${accessToken}` },
      );
      expect(refused.status).toBe(503);
      expect(refused.errors?.[0]).toMatchObject({
        message: 'Credentials cannot be verified right now.',
        extensions: { code: 'UNAUTHENTICATED' },
      });
      const anonymous = await graphql(
        router.graphqlUrl,
        `
          {
            me {
              id
            }
          }
        `,
      );
      expect(anonymous).toMatchObject({ status: 200, data: { me: null } });
      const ready = await fetch(`${router.url}/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toContain('revocations');
    } finally {
      await feed.close();
      await bus.close();
    }
  }, 60_000);
});
