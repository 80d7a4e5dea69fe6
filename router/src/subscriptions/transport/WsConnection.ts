import type { Logger, TrustedProxies } from '@cap/runtime';
import type { WebSocket } from 'ws';
import type { Authenticator } from '../../authenticate.js';
import type { SubscriptionEngine } from '../execution/SubscriptionEngine.js';
import type { SubscriptionSettings } from '../settings.js';
import type { ConnectionLimiter } from './ConnectionLimiter.js';
import { AuthenticationError } from '../../authenticate.js';
import { SubscriptionCloseCode } from './closeCodes.js';
import {
  authenticateCredentials,
  credentialHeaders,
  sameCaller,
  SubscriberSession,
  type Authenticated,
} from '../session/SubscriberSession.js';
import { watchCredentials } from '../session/watchCredentials.js';

export interface GraphQLWsEndpointOptions {
  engine: SubscriptionEngine;
  authenticator: Authenticator;
  limiter: ConnectionLimiter;
  internalTokenSecret: string;
  trustProxy: TrustedProxies;
  /** Largest message a client may send (bytes). */
  maxPayloadBytes: number;
  settings: SubscriptionSettings;
  logger: Logger;
}

/** One client WebSocket: its session once authenticated, and how it ends. */
export class WsConnection {
  session: SubscriberSession | undefined;
  readonly #ids = new Set<string>();
  #closed = false;
  #stopWatching: (() => void) | undefined;
  #resolveDisposed: () => void = () => undefined;
  /** Resolves once the connection's subscriptions and upstream sockets are released. */
  readonly disposed = new Promise<void>((resolve) => (this.#resolveDisposed = resolve));

  constructor(
    private readonly ws: WebSocket,
    readonly requestId: string,
    readonly clientIp: string,
    private readonly options: GraphQLWsEndpointOptions,
  ) {}

  get running(): number {
    return this.#ids.size;
  }

  started(id: string): void {
    this.#ids.add(id);
  }

  finished(id: string): void {
    this.#ids.delete(id);
  }

  /** First close wins (graphql-ws may try a second code after we closed with ours). */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ws.close(code, reason);
  }

  /** `connection_init`: authenticates its payload; false = refused (the socket is closing with the reason). */
  async connect(
    params: Readonly<Record<string, unknown>> | undefined,
  ): Promise<boolean | Record<string, unknown>> {
    const authenticated = await this.#authenticate(params);
    if (!authenticated || this.#closed) return false;
    const { internalTokenSecret, settings, logger, engine } = this.options;
    this.session = new SubscriberSession({
      ...authenticated,
      requestId: this.requestId,
      clientIp: this.clientIp,
      internalTokenSecret,
      upstream: { urlOf: (subgraph) => engine.webSocketUrlOf(subgraph), settings, logger },
    });
    this.#watch();
    return ackPayload(authenticated);
  }

  /**
   * A `ping` from the client. With `{ authorization }` or `{ 'x-api-key' }` in its payload it renews the
   * connection's credentials (same caller only); the pong then says until when they hold.
   */
  async onPing(
    payload: Readonly<Record<string, unknown>> | undefined,
  ): Promise<Record<string, unknown> | undefined> {
    const session = this.session;
    if (
      !session ||
      !payload ||
      !Object.keys(payload).some((key) => ['authorization', 'x-api-key'].includes(key.toLowerCase()))
    )
      return undefined;
    const authenticated = await this.#authenticate(payload);
    if (!authenticated || this.#closed) return undefined;
    if (!sameCaller(session.principal, authenticated.principal)) {
      this.options.logger.warn(
        { requestId: this.requestId },
        'a subscription connection tried to change its caller',
      );
      this.close(SubscriptionCloseCode.FORBIDDEN, 'Forbidden: credentials of another caller');
      return undefined;
    }
    session.renew(authenticated);
    this.#watch();
    return ackPayload(authenticated);
  }

  /** Releases the session (upstream sockets) after graphql-ws ended the connection's subscriptions. */
  dispose(subscriptionsEnded: Promise<void>): void {
    this.#closed = true;
    this.#stopWatching?.();
    subscriptionsEnded
      .catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'failed to end the subscriptions of a closed connection'),
      )
      .then(() => this.session?.dispose())
      .finally(() => this.#resolveDisposed());
  }

  async #authenticate(
    params: Readonly<Record<string, unknown>> | undefined,
  ): Promise<Authenticated | undefined> {
    const { authenticator, logger } = this.options;
    const headers = credentialHeaders(params);
    if (!headers) {
      this.close(
        SubscriptionCloseCode.BAD_REQUEST,
        'Bad request: `authorization` and `x-api-key` must be strings',
      );
      return undefined;
    }
    try {
      return await authenticateCredentials(authenticator, headers, this.requestId);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      logger.info(
        { requestId: this.requestId, reason: error.reason, clientIp: this.clientIp },
        'subscription credentials refused',
      );
      if (error.reason === 'identity_unavailable')
        this.close(SubscriptionCloseCode.TRY_AGAIN_LATER, 'Credentials cannot be verified right now');
      else this.close(SubscriptionCloseCode.UNAUTHORIZED, 'Unauthorized');
      return undefined;
    }
  }

  #watch(): void {
    this.#stopWatching?.();
    const session = this.session;
    if (!session) return;
    this.#stopWatching = watchCredentials({
      session,
      authenticator: this.options.authenticator,
      apiKeyRecheckMs: this.options.settings.apiKeyRecheckMs,
      logger: this.options.logger,
      onLapse: ({ reason, message }) => {
        this.options.logger.info(
          { requestId: this.requestId, reason },
          'subscription credentials lapsed; closing',
        );
        if (reason === 'credentials_revoked')
          this.close(SubscriptionCloseCode.CREDENTIALS_REVOKED, `Forbidden: ${message}`);
        else
          this.close(
            SubscriptionCloseCode.UNAUTHORIZED,
            reason === 'token_expired'
              ? 'Unauthorized: access token expired'
              : 'Unauthorized: API key no longer valid',
          );
      },
    });
  }
}

/** `connection_ack` / re-authentication `pong` payload: until when the credentials hold (access tokens). */
function ackPayload(authenticated: Authenticated): Record<string, unknown> {
  return authenticated.credential.kind === 'accessToken'
    ? { expiresAt: new Date(authenticated.credential.expiresAt).toISOString() }
    : {};
}
