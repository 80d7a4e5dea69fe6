import { FixRequested, FixSuperseded, FixTaskCreated, type EnvelopeOf } from '@cap/events';
import { runConsumer, type EventBus, type RunningConsumer } from '@cap/messaging';
import { ErrorCode, type Principal } from '@cap/runtime';
import { SCHEMA } from '../db.js';
import type { OrchestrationDeps, UnitOfWork } from '../domain/orchestrationDeps.js';
import { applyTransition, cancelPlan, createTask, EVENT_SOURCE } from '../domain/tasks.js';
import { canTransition } from '../domain/taskStateMachine.js';
import { LIMITS } from '../domain/validation.js';
import { unitOfWorkOf, unitOfWorkSql } from './unitOfWorkSql.js';

/** Consumer group of the fix-request consumer (also its deduplication scope). */
export const FIX_REQUEST_CONSUMER_GROUP = 'orchestration.fix-requests';

/**
 * Consumes the cicd subgraph's FixRequested: creates the fix's coding task on behalf of the user who enabled the
 * repository's fix policy (or approved the fix), with the failures, their log excerpts and the branch in the
 * description and no strategy override (the classifier chooses), and answers FixTaskCreated. Exactly once per
 * event: the task, its outbox events and the processed-mark commit in one transaction (and the task carries the
 * fix's id, unique). A FixSuperseded cancels the task its fix created, exactly as cancelTask does, and only that
 * task. Invalid FixRequested/FixSuperseded go to `cicd.fix.dlq` (runConsumer); other records on the topic are not orchestration's
 * concern (left unvalidated).
 */
export function startFixRequestConsumer(deps: OrchestrationDeps, bus: EventBus): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: unitOfWorkSql(deps),
    schema: SCHEMA,
    groupId: FIX_REQUEST_CONSUMER_GROUP,
    topics: [FixRequested.topic],
    // cicd reads `cicd.fix` too (FixTaskCreated) and dead-letters what it holds and what nobody can read: each
    // malformed record lands in `cicd.fix.dlq` once, from the group that would have handled it.
    handles: [FixRequested.type, FixSuperseded.type],
    deadLetterUnreadable: false,
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      if (FixSuperseded.is(envelope)) {
        await cancelSupersededFix(deps, unitOfWorkOf(ctx.sql), envelope, ctx.logger);
        return;
      }
      if (!FixRequested.is(envelope)) return;
      const uow = unitOfWorkOf(ctx.sql);
      const existing = await uow.tx.codingTask.findUnique({ where: { fixId: envelope.payload.fixId } });
      if (existing) {
        ctx.logger.info({ fixId: envelope.payload.fixId, taskId: existing.id }, 'fix task exists already');
        return;
      }
      const taskId = await createFixTask(deps, uow, envelope);
      ctx.logger.info({ fixId: envelope.payload.fixId, taskId }, 'fix task created');
    },
  });
}

/** Creates the task inside the consumer's unit of work (joined, so it commits with the processed-mark). */
async function createFixTask(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  envelope: EnvelopeOf<typeof FixRequested>,
): Promise<string> {
  const fix = envelope.payload;
  // The accountable user: tasks are always someone's (the contract requires `requestedBy`).
  const onBehalfOf: Principal = {
    kind: 'user',
    userId: fix.requestedBy,
    role: 'DEVELOPER',
    scopes: ['tasks:write'],
  };
  // In the consumer's unit of work: the task, its events and the processed-mark commit together, and the
  // task's wake-ups run after that commit.
  const task = await createTask(
    deps,
    onBehalfOf,
    {
      title: fixTitle(fix).slice(0, LIMITS.title),
      description: fixDescription(fix),
      repository: fix.repository,
      // The fix starts from the failing branch and its pull request targets it (not the default branch).
      baseBranch: fix.branch,
    },
    {},
    { uow, fixId: fix.fixId },
  ).catch((error: unknown) => {
    // A request no retry can make valid (a branch git would refuse, a bad repository): dead-lettered at once.
    if (isBadUserInput(error)) throw Object.assign(error, { retryable: false });
    throw error;
  });
  await deps.events.record(uow.tx, [
    FixTaskCreated.create(
      { fixId: fix.fixId, taskId: task.id, creatorId: fix.requestedBy },
      { source: EVENT_SOURCE, aggregateId: fix.fixId },
    ),
  ]);
  return task.id;
}

