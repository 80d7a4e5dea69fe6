import { TaskClassified, type EnvelopeOf, type TaskCreated } from '@cap/events';
import { enqueue, type SqlExecutor } from '@cap/messaging';
import {
  FEATURE_DESCRIPTION_CHARS,
  MAX_DESCRIPTION_CHARS,
  MAX_TITLE_CHARS,
  type Classification,
} from '@cap/task-classifier';
import { SCHEMA } from '../db.js';
import type { MlClassifierDeps } from './deps.js';

/** The producer name on the classifier's events. */
export const EVENT_SOURCE = 'ml-classifier';

/**
 * Classifies a preview text (`classifyTask`). The package validates it: a non-string, a title over 2,000 or
 * a description over 100,000 characters is a BAD_USER_INPUT with `field`, `expected` and `received`.
 */
export function classifyText(deps: MlClassifierDeps, input: unknown): Promise<Classification> {
  return deps.model.classify(input as { title: string; description: string });
}

/**
 * Classifies a created task inside the consumer's transaction: stores the classification (and the text, the
 * input of training examples) and records `TaskClassified` in the outbox, so both commit with the event's
 * processed-mark. A valid event always gets an answer: text beyond what the classifier accepts is cut to it.
 */
export async function classifyCreatedTask(
  deps: MlClassifierDeps,
  sql: SqlExecutor,
  event: EnvelopeOf<typeof TaskCreated>,
): Promise<Classification> {
  const { taskId } = event.payload;
  const text = {
    title: event.payload.title.slice(0, MAX_TITLE_CHARS),
    description: event.payload.description.slice(0, MAX_DESCRIPTION_CHARS),
  };
  const result = await deps.model.classify(text);
  await sql.query(
    `INSERT INTO "ml_classifier"."task_classifications"
       ("task_id", "title", "description", "type", "type_confidence", "type_decided_by", "complexity",
        "complexity_confidence", "complexity_decided_by", "probabilities", "model_version", "classified_at")
     VALUES ($1::uuid, $2, $3, $4::"ml_classifier"."TaskType", $5, $6::"ml_classifier"."DecidedBy",
       $7::"ml_classifier"."TaskComplexity", $8, $9::"ml_classifier"."DecidedBy", $10::jsonb, $11, now())
     ON CONFLICT ("task_id") DO UPDATE SET
       "title" = EXCLUDED."title", "description" = EXCLUDED."description", "type" = EXCLUDED."type",
       "type_confidence" = EXCLUDED."type_confidence", "type_decided_by" = EXCLUDED."type_decided_by",
       "complexity" = EXCLUDED."complexity", "complexity_confidence" = EXCLUDED."complexity_confidence",
       "complexity_decided_by" = EXCLUDED."complexity_decided_by", "probabilities" = EXCLUDED."probabilities",
       "model_version" = EXCLUDED."model_version", "classified_at" = EXCLUDED."classified_at"`,
    [
      taskId,
      text.title,
      // Training reads no further than the features do.
      text.description.slice(0, FEATURE_DESCRIPTION_CHARS),
      result.type.label,
      result.type.confidence,
      result.type.decidedBy,
      result.complexity.label,
      result.complexity.confidence,
      result.complexity.decidedBy,
      JSON.stringify({ type: result.type.probabilities, complexity: result.complexity.probabilities }),
      result.modelVersion,
    ],
  );
  await enqueue(sql, SCHEMA, [
    TaskClassified.create(
      {
        taskId,
        type: result.type.label,
        complexity: result.complexity.label,
        confidence: Math.min(1, Math.max(0, result.complexity.confidence)),
        modelVersion: result.modelVersion.slice(0, 200),
      },
      {
        source: EVENT_SOURCE,
        aggregateId: taskId,
        // The trace of the request that created the task continues through the classification.
        metadata: event.metadata,
      },
    ),
  ]);
  return result;
}
