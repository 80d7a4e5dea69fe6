import type { Envelope } from '@cap/events';
import type { Logger } from '@cap/runtime';
import { inTransaction as kitInTransaction, type EventRecorder as KitEventRecorder } from '@cap/runtime/kit';
import type { UnitOfWork as KitUnitOfWork } from '@cap/runtime/kit';
import type { ClassifierMode } from '@cap/task-classifier';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { ActiveModel } from './activeModel.js';
import type { Trainer } from './trainer.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export type EventRecorder = KitEventRecorder<Tx, Envelope>;

/** One transaction of the classifier and its post-commit effects. */
export type UnitOfWork = KitUnitOfWork<Tx>;

/** Where training finds its corpus and how it trains (from the configuration). */
export interface TrainingSettings {
  /** The node_modules whose CHANGELOG.md files are read; null = no changelogs. */
  nodeModules: string | null;
  gitSources: { repo: string; gitDir: string; head?: string }[];
  maxPerRepo: number;
  epochs: number;
  /** Percent of examples held out (stable hash of each example's key). */
  heldOutPercent: number;
}

/** What the classifier's use cases need; built once in `app.ts` and shared by resolvers, consumers and the CLI. */
export interface MlClassifierDeps {
  prisma: PrismaClient;
  events: EventRecorder;
  logger: Logger;
  /** The active model version, loaded in onnxruntime. */
  model: ActiveModel;
  trainer: Trainer;
  settings: {
    mode: ClassifierMode;
    heuristicThreshold: number | undefined;
    /** Where model files are unpacked for onnxruntime. */
    modelCacheDir: string;
    training: TrainingSettings;
  };
}

/** Runs `work` in one transaction with the outbox events it records (`@cap/runtime/kit`). */
export function inTransaction<T>(deps: MlClassifierDeps, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  return kitInTransaction(deps, work);
}
