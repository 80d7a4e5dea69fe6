import type { ConversationStore, JsonValue } from '@cap/agent';
import type { PrismaClient } from '../generated/prisma/client.js';

/** A conversation larger than the store takes. */
export class ConversationTooLargeError extends Error {
  override readonly name = 'ConversationTooLargeError';
}

/**
 * The agent's {@link ConversationStore} in PostgreSQL (`orchestration.agent_conversations`): one JSON document per
 * task, written when the agent asks a question (AWAITING_INPUT) and read by the next attempt, on whichever worker
 * claims it. Stored as JSON text (not jsonb, which refuses the `\u0000` a command's output may bring) and capped at
 * `maxBytes`, so that one task cannot fill the database.
 */
export class PrismaConversationStore implements ConversationStore {
  readonly #prisma: PrismaClient;
  readonly #maxBytes: number;

  constructor(prisma: PrismaClient, options: { maxBytes: number }) {
    this.#prisma = prisma;
    this.#maxBytes = options.maxBytes;
  }

  async load(taskId: string): Promise<JsonValue | null> {
    const row = await this.#prisma.agentConversation.findUnique({
      where: { taskId },
      select: { state: true },
    });
    return row ? (JSON.parse(row.state) as JsonValue) : null;
  }

  /** @throws {ConversationTooLargeError} when the serialised conversation exceeds the cap (nothing is written) */
  async save(taskId: string, state: JsonValue): Promise<void> {
    const text = JSON.stringify(state);
    const sizeBytes = Buffer.byteLength(text, 'utf8');
    if (sizeBytes > this.#maxBytes) {
      throw new ConversationTooLargeError(
        `The agent's conversation (${sizeBytes} bytes) exceeds AGENT_CONVERSATION_MAX_BYTES (${this.#maxBytes}); it cannot be kept for the next attempt.`,
      );
    }
    await this.#prisma.agentConversation.upsert({
      where: { taskId },
      create: { taskId, state: text, sizeBytes },
      update: { state: text, sizeBytes },
    });
  }

  async delete(taskId: string): Promise<void> {
    await this.#prisma.agentConversation.deleteMany({ where: { taskId } });
  }
}
