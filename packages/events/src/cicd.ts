import { z } from 'zod';
import { defineEvent } from './defineEvent.js';

/**
 * The cicd subgraph's events: fixes of failing GitHub Actions runs, requested and concluded. Orchestration turns a
 * `FixRequested` into a coding task; dashboards follow the outcomes. Payloads carry facts and bounded log
 * excerpts, never tokens or whole logs.
 */
export const CicdTopic = {
  fix: 'cicd.fix',
} as const;

/** One parsed failure as a fix request carries it (bounded: the task's description is built from these). */
const fixFailure = z.object({
  tool: z.string().min(1).max(50),
  file: z.string().max(1_000).nullable(),
  line: z.number().int().positive().nullable(),
  testName: z.string().max(1_000).nullable(),
  message: z.string().max(4_000),
  excerpt: z.string().max(8_000),
  fingerprint: z.string().min(1).max(128),
  job: z.string().max(500).nullable(),
});
export type FixFailure = z.infer<typeof fixFailure>;

const fixFacts = z.object({
  /** The fix attempt's id (cicd's). */
  fixId: z.uuid(),
  /** `owner/name`. */
  repository: z.string().min(3).max(201),
  branch: z.string().min(1).max(255),
  headSha: z.string().min(1).max(64),
});

export const FixRequested = defineEvent({
  type: 'FixRequested',
  version: 1,
  topic: CicdTopic.fix,
  description:
    "A failing run's failures should be fixed: orchestration creates a coding task on the branch, on behalf of `requestedBy`.",
  payload: fixFacts.extend({
    /** The user who enabled the repository's fix policy (or approved the suggestion): the task's creator. */
    requestedBy: z.uuid(),
    runId: z.number().int().positive(),
    runUrl: z.string().url().max(2_000),
    workflowName: z.string().max(500).nullable(),
    failures: z.array(fixFailure).min(1).max(20),
  }),
});

export const FixTaskCreated = defineEvent({
  type: 'FixTaskCreated',
  version: 1,
  topic: CicdTopic.fix,
  description:
    "Orchestration created the coding task of a `FixRequested` (cicd follows the task's pull request).",
  payload: z.object({ fixId: z.uuid(), taskId: z.uuid(), creatorId: z.uuid() }),
});

export const FixSucceeded = defineEvent({
  type: 'FixSucceeded',
  version: 1,
  topic: CicdTopic.fix,
  description: "A fix's pull request passed its checks (`accepted` once it is merged).",
  payload: fixFacts.extend({
    taskId: z.uuid().nullable(),
    accepted: z.boolean(),
    /** From the failing run's completion to the fix's green checks, ms. */
    timeToGreenMs: z.number().int().nonnegative().nullable(),
  }),
});

export const FixFailed = defineEvent({
  type: 'FixFailed',
  version: 1,
  topic: CicdTopic.fix,
  description: "A fix's pull request failed its checks, or its task failed.",
  payload: fixFacts.extend({ taskId: z.uuid().nullable(), reason: z.string().max(500) }),
});

export const FixEscalated = defineEvent({
  type: 'FixEscalated',
  version: 1,
  topic: CicdTopic.fix,
  description:
    'A failure was not fixed automatically (its fingerprint failed to be fixed twice, or a cap was reached): a person takes over.',
  payload: fixFacts.extend({
    fingerprints: z.array(z.string().min(1).max(128)).min(1).max(20),
    reason: z.string().max(500),
  }),
});

export const FixSuperseded = defineEvent({
  type: 'FixSuperseded',
  version: 1,
  topic: CicdTopic.fix,
  description:
    "A newer commit reached a fix's branch before its task finished: orchestration cancels the task the fix created (only that one).",
  payload: fixFacts.extend({
    /** The task the fix's FixRequested created (FixTaskCreated); orchestration checks it belongs to `fixId`. */
    taskId: z.uuid(),
    /** The newer commit on the branch. */
    supersededBy: z.string().min(1).max(64),
  }),
});

/** Every cicd contract, for the registry. */
export const cicdContracts = [
  FixRequested,
  FixTaskCreated,
  FixSucceeded,
  FixFailed,
  FixEscalated,
  FixSuperseded,
] as const;
