import type { Principal } from '@cap/runtime';
import { expect } from 'vitest';
import type { Instance } from './harness.js';

/** What several task queries select of an execution's outcome: its diff statistics and its error. */
export const OUTCOME_FRAGMENTS = /* GraphQL */ `
  fragment OutcomeDiffStats on DiffStats {
    filesChanged
    additions
    deletions
  }
  fragment OutcomeError on ExecutionError {
    code
    message
    cause
  }
`;

/** One task-log line as `taskLogs` returns it. */
export type Line = { seq: number; kind: string; level: string; message: string; data: any };

/** The task `id` as `principal` reads it with `query` (which takes `$id`); fails the test on any error. */
export async function queryTask(
  instance: Instance,
  query: string,
  id: string,
  principal: Principal,
): Promise<Record<string, any>> {
  const result = await instance.call(query, { id }, principal);
  expect(result.errors).toBeUndefined();
  return result.data!['task'];
}

/** Every stored log line of the task, as `principal` reads them; fails the test on any error. */
export async function queryLogLines(
  instance: Instance,
  taskId: string,
  principal: Principal,
): Promise<Line[]> {
  const result = await instance.call(
    `query($id: ID!) { taskLogs(taskId: $id, first: 1000) { edges { node { seq kind level message data } } } }`,
    { id: taskId },
    principal,
  );
  expect(result.errors).toBeUndefined();
  return result.data!['taskLogs'].edges.map((edge: { node: Line }) => edge.node);
}
