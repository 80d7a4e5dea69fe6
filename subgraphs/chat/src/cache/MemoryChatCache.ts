import { parseMessageView, serializeMessageView, type MessageView } from '../domain/views.js';
import { WINDOW_TTL_MS, type ChatCache } from './ChatCache.js';

interface Window {
  min: number;
  max: number;
  /** seq → message JSON (copies out, so callers never share objects with the cache). */
  messages: Map<number, string>;
  expiresAt: number;
}

/**
 * The recent-message cache in process memory, for the embedded single-process mode. Same semantics as the
 * Redis cache; at most `maxConversations` windows are kept (least recently used go first).
 */
export class MemoryChatCache implements ChatCache {
  readonly kind = 'memory';
  readonly #capacity: number;
  readonly #maxConversations: number;
  readonly #windows = new Map<string, Window>();
  readonly #versions = new Map<string, number>();

  constructor(options: { capacity: number; maxConversations?: number }) {
    this.#capacity = options.capacity;
    this.#maxConversations = options.maxConversations ?? 1_000;
  }

  #window(conversationId: string): Window | undefined {
    const window = this.#windows.get(conversationId);
    if (!window) return undefined;
    if (window.expiresAt <= Date.now()) {
      this.#windows.delete(conversationId);
      return undefined;
    }
    // Map order is the LRU order: re-insert on use.
    this.#windows.delete(conversationId);
    window.expiresAt = Date.now() + WINDOW_TTL_MS;
    this.#windows.set(conversationId, window);
    return window;
  }

  async version(conversationId: string): Promise<string> {
    return String(this.#versions.get(conversationId) ?? 0);
  }

  async read(
    conversationId: string,
    options: { beforeSeq?: number | undefined; limit: number },
  ): Promise<MessageView[] | null> {
    const window = this.#window(conversationId);
    if (!window) return null;
    const top = options.beforeSeq !== undefined ? options.beforeSeq - 1 : window.max;
    if (top > window.max) return null;
    const bottom = top - options.limit + 1;
    if (bottom < window.min && window.min > 1) return null;
    const views: MessageView[] = [];
    for (let seq = top; seq >= Math.max(bottom, window.min); seq -= 1) {
      const json = window.messages.get(seq);
      if (json === undefined) return null;
      views.push(parseMessageView(json));
    }
    return views;
  }

  async fill(conversationId: string, version: string, messages: readonly MessageView[]): Promise<boolean> {
    if (String(this.#versions.get(conversationId) ?? 0) !== version) return false;
    const window = messages.slice(0, this.#capacity);
    this.#windows.delete(conversationId);
    this.#windows.set(conversationId, {
      min: window.at(-1)?.seq ?? 1,
      max: window[0]?.seq ?? 0,
      messages: new Map(window.map((message) => [message.seq, serializeMessageView(message)])),
      expiresAt: Date.now() + WINDOW_TTL_MS,
    });
    while (this.#windows.size > this.#maxConversations) {
      const oldest = this.#windows.keys().next().value as string;
      this.#windows.delete(oldest);
    }
    return true;
  }

  async apply(message: MessageView): Promise<void> {
    const { conversationId, seq } = message;
    this.#versions.set(conversationId, (this.#versions.get(conversationId) ?? 0) + 1);
    if (this.#versions.size > this.#maxConversations * 10) this.#pruneVersions();
    const window = this.#window(conversationId);
    if (!window) return;
    if (seq === window.max + 1) {
      window.messages.set(seq, serializeMessageView(message));
      window.max = seq;
      while (window.messages.size > this.#capacity) {
        window.messages.delete(window.min);
        window.min += 1;
      }
    } else if (seq >= window.min && seq <= window.max) {
      window.messages.set(seq, serializeMessageView(message));
    } else if (seq > window.max + 1) {
      this.#windows.delete(conversationId);
    }
  }

  /**
   * Forgets versions of conversations without a window. A fill racing this sees its version change and is
   * refused, which is safe; the map just must not grow with every conversation ever written to.
   */
  #pruneVersions(): void {
    for (const conversationId of [...this.#versions.keys()]) {
      if (!this.#windows.has(conversationId)) this.#versions.delete(conversationId);
    }
  }

  async close(): Promise<void> {
    this.#windows.clear();
    this.#versions.clear();
  }
}
