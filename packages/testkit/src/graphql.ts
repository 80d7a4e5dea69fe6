import { randomUUID } from 'node:crypto';
import { ANONYMOUS, ROUTER_TOKEN_HEADER, signRouterToken, type Principal } from '@cap/runtime';

/** A GraphQL response as the wire carries it. */
export interface GraphQLResult<TData = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: TData | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  extensions?: Record<string, unknown>;
}

/** POSTs one GraphQL operation over real HTTP. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
export async function graphql<TData = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResult<TData>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: { data?: TData | null; errors?: GraphQLResult['errors']; extensions?: Record<string, unknown> } =
    {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`Non-JSON response (HTTP ${response.status}): ${text.slice(0, 300)}`);
  }
  return { status: response.status, headers: response.headers, ...body };
}

/** The `extensions.code` of every error in a result. */
export function errorCodes(result: GraphQLResult<unknown>): string[] {
  return (result.errors ?? []).map((error) => String(error.extensions?.['code']));
}

/**
 * Headers a test uses to call a subgraph as the router would: a router token for `principal` signed with the
 * shared secret. Subgraph tests use it; router tests go through the real router instead.
 */
export async function asRouter(
  secret: string,
  principal: Principal = ANONYMOUS,
  options: { clientIp?: string; requestId?: string } = {},
): Promise<Record<string, string>> {
  const token = await signRouterToken(secret, {
    principal,
    requestId: options.requestId ?? randomUUID(),
    clientIp: options.clientIp ?? '198.51.100.7',
  });
  return { [ROUTER_TOKEN_HEADER]: token };
}

/** A random secret long enough for INTERNAL_TOKEN_SECRET. */
export function testSecret(): string {
  return `test-secret-${randomUUID()}-${randomUUID()}`;
}
