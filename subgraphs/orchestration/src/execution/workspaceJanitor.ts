import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeWorkspaceTree } from '@cap/sandbox';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { WORKSPACE_MARKER, WORKSPACE_PREFIX } from './workspace.js';

/** Sandbox probes (`detectSandbox`) last seconds; one older than this was left by a killed process, ms. */
const PROBE_MAX_AGE_MS = 60 * 60_000;
const PROBE_PREFIX = 'cap-sandbox-probe-';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Options of a {@link WorkspaceJanitor}. */
export interface WorkspaceJanitorOptions {
  /** WORKSPACE_ROOT. */
  root: string;
  /** Between sweeps, ms; 0 = only `sweepOnce` calls (the one at start). */
  intervalMs: number;
  /** LEASE_MS: a lease expired for longer than this means its worker is gone for good. */
  leaseMs: number;
}

/**
 * Removes workspaces that no live execution holds: a worker killed mid-task (SIGKILL, OOM, a lost machine)
 * never runs its cleanup, and its workspace would stay on disk forever.
 *
 * Only directories this platform created are considered: named `cap-task-…` with a marker naming their
 * execution. One is abandoned when that execution is no longer RUNNING, or its lease expired more than a lease
 * ago (the sweeper will declare it lost), or it does not exist. A live worker's workspace, here or on another
 * instance sharing WORKSPACE_ROOT, is always RUNNING under a valid lease, so it is never touched.
 */
export class WorkspaceJanitor {
  readonly #deps: OrchestrationDeps;
  readonly #options: WorkspaceJanitorOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = false;

  constructor(deps: OrchestrationDeps, options: WorkspaceJanitorOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** Sweeps now, then every `intervalMs`. */
  start(): void {
    this.#running = this.sweepOnce().finally(() => {
      this.#running = null;
      this.#schedule();
    });
  }

  /** Stops sweeping; waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One sweep; resolves with the number of directories removed. Failures are logged, never thrown. */
  async sweepOnce(): Promise<number> {
    try {
      return await this.#sweep();
    } catch (error) {
      this.#deps.logger.warn({ err: error, root: this.#options.root }, 'workspace cleanup failed');
      return 0;
    }
  }

  async #sweep(): Promise<number> {
    const entries = await readdir(this.#options.root, { withFileTypes: true }).catch(() => []);
    const candidates = new Map<string, string>();
    const removals: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.#options.root, entry.name);
      if (entry.name.startsWith(PROBE_PREFIX)) {
        const stat = await lstat(dir).catch(() => null);
        if (stat && Date.now() - stat.mtimeMs > PROBE_MAX_AGE_MS) removals.push(dir);
        continue;
      }
      if (!entry.name.startsWith(WORKSPACE_PREFIX)) continue;
      const executionId = await readMarker(dir);
      if (executionId) candidates.set(dir, executionId);
    }
    if (candidates.size > 0) {
      const executions = await this.#deps.prisma.taskExecution.findMany({
        where: { id: { in: [...new Set(candidates.values())] } },
        select: { id: true, status: true, leaseExpiresAt: true },
      });
      const byId = new Map(executions.map((execution) => [execution.id, execution]));
      const expiredBefore = Date.now() - this.#options.leaseMs;
      for (const [dir, executionId] of candidates) {
        const execution = byId.get(executionId);
        const live =
          execution?.status === 'RUNNING' && (execution.leaseExpiresAt?.getTime() ?? 0) > expiredBefore;
        if (!live) removals.push(dir);
      }
    }
    let removed = 0;
    for (const dir of removals) {
      try {
        await removeWorkspaceTree(dir);
        removed += 1;
      } catch (error) {
        this.#deps.logger.warn({ err: error, dir }, 'removing an abandoned workspace failed');
      }
    }
    if (removed > 0)
      this.#deps.logger.info({ removed, root: this.#options.root }, 'removed abandoned task workspaces');
    return removed;
  }

  #schedule(): void {
    if (this.#stopped || this.#options.intervalMs <= 0) return;
    this.#timer = setTimeout(() => {
      this.#running = this.sweepOnce().finally(() => {
        this.#running = null;
        this.#schedule();
      });
    }, this.#options.intervalMs);
  }
}

/** The execution id in a workspace's marker, or null when there is no valid marker (then it is not ours to touch). */
async function readMarker(dir: string): Promise<string | null> {
  const path = join(dir, WORKSPACE_MARKER);
  const stat = await lstat(path).catch(() => null);
  if (!stat?.isFile() || stat.size > 4_096) return null;
  try {
    const marker = JSON.parse(await readFile(path, 'utf8')) as { executionId?: unknown };
    return typeof marker.executionId === 'string' && UUID.test(marker.executionId)
      ? marker.executionId
      : null;
  } catch {
    return null;
  }
}
