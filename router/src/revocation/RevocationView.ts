import { ApiKeyRevoked, UserDeactivated, UserRoleChanged, type AnyEnvelope } from '@cap/events';
import type { Principal } from '@cap/runtime';

/**
 * How long a revocation is remembered (ms): identity's longest access-token lifetime
 * (`ACCESS_TOKEN_TTL_SECONDS` ≤ 86,400). After that every token issued before it has expired anyway, and an API
 * key's verification cache (≤ `API_KEY_CACHE_TTL_SECONDS`, one hour at most) has long asked identity again.
 */
export const REVOCATION_RETENTION_MS = 86_400_000;
/**
 * Access tokens carry `iat` in whole seconds, the event its time in milliseconds: a token stamped up to this long
 * after a deactivation still counts as issued before it (refresh refuses a deactivated user, so no honest token
 * can be that young).
 */
const IAT_SLACK_MS = 1_000;

/** Why a credential no longer holds. */
export type RevocationReason = 'role_changed' | 'user_deactivated' | 'api_key_revoked';

/** A credential refused by the view, with the message the client gets. */
export interface Revocation {
  reason: RevocationReason;
  message: string;
}

/** Who a revocation affects, for open connections to check themselves against. */
export interface RevocationNotice {
  userId: string;
  apiKeyId?: string;
}

const MESSAGES: Record<RevocationReason, string> = {
  role_changed:
    "Access token was issued before the user's role changed; refresh the session to get a new one.",
  user_deactivated: 'Credentials belong to a deactivated user.',
  api_key_revoked: 'API key has been revoked.',
};

/**
 * The router's picture of identity's revocations, fed by identity's events (`UserRoleChanged`,
 * `UserDeactivated`, `ApiKeyRevoked`; see {@link RevocationFeed}): "tokens of user U issued before T carry a
 * stale role", "user U is deactivated", "API key K is revoked". Entries are forgotten after
 * {@link REVOCATION_RETENTION_MS}. Pure bookkeeping: no I/O, so every check is a map lookup.
 */
export class RevocationView {
  readonly #roles = new Map<string, { role: string; at: number }>();
  readonly #deactivated = new Map<string, number>();
  readonly #keys = new Map<string, { userId: string; at: number }>();
  readonly #listeners = new Set<(notice: RevocationNotice) => void>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Entries held now (for tests and diagnostics). */
  get size(): number {
    return this.#roles.size + this.#deactivated.size + this.#keys.size;
  }

  /**
   * Applies one of identity's events; other events are ignored, and so are events older than the retention
   * (a replay of the topics when the router starts). Listeners hear about every applied revocation.
   */
  apply(envelope: AnyEnvelope): void {
    const at = Date.parse(envelope.occurredAt);
    if (!Number.isFinite(at) || at < this.#now() - REVOCATION_RETENTION_MS) return;
    this.#sweep();
    let notice: RevocationNotice;
    if (UserRoleChanged.is(envelope)) {
      const { userId, to } = envelope.payload;
      const known = this.#roles.get(userId);
      // Per user, events arrive in order (partitioned by user id); a replayed older one must not win.
      if (known && known.at > at) return;
      this.#roles.set(userId, { role: to, at });
      notice = { userId };
    } else if (UserDeactivated.is(envelope)) {
      const { userId } = envelope.payload;
      this.#deactivated.set(userId, Math.max(at, this.#deactivated.get(userId) ?? 0));
      notice = { userId };
    } else if (ApiKeyRevoked.is(envelope)) {
      const { keyId, ownerId } = envelope.payload;
      this.#keys.set(keyId, { userId: ownerId, at });
      notice = { userId: ownerId, apiKeyId: keyId };
    } else {
      return;
    }
    for (const listener of this.#listeners) listener(notice);
  }

  /**
   * Whether a principal's credential was revoked. `issuedAtMs` is an access token's `iat` (in ms); API keys
   * have none. An API key whose owner's role changed counts as `role_changed`: its cached verification is stale.
   */
  check(principal: Principal, issuedAtMs?: number): Revocation | null {
    if (principal.kind === 'anonymous') return null;
    const reason = this.#reason(principal, issuedAtMs);
    return reason ? { reason, message: MESSAGES[reason] } : null;
  }

  /** Calls `listener` for every revocation applied from now on; returns the function that stops listening. */
  onRevocation(listener: (notice: RevocationNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #reason(
    principal: Exclude<Principal, { kind: 'anonymous' }>,
    issuedAtMs: number | undefined,
  ): RevocationReason | null {
    const expired = this.#now() - REVOCATION_RETENTION_MS;
    const deactivatedAt = this.#deactivated.get(principal.userId);
    if (deactivatedAt !== undefined && deactivatedAt >= expired) {
      if (
        principal.kind === 'apiKey' ||
        issuedAtMs === undefined ||
        issuedAtMs <= deactivatedAt + IAT_SLACK_MS
      )
        return 'user_deactivated';
    }
    if (principal.kind === 'apiKey') {
      const key = this.#keys.get(principal.apiKeyId);
      if (key && key.at >= expired) return 'api_key_revoked';
    }
    const role = this.#roles.get(principal.userId);
    // A role other than the current one is stale whenever it was issued: the role only changes through events.
    if (role && role.at >= expired && principal.role !== role.role) return 'role_changed';
    return null;
  }

  /** Drops entries past the retention (called on every apply: revocations are rare, the maps stay small). */
  #sweep(): void {
    const expired = this.#now() - REVOCATION_RETENTION_MS;
    for (const [id, entry] of this.#roles) if (entry.at < expired) this.#roles.delete(id);
    for (const [id, at] of this.#deactivated) if (at < expired) this.#deactivated.delete(id);
    for (const [id, entry] of this.#keys) if (entry.at < expired) this.#keys.delete(id);
  }
}
