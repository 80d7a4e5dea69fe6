import type { Logger } from './logger.js';
import { Shutdown } from './shutdown.js';

/** A started component and the one way to release everything it started. */
export type Started<T> = T & { close(): Promise<void> };

/**
 * Starts a component whose resources register in one `Shutdown` as they are opened (`scope.add` right after each
 * one starts). When `start` throws halfway, everything already registered is released, newest first, before the
 * error propagates, so a failed start leaves no open pool, connection, timer or server behind. On success the
 * result's `close()` releases the same way.
 */
export async function startScoped<T extends object>(
  logger: Logger | undefined,
  start: (scope: Shutdown) => Promise<T>,
): Promise<Started<T>> {
  const scope = new Shutdown(logger);
  let started: T;
  try {
    started = await start(scope);
  } catch (error) {
    await scope.close();
    throw error;
  }
  return Object.assign(started, { close: () => scope.close() });
}
