/**
 * Retrains the classifier from the database (the stored outcome examples plus the configured corpus), with
 * the subgraph's own configuration (DATABASE_URL, TRAINING_*), and prints the result. The new version is
 * activated only if it beats the active one on the same held-out set; running instances follow within
 * CLASSIFIER_RELOAD_INTERVAL_MS.
 *
 *   npm run train -w @cap/ml-classifier [-- --epochs N]
 *   node subgraphs/ml-classifier/dist/trainCli.js [--epochs N]
 */
import { parseArgs } from 'node:util';
import { databaseTargetFromEnv, openDatabase } from '@cap/db';
import { MemoryEventBus } from '@cap/messaging';
import { createLogger, exitOnConfigError, MemoryKeyValueStore, Shutdown } from '@cap/runtime';
import { startMlClassifier } from './app.js';
import { loadConfig } from './config.js';
import { runTraining, startTraining } from './domain/training.js';

const { values } = parseArgs({ options: { epochs: { type: 'string' } } });
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'ml-classifier-train', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
shutdown.handleSignals();
const write = (line: string) => process.stdout.write(`${line}\n`);

try {
  const database = await openDatabase(
    databaseTargetFromEnv({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
    { logger },
  );
  shutdown.add('database', () => database.close());
  // No graph and no consumer: this process only trains. Its outbox stays empty (training publishes nothing).
  const bus = new MemoryEventBus();
  shutdown.add('event bus', () => bus.close());
  const classifier = await startMlClassifier({
    config,
    database,
    kv: new MemoryKeyValueStore(),
    bus,
    logger,
    serve: false,
    consume: false,
  });
  shutdown.add('ml-classifier', () => classifier.close());
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  const queued = await startTraining(classifier.deps, { requestedBy: null, epochs, background: false });
  const training = await runTraining(classifier.deps, queued.id, {
    epochs: epochs ?? config.TRAINING_EPOCHS,
  });
  write(`training ${training.id}: ${training.status}`);
  write(
    `examples: ${training.outcomeExamples} outcomes, ${training.corpusExamples} corpus, ${training.heldOutExamples} held out`,
  );
  if (training.comparison) write(JSON.stringify(training.comparison, null, 2));
  write(training.decision ?? training.error ?? '');
  process.exitCode = training.status === 'SUCCEEDED' ? 0 : 1;
} finally {
  await shutdown.close();
}
