/**
 * The `taskLogBatches` subscription as a client sends it (to orchestration directly or through the router);
 * `afterSeq` resumes after a batch's `lastSeq`.
 */
export const TASK_LOG_BATCHES_SUBSCRIPTION = /* GraphQL */ `
  subscription ($taskId: ID!, $afterSeq: Int) {
    taskLogBatches(taskId: $taskId, afterSeq: $afterSeq) {
      lastSeq
      entries {
        seq
        kind
        message
      }
    }
  }
`;

/** One batch as {@link TASK_LOG_BATCHES_SUBSCRIPTION} selects it. */
export interface TaskLogBatchSelection {
  lastSeq: number;
  entries: Array<{ seq: number; kind: string; message: string }>;
}
