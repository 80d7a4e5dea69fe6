import type { EnvelopeOf, TaskCompleted, TaskFailed } from '@cap/events';
import type { SqlExecutor } from '@cap/messaging';
import { complexityOf } from '@cap/task-classifier';

/** What {@link recordOutcome} did. */
export type OutcomeRecorded = 'recorded' | 'unknown-task';

/**
 * Stores the real outcome of a task that ran as a training example (inside the consumer's transaction), with
 * the text its `TaskCreated` carried. Complexity is labelled with the corpus's definition (`complexityOf`)
 * from files and lines, and only for completed tasks whose executor measured lines: a failed task's partial
 * diff does not measure the change it needed. A later outcome of the same task (a retry) replaces the earlier.
 * Tasks the classifier never saw created (before it was deployed) are skipped.
 */
export async function recordOutcome(
  sql: SqlExecutor,
  event: EnvelopeOf<typeof TaskCompleted> | EnvelopeOf<typeof TaskFailed>,
): Promise<OutcomeRecorded> {
  const completed = event.type === 'TaskCompleted';
  const payload = event.payload;
  const outcome = payload.outcome ?? {
    filesChanged: completed ? (payload as EnvelopeOf<typeof TaskCompleted>['payload']).changedFiles : 0,
    linesChanged: null,
    toolCalls: 0,
    tokens: 0,
  };
  const complexity =
    completed && outcome.linesChanged !== null
      ? complexityOf({ files: outcome.filesChanged, lines: outcome.linesChanged })
      : null;
  const rows = await sql.query(
    `INSERT INTO "ml_classifier"."outcome_examples"
       ("task_id", "execution_id", "outcome", "title", "description", "files_changed", "lines_changed",
        "tool_calls", "tokens", "complexity", "recorded_at")
     SELECT c."task_id", $2::uuid, $3::"ml_classifier"."TaskOutcomeKind", c."title", c."description", $4, $5,
       $6, $7, $8::"ml_classifier"."TaskComplexity", now()
     FROM "ml_classifier"."task_classifications" c WHERE c."task_id" = $1::uuid
     ON CONFLICT ("task_id") DO UPDATE SET
       "execution_id" = EXCLUDED."execution_id", "outcome" = EXCLUDED."outcome",
       "files_changed" = EXCLUDED."files_changed", "lines_changed" = EXCLUDED."lines_changed",
       "tool_calls" = EXCLUDED."tool_calls", "tokens" = EXCLUDED."tokens", "complexity" = EXCLUDED."complexity",
       "recorded_at" = EXCLUDED."recorded_at"
     RETURNING "task_id"`,
    [
      payload.taskId,
      payload.executionId,
      completed ? 'COMPLETED' : 'FAILED',
      outcome.filesChanged,
      outcome.linesChanged,
      outcome.toolCalls,
      // The column is a 32-bit integer; token counts of one task stay far below, but never overflow.
      Math.min(outcome.tokens, 2_147_483_647),
      complexity,
    ],
  );
  return rows.length > 0 ? 'recorded' : 'unknown-task';
}
