import { afterEach, expect } from 'vitest';
import {
  createFixture,
  FakeModelServer,
  type Fixture,
  type ChildProcessRunner,
  type Provider,
  type ScriptStep,
} from '@cap/testkit';
import type {
  Clock,
  ExecutableTask,
  ExecutionStrategy,
  MemoryConversationStore,
  RepositoryAccess,
} from '../../src/index.js';
import { makeContext, makeExecutor, testConfig, type Run } from './harness.js';

/** What one test scripts: the provider the fake speaks, its turns, and how the executor is wired. */
export interface ScriptedAgentOptions {
  /** The provider the fake model server speaks (default `openai`). */
  provider?: Provider;
  script: ScriptStep[];
  /** Overrides of the agent's environment (see `testConfig`). */
  env?: Record<string, string>;
  store?: MemoryConversationStore;
  clock?: Clock;
  repositories?: RepositoryAccess;
}

/** The failing fixture, the scripted model and an executor wired to both. */
export interface ScriptedAgent {
  fixture: Fixture;
  server: FakeModelServer;
  executor: ReturnType<typeof makeExecutor>['executor'];
  runner: ChildProcessRunner;
  /** A context for one execution of the test's task, in a fresh clone of the fixture. */
  context(options?: {
    strategy?: ExecutionStrategy;
    attempt?: number;
    answers?: Array<{ question: string; answer: string }>;
    task?: Partial<ExecutableTask>;
  }): Run;
}

/**
 * Registers the release of every fixture and model server a test starts, and returns the function that starts
 * them for a task with id `taskId`.
 */
export function useScriptedAgent(taskId: string): (options: ScriptedAgentOptions) => Promise<ScriptedAgent> {
  let fixture: Fixture | null = null;
  let server: FakeModelServer | null = null;
  afterEach(async () => {
    await server?.close();
    fixture?.remove();
    server = null;
    fixture = null;
  });
  return async (options) => {
    const started = createFixture();
    fixture = started;
    const model = await FakeModelServer.start(options.provider ?? 'openai', options.script);
    server = model;
    const { executor, runner } = makeExecutor(testConfig(model, options.env), options.store, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.repositories ? { repositories: options.repositories } : {}),
    });
    return {
      fixture: started,
      server: model,
      executor,
      runner,
      context: ({ strategy = 'ITERATIVE', attempt, answers, task } = {}) =>
        makeContext({
          task: { ...task, id: taskId, repository: started.origin },
          workspace: started.clone(),
          strategy,
          ...(attempt === undefined ? {} : { attempt }),
          ...(answers === undefined ? {} : { answers }),
        }),
    };
  };
}

/** Asserts that `branch` of the fixture's origin holds the fix (sum() adds). */
export function expectSumFixed(fixture: Fixture, branch: string): void {
  expect(fixture.show(branch, 'src/sum.js')).toContain('return a + b;');
}
