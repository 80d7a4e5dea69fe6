import type { Logger } from '@cap/runtime';
import type { MessageView } from '../domain/views.js';
import type { ChatCache } from './ChatCache.js';

/** Hit and miss counts of this instance since it started. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Cache errors (Redis unreachable…), each answered from the database instead. */
  errors: number;
}

/** Loads messages from the database, newest first: below `beforeSeq` when given, the newest otherwise. */
export type LoadMessages = (options: {
  beforeSeq?: number | undefined;
  limit: number;
}) => Promise<MessageView[]>;

/**
 * Read-through use of the {@link ChatCache} for message pages, with hit/miss counters. The cache is an
 * optimisation only: when it fails, the database answers and the error is counted and logged, never surfaced.
 */
export class RecentMessages {
  readonly #cache: ChatCache;
  readonly #capacity: number;
  readonly #logger: Logger;
  readonly #stats: CacheStats = { hits: 0, misses: 0, errors: 0 };

  constructor(options: { cache: ChatCache; capacity: number; logger: Logger }) {
    this.#cache = options.cache;
    this.#capacity = options.capacity;
    this.#logger = options.logger;
  }

  get kind(): ChatCache['kind'] {
    return this.#cache.kind;
  }

  /** Counters of this instance. */
  stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * A page of messages newest first (below `beforeSeq`, or the newest), at most `limit`. Served from the cache
   * when its window holds the whole page; otherwise from `load`, and a miss on the newest page refills the window.
   */
  async page(
    conversationId: string,
    options: { beforeSeq?: number | undefined; limit: number },
    load: LoadMessages,
  ): Promise<MessageView[]> {
    try {
      const cached = await this.#cache.read(conversationId, options);
      if (cached) {
        this.#stats.hits += 1;
        return cached;
      }
    } catch (error) {
      this.#failed(error, 'read');
      return load(options);
    }
    this.#stats.misses += 1;
    if (options.beforeSeq !== undefined) return load(options);
    let version: string | undefined;
    try {
      version = await this.#cache.version(conversationId);
    } catch (error) {
      this.#failed(error, 'version');
    }
    // The newest page missed: load a whole window's worth so the next pages (and readers) hit.
    const newest = await load({ limit: Math.max(this.#capacity, options.limit) });
    if (version !== undefined) {
      await this.#cache
        .fill(conversationId, version, newest)
        .catch((error: unknown) => this.#failed(error, 'fill'));
    }
    return newest.slice(0, options.limit);
  }

  /** Applies a posted or changed message to its conversation's window (after the change committed). */
  async apply(message: MessageView): Promise<void> {
    await this.#cache.apply(message).catch((error: unknown) => this.#failed(error, 'apply'));
  }

  #failed(error: unknown, operation: string): void {
    this.#stats.errors += 1;
    this.#logger.warn(
      { err: error, operation, cache: this.#cache.kind },
      'recent-message cache failed; using the database',
    );
  }
}
