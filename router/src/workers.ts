import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from '@cap/runtime';

/** A worker that dies within this long of starting counts as a crash loop: it is not restarted. */
const CRASH_LOOP_MS = 5_000;

/** How many router processes `ROUTER_WORKERS` asks for (`auto` = one per core). */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/**
 * The primary of a multi-process router (ROUTER_WORKERS > 1): forks `count` workers that each run the whole
 * router and share its port (node:cluster hands connections to them in turn), restarts one that dies unless it
 * died right after starting, and on SIGTERM/SIGINT asks every worker to shut down (each drains as a single
 * router does) and exits when they have. Budgets are shared because they live in Redis; without REDIS_URL each
 * worker keeps its own in-memory budgets (README "Router throughput").
 */
export function superviseWorkers(options: { count: number; logger: Logger }): void {
  const { count, logger } = options;
  let stopping = false;
  const started = new Map<number, number>();
  const fork = (): void => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
  };
  cluster.on('exit', (worker: Worker, code, signal) => {
    const ranFor = Date.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal, ranForMs: ranFor }, 'router worker exited');
    if (ranFor < CRASH_LOOP_MS) {
      logger.fatal({}, 'router worker died right after starting: not restarting it');
      process.exitCode = 1;
      return;
    }
    fork();
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping router workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  logger.info({ workers: count }, 'starting router workers');
  for (let index = 0; index < count; index += 1) fork();
}