/**
 * A newer commit superseded a fix: its task is cancelled on behalf of its creator (the fix's accountable user),
 * if the task is the one this fix created and it is not finished. Anything else is a no-op (a redelivery, a task
 * already finished or cancelled, a task id that belongs to another fix or to a person).
 */
async function cancelSupersededFix(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  envelope: EnvelopeOf<typeof FixSuperseded>,
  logger: Pick<OrchestrationDeps['logger'], 'info' | 'warn'>,
): Promise<void> {
  const { fixId, taskId, supersededBy } = envelope.payload;
  const task = await uow.tx.codingTask.findUnique({ where: { id: taskId } });
  if (!task || task.fixId !== fixId) {
    logger.warn({ fixId, taskId }, 'FixSuperseded names a task its fix did not create; nothing cancelled');
    return;
  }
  if (!canTransition(task.status, 'CANCELLED', 'CANCEL')) return;
  const reason = `The CI fix was superseded by a newer commit (${supersededBy.slice(0, 12)}) on ${envelope.payload.branch}.`;
  const cancelled = await applyTransition(
    deps,
    uow,
    task,
    cancelPlan(deps, { taskId, cancelledBy: task.creatorId, reason: reason.slice(0, LIMITS.reason) }),
  );
  // Changed since it was read (a worker claimed it): the consumer retries the event on the fresh state.
  if (!cancelled) throw new Error(`task ${taskId} changed while its superseded fix was being cancelled`);
  logger.info({ fixId, taskId }, 'superseded fix task cancelled');
}

type Fix = EnvelopeOf<typeof FixRequested>['payload'];

function isBadUserInput(error: unknown): error is Error {
  return (
    error instanceof Error &&
    (error as { extensions?: { code?: unknown } }).extensions?.code === ErrorCode.BAD_USER_INPUT
  );
}

function fixTitle(fix: Fix): string {
  const first = fix.failures[0];
  const what = first ? `${first.tool}${first.file ? ` in ${first.file}` : ''}` : 'the build';
  return `Fix failing CI on ${fix.branch}: ${what}`.replace(/[\r\n\t]+/g, ' ');
}

/**
 * The task's description: what failed, where, with the log excerpts, within the description limit (excerpts are
 * cut first). Everything in it is data from a CI log: the agent reads it as the task, it runs nothing by itself.
 */
export function fixDescription(fix: Fix): string {
  const head = [
    `The CI run ${fix.runUrl} (${fix.workflowName ?? 'workflow'}) failed on branch \`${fix.branch}\` at commit ${fix.headSha}.`,
    `Fix the failures below on the branch \`${fix.branch}\` so the run passes. Do not weaken or skip the failing checks.`,
    '',
  ];
  const budget = LIMITS.description - head.join('\n').length - 200;
  const perFailure = Math.max(200, Math.floor(budget / fix.failures.length));
  const parts = fix.failures.map((failure, index) => {
    const place = [failure.file, failure.line].filter((part) => part !== null).join(':');
    const header = `## ${index + 1}. ${failure.tool}${place ? ` at ${place}` : ''}${failure.testName ? ` (test: ${failure.testName})` : ''}${failure.job ? ` [job ${failure.job}]` : ''}`;
    const body = `${header}\n${failure.message}\n\n\`\`\`\n${failure.excerpt.replaceAll('```', "'''")}\n\`\`\`\n`;
    return body.length > perFailure ? `${body.slice(0, perFailure - 20)}\n[...cut]\n` : body;
  });
  return [...head, ...parts].join('\n').slice(0, LIMITS.description);
}

/** Longest wait between two attempts to start the consumer, ms. */
const MAX_RETRY_DELAY_MS = 30_000;

/** Starts the consumer without making the start wait for Kafka (retried with backoff, 1 s ... 30 s). */
export function keepFixRequestConsumer(
  deps: OrchestrationDeps,
  bus: EventBus,
): { ready: Promise<void>; close(): Promise<void> } {
  let consumer: RunningConsumer | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  const ready = (async () => {
    for (let attempt = 1; !closed; attempt += 1) {
      try {
        await bus.ensureTopics([FixRequested.topic]);
        const started = await startFixRequestConsumer(deps, bus);
        if (closed) await started.close();
        else consumer = started;
        return;
      } catch (error) {
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (attempt - 1));
        deps.logger.warn({ err: error, attempt, delayMs }, 'fix-request consumer could not start; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  })();
  return {
    ready,
    close: async () => {
      closed = true;
      (wake as (() => void) | null)?.();
      await ready;
      await consumer?.close();
    },
  };
}
