import { DEFAULT_PROCESSED_EVENTS_RETENTION_MS } from '@cap/messaging';
import {
  commaList,
  envBoolean,
  envDecimal,
  envInt,
  parseEnv,
  processedEventsRetentionMs,
  subgraphEnvShape,
  withDevelopmentSecrets,
} from '@cap/runtime';
import { COMMITTED_MODEL_PATH } from '@cap/task-classifier';
import { z } from 'zod';

/** `owner/name=<git dir>[@sha]`: one git history to read training commits from. */
const GIT_SOURCE = /^([\w.-]+\/[\w.-]+)=(.+?)(?:@([0-9a-f]{7,40}))?$/;

/**
 * The ML classifier's configuration: the only place that reads the environment (docs/CONVENTIONS.md §11). In
 * development the router secret is generated once and kept under DATA_DIR; in production it must be set.
 */
const schema = z
  .object({
    ...subgraphEnvShape(4004),
    /** How long processed-event marks are kept for deduplication, ms (default 7 days; keep it above the topics' retention). */
    PROCESSED_EVENTS_RETENTION_MS: processedEventsRetentionMs(DEFAULT_PROCESSED_EVENTS_RETENTION_MS),
    /** `HYBRID` (default: a confident heuristic decides, the model otherwise), `MODEL` or `HEURISTIC`. */
    CLASSIFIER_MODE: z.enum(['HYBRID', 'MODEL', 'HEURISTIC']).default('HYBRID'),
    /** Heuristic confidence (0..1.01) at which the hybrid lets the heuristic decide; default the model's own. */
    CLASSIFIER_HEURISTIC_THRESHOLD: envDecimal(0, 1.01).optional(),
    /** The model seeded as the first version when the database has none (default the committed model). */
    CLASSIFIER_SEED_MODEL_PATH: z.string().min(1).default(COMMITTED_MODEL_PATH),
    /** How often an instance checks which version is active (another instance or the CLI may change it), ms (default 5,000). */
    CLASSIFIER_RELOAD_INTERVAL_MS: envInt(100, 3_600_000).default(5_000),
    /** Read the CHANGELOG.md files of the packages in TRAINING_NODE_MODULES as training corpus (default true). */
    TRAINING_CHANGELOGS: envBoolean.default(true),
    /** The node_modules directory whose changelogs are read (default `node_modules` of the working directory). */
    TRAINING_NODE_MODULES: z.string().min(1).default('node_modules'),
    /** Git histories to train from too, comma-separated `owner/name=<git dir>[@sha]` (default none). */
    TRAINING_GIT_SOURCES: commaList.optional(),
    /** Most commits used per git source (default 4,000, newest first). */
    TRAINING_MAX_PER_REPO: envInt(1, 100_000).default(4_000),
    /** Training epochs per head (default 10). */
    TRAINING_EPOCHS: envInt(1, 100).default(10),
    /** Share of examples held out for evaluation, percent (default 20), chosen by a stable hash of each example. */
    TRAINING_HELD_OUT_PERCENT: envInt(5, 50).default(20),
  })
  .superRefine((env, ctx) => {
    for (const [index, spec] of (env.TRAINING_GIT_SOURCES ?? []).entries()) {
      if (!GIT_SOURCE.test(spec))
        ctx.addIssue({
          code: 'custom',
          path: ['TRAINING_GIT_SOURCES'],
          message: `entry ${index + 1} must be owner/name=<git dir>[@sha]`,
        });
    }
    if (env.NODE_ENV !== 'production') return;
    for (const name of ['INTERNAL_TOKEN_SECRET', 'DATABASE_URL'] as const) {
      if (!env[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production' });
    }
  });

/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const mlClassifierEnvSchema = schema;

export type MlClassifierConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; development fills in the persisted generated router secret. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return resolveConfig(parseEnv('ml-classifier', schema, env));
}

function resolveConfig(env: z.output<typeof schema>) {
  return {
    ...withDevelopmentSecrets(env, ['INTERNAL_TOKEN_SECRET']),
    /** TRAINING_GIT_SOURCES parsed. */
    gitSources: (env.TRAINING_GIT_SOURCES ?? []).map((spec) => {
      const match = GIT_SOURCE.exec(spec) as RegExpExecArray;
      return {
        repo: match[1] as string,
        gitDir: match[2] as string,
        ...(match[3] ? { head: match[3] } : {}),
      };
    }),
  };
}
