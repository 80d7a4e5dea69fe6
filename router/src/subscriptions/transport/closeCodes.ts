/**
 * WebSocket close codes the router's graphql-ws endpoint ends a connection with (docs/CONVENTIONS.md §10: named, never bare
 * literals). The 44xx/4500 values are the `graphql-transport-ws` protocol's own (graphql-ws `CloseCode`), so stock
 * clients understand them; 1001 and 1013 are RFC 6455 codes that tell a client to reconnect.
 *
 * | code | when | client should |
 * |---|---|---|
 * | 4400 | a malformed message, a `connection_init` payload of the wrong shape | fix the client |
 * | 4401 | bad, expired, forged or revoked credentials; an access token that expired and was not renewed; subscribing before `connection_ack` | sign in again, reconnect |
 * | 4403 | a re-authentication `ping` naming a different caller than the connection's (`FORBIDDEN`); credentials revoked while the connection was open: the user's role changed, the user was deactivated, the API key was revoked (`CREDENTIALS_REVOKED`) | reconnect as that caller; after a revocation refresh the session (new role) or stop |
 * | 4408 | no `connection_init` within the init timeout | reconnect |
 * | 4409 | a second `subscribe` with an id that is still running | fix the client |
 * | 4429 | a second `connection_init`, or too many connections (in all, or from one address) | back off |
 * | 4500 | an unexpected failure in the router (logged, never detailed) | reconnect with backoff |
 * | 1001 | the router is shutting down | reconnect |
 * | 1013 | credentials cannot be verified right now (identity unreachable) | reconnect with backoff |
 */
export const SubscriptionCloseCode = {
  BAD_REQUEST: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  /**
   * Identity revoked the connection's credentials (role change, deactivation, revoked API key): Forbidden,
   * distinct from 4401 so clients do not blindly retry with the same token (docs/adr/0013).
   */
  CREDENTIALS_REVOKED: 4403,
  CONNECTION_INIT_TIMEOUT: 4408,
  SUBSCRIBER_ALREADY_EXISTS: 4409,
  TOO_MANY_REQUESTS: 4429,
  INTERNAL_SERVER_ERROR: 4500,
  GOING_AWAY: 1001,
  TRY_AGAIN_LATER: 1013,
} as const;

export type SubscriptionCloseCode = (typeof SubscriptionCloseCode)[keyof typeof SubscriptionCloseCode];

/**
 * Close codes of an upstream (router → subgraph) socket after which the router reconnects and resumes: the
 * subgraph instance went away (1001 shutdown, 1006 crash or network loss, 1012 restart, 1011/1013/1014 failure or
 * overload), or our own keep-alive gave up on it (4499, graphql-ws' "Terminated"). Anything else (protocol errors
 * such as a refused router token) is not retried: it would fail the same way again. (A 1000 close with
 * subscriptions running never reaches the router's code: the graphql-ws client reconnects by itself.)
 */
export const UPSTREAM_RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  1001, 1005, 1006, 1011, 1012, 1013, 1014, 4499,
]);
