import type { Logger } from '@cap/runtime';
import { AuthenticationError, type Authenticator } from '../../authenticate.js';
import type { SubscriberSession } from './SubscriberSession.js';

/** setTimeout's longest delay; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a connection's credentials stopped holding, and what to tell the client. */
export interface CredentialLapse {
  reason: 'token_expired' | 'api_key_invalid' | 'credentials_revoked';
  message: string;
}

const EXPIRED: CredentialLapse = { reason: 'token_expired', message: 'Access token has expired.' };
const KEY_INVALID: CredentialLapse = { reason: 'api_key_invalid', message: 'API key is no longer valid.' };

/**
 * Ends a long-lived connection when its credentials lapse: an access token at its `exp` (unless renewed first,
 * which replaces this watch), an API key when a periodic re-verification refuses it (revoked or expired; identity
 * being unreachable keeps the connection), and either of them as soon as identity's revocation feed says the
 * user's role changed, the user was deactivated or the key was revoked. Returns the function that stops watching.
 */
export function watchCredentials(options: {
  session: SubscriberSession;
  authenticator: Authenticator;
  apiKeyRecheckMs: number;
  logger: Logger;
  onLapse: (lapse: CredentialLapse) => void;
}): () => void {
  const { session } = options;
  const credential = session.credential;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const lapse = (value: CredentialLapse): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    stopRevocations();
    options.onLapse(value);
  };

  const view = options.authenticator.revocations?.view;
  const checkRevoked = (): void => {
    const principal = session.principal;
    const issuedAt = session.credential.kind === 'accessToken' ? session.credential.issuedAt : undefined;
    const revoked = view?.check(principal, issuedAt);
    if (revoked) lapse({ reason: 'credentials_revoked', message: revoked.message });
  };
  const stopRevocations =
    view && session.principal.kind !== 'anonymous'
      ? view.onRevocation((notice) => {
          const principal = session.principal;
          if (principal.kind !== 'anonymous' && notice.userId === principal.userId) checkRevoked();
        })
      : () => undefined;

  if (credential.kind === 'accessToken') {
    const wait = (): void => {
      const left = credential.expiresAt - Date.now();
      if (left <= 0) return lapse(EXPIRED);
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
              return lapse(
                error.reason === 'credentials_revoked'
                  ? { reason: error.reason, message: error.message }
                  : KEY_INVALID,
              );
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
  // A revocation that arrived between authentication and this watch.
  if (!stopped) checkRevoked();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stopRevocations();
  };
}
