import { TaskProgressed } from '@cap/events';
import { inTransaction } from '@cap/runtime/kit';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import type { ProgressReporter } from '../execution/executor.js';
import type { Redactor } from '../domain/redaction.js';
import { EVENT_SOURCE } from '../domain/tasks.js';
import { chatLinkOf, type ChatLinked } from './chatLink.js';

/** Most progress notes one execution posts; later ones are only in the task log (a chat is no log). */
export const MAX_PROGRESS_NOTES = 40;

/**
 * The worker's {@link ProgressReporter}: each note of a task created from a chat message becomes a
 * `TaskProgressed` event (through the outbox, in order), which chat posts into the conversation as the agent.
 * Notes of other tasks cost nothing (the STEP log entry the agent writes beside them is their record). Notes
 * pass through the execution's redactor like its log lines. Writing a note never fails the execution: a
 * failure is logged and the note dropped.
 */
export class ChatProgressNotes implements ProgressReporter {
  readonly #deps: OrchestrationDeps;
  readonly #task: ChatLinked & { id: string };
  readonly #executionId: string;
  readonly #redactor: Redactor;
  #chain: Promise<void> = Promise.resolve();
  #count = 0;

  constructor(
    deps: OrchestrationDeps,
    options: { task: ChatLinked & { id: string }; executionId: string; redactor: Redactor },
  ) {
    this.#deps = deps;
    this.#task = options.task;
    this.#executionId = options.executionId;
    this.#redactor = options.redactor;
  }

  note(role: string, text: string): void {
    const link = chatLinkOf(this.#task);
    if (!link.conversationId || this.#count >= MAX_PROGRESS_NOTES) return;
    this.#count += 1;
    const note = this.#redactor.redact(text, 'progress').trim().slice(0, 1_000) || '…';
    const envelope = TaskProgressed.create(
      { taskId: this.#task.id, executionId: this.#executionId, role: role.slice(0, 40), note, ...link },
      { source: EVENT_SOURCE, aggregateId: this.#task.id },
    );
    this.#chain = this.#chain.then(() =>
      inTransaction(this.#deps, (uow) => this.#deps.events.record(uow.tx, [envelope])).catch(
        (error: unknown) =>
          this.#deps.logger.warn({ err: error, taskId: this.#task.id }, 'progress note not recorded'),
      ),
    );
  }

  /** Resolves once every note so far is recorded (the worker waits before it records the execution's end). */
  flush(): Promise<void> {
    return this.#chain;
  }
}
