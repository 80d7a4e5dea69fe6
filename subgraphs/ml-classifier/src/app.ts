import { join } from 'node:path';
import { ClassifierTopic, OrchestrationTopic } from '@cap/events';
import {
  startSubgraph,
  type StartedSubgraph,
  type SubgraphStart,
  type SubgraphStartOptions,
} from '@cap/host';
import type { KeyValueStore, RunningSubgraph } from '@cap/runtime';
import { baseRequestContext, serveSubgraph } from '@cap/runtime/kit';
import type { MlClassifierConfig } from './config.js';
import { keepTasksConsumer, type TasksConsumerOptions } from './consumers/orchestrationTasks.js';
import { createLoaders, type MlClassifierContext } from './context.js';
import { openMlClassifierDb, SCHEMA } from './db.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { ActiveModel } from './domain/activeModel.js';
import type { MlClassifierDeps } from './domain/deps.js';
import { loadActiveModel, seedModel } from './domain/models.js';
import { Trainer } from './domain/trainer.js';
import { schema } from './schema/index.js';

export interface StartMlClassifierOptions extends SubgraphStartOptions<MlClassifierConfig> {
  /** The platform's cache; reported in `/ready` only. */
  kv: KeyValueStore;
  /** The task consumer's group and starting point (tests and benchmarks use their own group). */
  consumer?: TasksConsumerOptions;
  /** Start the GraphQL server (default true; the training CLI needs none). */
  serve?: boolean;
  /** Consume orchestration's task events (default true; the training CLI does not). */
  consume?: boolean;
}

export interface RunningMlClassifier extends Omit<StartedSubgraph<MlClassifierDeps>, 'subgraph'> {
  /** Null when started with `serve: false`. */
  subgraph: RunningSubgraph | null;
  /** Resolves once the task consumer joined its group (it keeps retrying while Kafka is down). */
  consumerReady: Promise<void>;
  /** Releases everything the start opened, newest first (a retrain in progress is stopped and recorded FAILED). */
  close(): Promise<void>;
}

/**
 * Starts the ML classifier on shared infrastructure (its own process, or the all-in-one platform): seeds the
 * committed model when the database has none, loads the active version, serves the graph, consumes
 * orchestration's task events and publishes classifications through its outbox.
 */
export function startMlClassifier(options: StartMlClassifierOptions): Promise<RunningMlClassifier> {
  return startSubgraph(
    { name: 'ml-classifier', schema: SCHEMA, open: openMlClassifierDb, options },
    startInScope,
  );
}

async function startInScope({
  options,
  store,
  scope,
}: SubgraphStart<StartMlClassifierOptions, PrismaClient>): Promise<Omit<RunningMlClassifier, 'close'>> {
  const { config, logger } = options;
  const modelCacheDir = join(config.DATA_DIR, 'ml-classifier', 'models');
  const model = new ActiveModel({
    cacheDir: modelCacheDir,
    mode: config.CLASSIFIER_MODE,
    heuristicThreshold: config.CLASSIFIER_HEURISTIC_THRESHOLD,
    logger,
  });
  scope.add('ml-classifier model', () => model.close());
  const trainer = new Trainer(logger);
  scope.add('ml-classifier trainer', () => trainer.close());
  const deps: MlClassifierDeps = {
    prisma: store.prisma,
    model,
    trainer,
    logger,
    events: store.events,
    settings: {
      mode: config.CLASSIFIER_MODE,
      heuristicThreshold: config.CLASSIFIER_HEURISTIC_THRESHOLD,
      modelCacheDir,
      training: {
        nodeModules: config.TRAINING_CHANGELOGS ? config.TRAINING_NODE_MODULES : null,
        gitSources: config.gitSources,
        maxPerRepo: config.TRAINING_MAX_PER_REPO,
        epochs: config.TRAINING_EPOCHS,
        heldOutPercent: config.TRAINING_HELD_OUT_PERCENT,
      },
    },
  };
  await seedModel(deps, config.CLASSIFIER_SEED_MODEL_PATH);
  await loadActiveModel(deps);
  // Another instance (or the training CLI) may activate a version: follow it.
  const reload = setInterval(() => {
    loadActiveModel(deps).catch((error: unknown) =>
      logger.warn({ err: error }, 'could not check the active classifier model'),
    );
  }, config.CLASSIFIER_RELOAD_INTERVAL_MS);
  reload.unref();
  scope.add('ml-classifier model reload', async () => clearInterval(reload));

  store.startRelay();

  let consumerReady: Promise<void> = Promise.resolve();
  if (options.consume !== false) {
    const consumer = keepTasksConsumer(
      deps,
      options.bus,
      store.sql,
      [...Object.values(ClassifierTopic), OrchestrationTopic.task],
      options.consumer,
    );
    scope.add('ml-classifier task consumer', () => consumer.close());
    consumerReady = consumer.ready;
    store.startPurger(config.PROCESSED_EVENTS_RETENTION_MS);
  }

  let subgraph: RunningSubgraph | null = null;
  if (options.serve !== false) {
    subgraph = await serveSubgraph<MlClassifierContext>({
      name: 'ml-classifier',
      schema,
      config,
      logger,
      scope,
      database: options.database,
      // The classifier keeps nothing in the cache: degraded at worst, never down.
      cache: options.kv,
      context: (request) => ({ ...baseRequestContext(deps, request), loaders: createLoaders(deps) }),
    });
  }
  return { subgraph, deps, consumerReady };
}
