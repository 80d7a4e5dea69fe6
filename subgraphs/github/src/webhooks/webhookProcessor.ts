import { inTransaction } from '@cap/runtime/kit';
import type { GithubDeps } from '../domain/deps.js';
import { LoopWorker } from '../jobs/wakeableLoop.js';
import { publishPullRequestChanges } from '../live/pullRequestLive.js';
import { eventsOfDelivery, MalformedDeliveryError } from './webhookEvents.js';

/** A delivery that failed this often is left for an operator (its `last_error` says why). */
export const MAX_DELIVERY_ATTEMPTS = 10;
const BATCH = 20;

/**
 * Processes stored webhook deliveries after their answer: each in its own transaction with the events it
 * produces (outbox), marked processed in the same transaction. Woken by each new delivery and by a timer (retries
 * of failed ones, and deliveries a crashed instance left). Several instances may run: a delivery is claimed with
 * `FOR UPDATE SKIP LOCKED`.
 */
export class WebhookProcessor extends LoopWorker {
  readonly #deps: GithubDeps;

  constructor(deps: GithubDeps, options: { intervalMs: number }) {
    super({ name: 'webhook processing', intervalMs: options.intervalMs, logger: deps.logger });
    this.#deps = deps;
  }

  protected async drain(): Promise<void> {
    for (;;) {
      if (this.loop.stopped) return;
      const processed = await this.#processBatch();
      if (processed < BATCH) return;
    }
  }

  async #processBatch(): Promise<number> {
    const { prisma } = this.#deps;
    const ids = await prisma.$queryRaw<{ delivery_id: string }[]>`
      SELECT delivery_id FROM "github"."webhook_deliveries"
      WHERE processed_at IS NULL AND attempts < ${MAX_DELIVERY_ATTEMPTS}
      ORDER BY received_at LIMIT ${BATCH}`;
    for (const { delivery_id: id } of ids) await this.#processOne(id);
    return ids.length;
  }

  async #processOne(deliveryId: string): Promise<void> {
    const deps = this.#deps;
    try {
      await inTransaction(deps, async ({ tx, afterCommit }) => {
        const locked = await tx.$queryRaw<{ delivery_id: string }[]>`
          SELECT delivery_id FROM "github"."webhook_deliveries"
          WHERE delivery_id = ${deliveryId} AND processed_at IS NULL FOR UPDATE SKIP LOCKED`;
        if (locked.length === 0) return;
        const delivery = await tx.webhookDelivery.findUniqueOrThrow({ where: { deliveryId } });
        const events = await eventsOfDelivery(tx, delivery.event, delivery.payload);
        if (events.length > 0) {
          await deps.events.record(tx, events);
          afterCommit(() => publishPullRequestChanges(deps, events));
        }
        await tx.webhookDelivery.update({
          where: { deliveryId },
          data: { processedAt: new Date(), attempts: { increment: 1 }, lastError: null },
        });
      });
    } catch (error) {
      const malformed = error instanceof MalformedDeliveryError;
      const message = deps.redactor
        .redact(error instanceof Error ? error.message : String(error))
        .slice(0, 1_000);
      deps.logger.warn({ deliveryId, malformed, error: message }, 'webhook delivery could not be processed');
      await deps.prisma.webhookDelivery.update({
        where: { deliveryId },
        data: {
          attempts: malformed ? MAX_DELIVERY_ATTEMPTS : { increment: 1 },
          lastError: message,
        },
      });
    }
  }
}
