import type { Logger } from '@cap/runtime';
import { AuthenticationError, type Authenticator } from '../authenticate.js';
import type { SubscriberSession } from './SubscriberSession.js';

/** setTimeout's longest delay; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Ends a long-lived connection when its credentials lapse: an access token at its `exp` (unless renewed first,
 * which replaces this watch), an API key when a periodic re-verification refuses it (revoked or expired; identity
 * being unreachable keeps the connection). Returns the function that stops watching.
 */
export function watchCredentials(options: {
  session: SubscriberSession;
  authenticator: Authenticator;
  apiKeyRecheckMs: number;
  logger: Logger;
  onLapse: (reason: 'token_expired' | 'api_key_invalid') => void;
}): () => void {
  const { session } = options;
  const credential = session.credential;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  if (credential.kind === 'accessToken') {
    const wait = (): void => {
      const left = credential.expiresAt - Date.now();
      if (left <= 0) return options.onLapse('token_expired');
      timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
    };
    wait();
  } else if (credential.kind === 'apiKey') {
    const recheck = (): void => {
      timer = setTimeout(() => {
        options.authenticator.authenticate(credential.headers, session.requestId).then(
          () => {
            if (!stopped) recheck();
          },
          (error: unknown) => {
            if (stopped) return;
            if (error instanceof AuthenticationError && error.reason !== 'identity_unavailable')
              return options.onLapse('api_key_invalid');
            options.logger.warn(
              { err: error, requestId: session.requestId },
              'cannot re-verify an API key; keeping the connection',
            );
            recheck();
          },
        );
      }, options.apiKeyRecheckMs);
    };
    recheck();
  }
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
