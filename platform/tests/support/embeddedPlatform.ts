import type { Logger } from '@cap/runtime';
import { graphql } from '@cap/testkit';
import { expect } from 'vitest';
import { loadConfig, startPlatform, type RunningPlatform } from '../../src/index.js';

/** The router's login mutation (`$e` email, `$p` password), answering the access token. */
export const LOGIN = `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }`;

/**
 * The environment a platform test starts from: development mode on `dataDir` (task workspaces there too), an
 * ephemeral port, no logs, no supergraph polling; `extra` adds to it and wins.
 */
export function platformTestEnv(
  dataDir: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'silent',
    SUPERGRAPH_POLL_INTERVAL_MS: '0',
    WORKSPACE_ROOT: dataDir,
    PATH: process.env['PATH'],
    ...extra,
  };
}

/** Starts the platform on `env` and logs its first admin in through the router. */
export async function startPlatformAsAdmin(
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<{ platform: RunningPlatform; url: string; auth: Record<string, string> }> {
  const platform = await startPlatform({ config: loadConfig(env), env, logger });
  const url = platform.router.graphqlUrl;
  const admin = platform.identity.bootstrappedAdmin!;
  const login = await graphql(url, LOGIN, { e: admin.email, p: admin.password });
  expect(login.errors).toBeUndefined();
  return { platform, url, auth: { authorization: `Bearer ${login.data!['login'].accessToken as string}` } };
}
