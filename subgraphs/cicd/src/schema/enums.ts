import { builder } from '../builder.js';

export const FixModeEnum = builder.enumType('FixMode', {
  description: "What happens when a repository's build fails.",
  values: {
    OFF: { description: 'Nothing: failures are recorded and parsed only.' },
    SUGGEST: { description: "A fix is suggested and waits for a person's go (`approveFix`)." },
    AUTO: { description: 'A fix task is created at once.' },
  } as const,
});

export const FixStatusEnum = builder.enumType('FixStatus', {
  description: 'Where a fix stands.',
  values: {
    SUGGESTED: { description: "Waits for a person's go." },
    REQUESTED: { description: 'A fix task was asked of orchestration.' },
    SUPERSEDED: { description: 'A newer commit on the branch made it moot.' },
    FIXED: { description: "The fix's pull request passed its checks." },
    ACCEPTED: { description: "The fix's pull request was merged." },
    FAILED: { description: "The fix's checks failed, or its task failed." },
    ESCALATED: {
      description: 'Handed to a person: the failure failed to be fixed twice, or a cap was reached.',
    },
  } as const,
});

export const LogStateEnum = builder.enumType('BuildLogState', {
  description: "Whether a build's logs were read.",
  values: {
    NOT_NEEDED: { description: 'The build did not fail (or is still running).' },
    PENDING: { description: 'Failed; its logs are being fetched and parsed.' },
    PARSED: { description: 'Failures parsed (some logs may still have a parse error).' },
    FAILED: { description: 'No log could be read: see `parseErrorCode`.' },
  } as const,
});

export const BuildStateEnum = builder.enumType('BuildState', {
  description: 'A filter on builds.',
  values: {
    RUNNING: { description: 'Not completed yet.' },
    SUCCEEDED: { description: 'Concluded SUCCESS.' },
    FAILED: { description: 'Concluded FAILURE or TIMED_OUT.' },
    OTHER: { description: 'Concluded otherwise (cancelled, skipped, neutral...).' },
  } as const,
});
