import { recordRun } from './builds.js';
import type { CicdDeps } from './deps.js';
import { factsOfApiRun } from './runFacts.js';

/**
 * The safety net for missed webhook deliveries: every `intervalMs`, lists the recent runs of each repository with
 * a fix policy (not OFF) through the Actions API with a conditional request (the last ETag: an unchanged list
 * answers 304 and costs no rate limit) and records them like the webhook path does (once per run attempt).
 */
export class RunPoller {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(
    private readonly deps: CicdDeps,
    private readonly options: { intervalMs: number; onFailedRun: () => void },
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.pollNow(), this.options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One pass over the repositories (coalesced with a pass already running). */
  pollNow(): Promise<void> {
    this.#running ??= this.#pass().finally(() => (this.#running = null));
    return this.#running;
  }

  async #pass(): Promise<void> {
    const { deps } = this;
    const policies = await deps.prisma.fixPolicy.findMany({
      where: { mode: { not: 'OFF' } },
      select: { repository: true },
    });
    for (const { repository } of policies) {
      try {
        await this.#pollRepository(repository);
      } catch (error) {
        deps.logger.warn({ err: error, repository }, 'cicd: polling the Actions API failed');
      }
    }
  }

  async #pollRepository(repository: string): Promise<void> {
    const { deps } = this;
    const state = await deps.prisma.pollState.findUnique({ where: { repository } });
    const answer = await deps.github.listRuns(repository, state?.etag ?? null);
    const polledAt = new Date();
    if (answer.notModified) {
      await deps.prisma.pollState.update({ where: { repository }, data: { polledAt } });
      return;
    }
    let failed = false;
    // Oldest first, so the newest commit of a branch is noted last.
    for (const run of [...answer.runs].reverse()) {
      const recorded = await recordRun(deps, factsOfApiRun(repository, run), 'POLL');
      failed ||= recorded.newlyFailed;
    }
    await deps.prisma.pollState.upsert({
      where: { repository },
      create: { repository, etag: answer.etag, polledAt },
      update: { etag: answer.etag, polledAt },
    });
    if (failed) this.options.onFailedRun();
  }
}
