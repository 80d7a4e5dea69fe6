import { randomUUID } from 'node:crypto';
import { createContractRegistry, identityContracts, IdentityTopic, safeParseEnvelope } from '@cap/events';
import type { BusSubscription, EventBus } from '@cap/messaging';
import type { Logger } from '@cap/runtime';
import { RevocationView } from './RevocationView.js';

/** Identity's topics that carry revocations (role changes and deactivations; API-key revocations). */
export const REVOCATION_TOPICS = [IdentityTopic.user, IdentityTopic.apiKey] as const;
/** Consumer groups of router instances are `<prefix><instance id>`: every instance reads every event. */
export const REVOCATION_GROUP_PREFIX = 'router.revocations.';
/** Longest wait between two attempts to join the bus while it is unreachable (ms). */
const MAX_RETRY_DELAY_MS = 10_000;

const contracts = createContractRegistry(identityContracts);

export interface RevocationFeedOptions {
  bus: EventBus;
  logger: Logger;
  /** This router instance's id (default: a random one per process), part of its consumer group. */
  instanceId?: string;
}

/**
 * Feeds a {@link RevocationView} from identity's events (docs/adr/0013-credential-revocation.md). Each router
 * instance consumes in a consumer group of its own, so every instance sees every event, and from the oldest
 * retained record, so an instance started after a revocation still knows it (the view ignores what is older than
 * its retention). Until the feed has joined the bus it is not `live`, and the authenticator refuses credentials
 * as "cannot be verified right now" rather than trusting them blindly (fail closed).
 */
export class RevocationFeed {
  readonly view = new RevocationView();
  readonly groupId: string;
  readonly #options: RevocationFeedOptions;
  #subscription: BusSubscription | undefined;
  #started: Promise<void> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(options: RevocationFeedOptions) {
    this.#options = options;
    this.groupId = `${REVOCATION_GROUP_PREFIX}${options.instanceId ?? randomUUID()}`;
  }

  /** Whether revocations are being received (the subscription has joined the bus). */
  get live(): boolean {
    return this.#subscription !== undefined && !this.#closed;
  }

  /**
   * Joins the bus, retrying with backoff (1 s, 2 s, … 10 s) while it is unreachable; resolves once live (or
   * closed). Idempotent.
   */
  start(): Promise<void> {
    this.#started ??= this.#join();
    return this.#started;
  }

  /** Readiness check for `/ready`: fails while revocations are not being received. */
  readonly readiness = async (): Promise<undefined> => {
    if (!this.live) throw new Error('the revocation feed has not joined the event bus');
    return undefined;
  };

  /**
   * Leaves the bus. Idempotent. Does not wait for a join attempt in flight (the bus may hang on an unreachable
   * broker until it is closed itself); such an attempt leaves again as soon as it joins.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  async #join(): Promise<void> {
    const { bus, logger } = this.#options;
    for (let attempt = 1; !this.#closed; attempt += 1) {
      try {
        await bus.ensureTopics([...REVOCATION_TOPICS]);
        const subscription = await bus.subscribe({
          groupId: this.groupId,
          topics: [...REVOCATION_TOPICS],
          fromBeginning: true,
          handler: async (record) => this.#handle(record.value),
        });
        if (this.#closed) {
          await subscription.close();
          return;
        }
        this.#subscription = subscription;
        logger.info({ groupId: this.groupId }, 'revocation feed live');
        return;
      } catch (error) {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (attempt - 1));
        // Error level: while this lasts, every request with credentials is refused with 503.
        logger.error({ err: error, attempt, delayMs }, 'revocation feed cannot join the event bus; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  #handle(value: string): void {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      this.#options.logger.warn({}, 'revocation feed skipped a record that is not JSON');
      return;
    }
    const parsed = safeParseEnvelope(json, contracts);
    // Not ours to dead-letter (identity's own consumers do); a bad record must not stop revocations behind it.
    if (!parsed.ok) {
      this.#options.logger.warn({ err: parsed.error }, 'revocation feed skipped an invalid event');
      return;
    }
    this.#options.logger.debug(
      { type: parsed.envelope.type, id: parsed.envelope.id },
      'identity event applied',
    );
    this.view.apply(parsed.envelope);
  }
}
