import { interruptible, LiveFeed, type LiveBus } from '@cap/live';
import type { Build } from '../generated/prisma/client.js';
import type { CicdDeps } from './deps.js';

/** The live-bus topic of a repository's build changes (`@cap/live`; Redis channel `<LIVE_CHANNEL_PREFIX><topic>`). */
export function buildsTopic(repository: string): string {
  return `builds:${repository}`;
}

/** What the builds topic carries: which build changed (subscribers read it from the database). */
export interface BuildChangedMessage {
  buildId: string;
  branch: string | null;
}

/** Builds a subscriber re-reads at most after a gap (Redis unreachable or a slow reader). */
const GAP_READ = 100;
/** Builds whose last emitted state a subscriber remembers (older ones may be emitted again, never an older state). */
const REMEMBERED = 1_000;

/**
 * Tells every instance's subscribers that a build changed, after the change committed. The live bus is a hint
 * (ADR 0005, 0012): a failed publish is logged, never fails the write.
 */
export async function publishBuildChanged(
  deps: Pick<CicdDeps, 'live' | 'logger'>,
  build: Pick<Build, 'id' | 'repository' | 'headBranch'>,
): Promise<void> {
  const message: BuildChangedMessage = { buildId: build.id, branch: build.headBranch };
  try {
    await deps.live.publish(buildsTopic(build.repository), message);
  } catch (error) {
    deps.logger.warn({ err: error, buildId: build.id }, 'cicd: build change not published live');
  }
}

/**
 * Every change of a repository's builds (of one branch, when given) from now on, each as the build's state in the
 * database when the change is read, never an older state than one already emitted. After a gap (Redis down, a
 * slow reader) the builds changed since the last one emitted are read from the database, so nothing is missed.
 */
export async function watchBuilds(
  deps: { prisma: CicdDeps['prisma']; live: LiveBus },
  filter: { repository: string; branch: string | null },
): Promise<AsyncGenerator<Build>> {
  // Subscribe before noting the time, so that no change after `since` is missed.
  const feed = await LiveFeed.open<BuildChangedMessage>(deps.live, buildsTopic(filter.repository), {
    maxBuffered: 1_000,
  });
  let since = new Date();
  const emitted = new Map<string, number>();
  const fresh = (build: Build | null): build is Build => {
    if (!build || build.repository !== filter.repository) return false;
    if (filter.branch !== null && build.headBranch !== filter.branch) return false;
    const last = emitted.get(build.id);
    if (last !== undefined && build.updatedAt.getTime() <= last) return false;
    emitted.delete(build.id);
    emitted.set(build.id, build.updatedAt.getTime());
    if (emitted.size > REMEMBERED) emitted.delete(emitted.keys().next().value as string);
    if (build.updatedAt > since) since = build.updatedAt;
    return true;
  };
  async function* run(): AsyncGenerator<Build> {
    try {
      for (;;) {
        const item = await feed.next();
        if (!item) return;
        if ('gap' in item) {
          const changed = await deps.prisma.build.findMany({
            where: {
              repository: filter.repository,
              ...(filter.branch !== null ? { headBranch: filter.branch } : {}),
              updatedAt: { gte: since },
            },
            orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
            take: GAP_READ,
          });
          for (const build of changed) if (fresh(build)) yield build;
          continue;
        }
        const { buildId, branch } = item.message;
        if (filter.branch !== null && branch !== filter.branch) continue;
        const build = await deps.prisma.build.findUnique({ where: { id: buildId } });
        if (fresh(build)) yield build;
      }
    } finally {
      await feed.close();
    }
  }
  return interruptible(run(), () => feed.close());
}
