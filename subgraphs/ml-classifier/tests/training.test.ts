import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@cap/runtime';
import { errorCodes, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClassifier, MODEL_FILES } from '@cap/task-classifier';
import { isHeldOut, outcomeKey } from '../src/index.js';
import {
  publish,
  startClassifierHarness,
  taskCompleted,
  taskCreated,
  type ClassifierHarness,
} from './harness.js';

/**
 * Versions and retrains on real PostgreSQL: a retrain from stored outcome examples produces a version with
 * metrics and replaces the active one only when it is better on the same held-out examples; a worse one stays
 * inactive; rollback and activation; only admins.
 */
let harness: ClassifierHarness;
const admin = userPrincipal('ADMIN');
const developer = userPrincipal('DEVELOPER');
const HELD_OUT_PERCENT = 20;

/** Which area a task touches decides the size of its change: learnable from the text, unknown to the committed model. */
const AREAS = {
  SIMPLE: ['tooltip', 'badge', 'favicon', 'footer', 'spinner', 'caption'],
  MEDIUM: ['checkout', 'search', 'profile', 'upload', 'export', 'filter'],
  COMPLEX: ['ledger', 'scheduler', 'replication', 'billing', 'sharding', 'federation'],
} as const;
const PHRASES = [
  'Update the {} module',
  'Improve {} handling',
  'Adjust {} behaviour when idle',
  'Tweak the {} settings',
  'Rework the {} component',
  'Revisit {} edge cases',
  'Polish {} for the release',
  'Refresh the {} implementation',
];
const SIZE = {
  SIMPLE: { filesChanged: 1, linesChanged: 6 },
  MEDIUM: { filesChanged: 3, linesChanged: 90 },
  COMPLEX: { filesChanged: 14, linesChanged: 1_400 },
} as const;
type Complexity = keyof typeof SIZE;
/** One outcome example per (area, phrase). */
const OUTCOME_EXAMPLES = Object.values(AREAS).flat().length * PHRASES.length;
const INVERTED: Record<Complexity, Complexity> = { SIMPLE: 'COMPLEX', MEDIUM: 'SIMPLE', COMPLEX: 'MEDIUM' };

/**
 * Stores one outcome example per (area, phrase) through the consumer. `invert` gives the training examples
 * (not the held-out ones) the wrong size: a corpus that teaches the opposite of the truth.
 */
async function storeOutcomes(invert: boolean): Promise<void> {
  const envelopes = [];
  const ids: string[] = [];
  for (const [complexity, areas] of Object.entries(AREAS) as [Complexity, readonly string[]][]) {
    for (const area of areas) {
      for (const phrase of PHRASES) {
        const taskId = randomUUID();
        ids.push(taskId);
        const heldOut = isHeldOut(outcomeKey(taskId), HELD_OUT_PERCENT);
        const size = SIZE[invert && !heldOut ? INVERTED[complexity] : complexity];
        envelopes.push(
          taskCreated(taskId, { title: phrase.replace('{}', area) }),
          taskCompleted(taskId, size),
        );
      }
    }
  }
  await publish(harness.bus, envelopes);
  const { prisma } = harness.classifier.deps;
  await waitFor(async () =>
    (await prisma.outcomeExample.count({ where: { taskId: { in: ids } } })) === ids.length ? true : undefined,
  );
}

const TRAIN = /* GraphQL */ `
  mutation Train($epochs: Int) {
    trainClassifier(epochs: $epochs) {
      id
      status
    }
  }
`;
const TRAINING = /* GraphQL */ `
  query Training($id: ID!) {
    classifierTraining(id: $id) {
      id
      status
      phase
      progress
      outcomeExamples
      corpusExamples
      heldOutExamples
      activated
      decision
      comparison
      error
      model {
        id
        version
        active
        source
        evaluation {
          testSet
          complexityAccuracy
          complexityExamples
          typeExamples
        }
      }
    }
  }
`;
const MODELS = /* GraphQL */ `
  query {
    classifierModels(first: 10) {
      edges {
        node {
          id
          version
          source
          active
        }
      }
    }
  }
`;

async function trainToEnd(epochs = 20): Promise<Record<string, any>> {
  const started = await harness.call(TRAIN, { epochs }, admin);
  expect(started.errors).toBeUndefined();
  const id = started.data!['trainClassifier'].id as string;
  return waitFor(
    async () => {
      const result = await harness.call(TRAINING, { id }, admin);
      const training = result.data?.['classifierTraining'];
      return training && ['SUCCEEDED', 'FAILED'].includes(training.status) ? training : undefined;
    },
    { timeoutMs: 60_000, message: () => `training ${id} to finish` },
  );
}

/**
 * A node_modules with one package whose CHANGELOG.md (conventional-changelog sections) gives the retrain its type
 * labels, as the real changelogs do in production (outcome examples label complexity only).
 */
function changelogFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cap-ml-changelogs-'));
  const sections: Record<string, string[]> = {
    'Bug Fixes': [
      'fix crash when the {} is empty',
      'fix wrong {} total after a retry',
      'fix {} timeout on slow links',
    ],
    Features: ['add {} export to CSV', 'add a {} preview', 'support custom {} templates'],
    Documentation: ['document the {} options', 'describe {} limits in the guide', 'fix typos in the {} docs'],
    Tests: ['add tests for the {} parser', 'cover {} errors in tests', 'stabilise the flaky {} test'],
  };
  const areas = ['cart', 'invoice', 'report', 'session', 'upload', 'profile'];
  const lines = ['# Changelog', '', '## 1.0.0 (2026-01-01)', ''];
  for (const [section, templates] of Object.entries(sections)) {
    lines.push(`### ${section}`, '');
    for (const template of templates)
      for (const area of areas) lines.push(`* ${template.replace('{}', area)}`);
    lines.push('');
  }
  mkdirSync(join(dir, 'fixture-changelog'));
  writeFileSync(join(dir, 'fixture-changelog', 'CHANGELOG.md'), lines.join('\n'));
  writeFileSync(
    join(dir, 'fixture-changelog', 'package.json'),
    JSON.stringify({ name: 'fixture-changelog', version: '1.0.0', repository: 'acme/fixture-changelog' }),
  );
  return dir;
}

async function activeVersion(): Promise<string> {
  const result = await harness.call(MODELS, {}, developer);
  return result.data!['classifierModels'].edges.find((edge: any) => edge.node.active).node.version;
}

let changelogs: string;

beforeAll(async () => {
  changelogs = changelogFixture();
  harness = await startClassifierHarness({
    env: {
      TRAINING_HELD_OUT_PERCENT: String(HELD_OUT_PERCENT),
      TRAINING_CHANGELOGS: 'true',
      TRAINING_NODE_MODULES: changelogs,
    },
  });
  await harness.classifier.consumerReady;
});
afterAll(async () => {
  await harness?.[Symbol.asyncDispose]();
  if (changelogs) rmSync(changelogs, { recursive: true, force: true });
});

// A retrain runs in a worker and is awaited up to 60 s (trainToEnd): the tests' own limit must be longer, or a
// machine under load fails the test before the wait can.
describe('versions and retrains', { timeout: 90_000 }, () => {
  it('starts with the committed model seeded as the one active version', async () => {
    const result = await harness.call(MODELS, {}, developer);
    expect(result.errors).toBeUndefined();
    expect(result.data!['classifierModels'].edges).toEqual([
      { node: expect.objectContaining({ source: 'COMMITTED', active: true }) },
    ]);
  });

  it('never activates a retrain that could not learn or be judged on complexity (changelogs alone)', async () => {
    const before = await activeVersion();
    const training = await trainToEnd(2);
    expect(training).toMatchObject({ status: 'SUCCEEDED', activated: false, outcomeExamples: 0 });
    expect(training.decision).toMatch(/no labels for one of the heads/);
    expect(await activeVersion()).toBe(before);
  });

  it('retrains from stored outcome examples in a worker, stores a version with metrics and activates it when better', async () => {
    await storeOutcomes(false);
    const committed = await activeVersion();
    const training = await trainToEnd();
    expect(training).toMatchObject({
      status: 'SUCCEEDED',
      activated: true,
      outcomeExamples: OUTCOME_EXAMPLES,
      corpusExamples: 72,
    });
    expect(training.heldOutExamples).toBeGreaterThan(0);
    expect(training.comparison.active.version).toBe(committed);
    expect(training.comparison.candidate.score).toBeGreaterThan(training.comparison.active.score);
    expect(training.model).toMatchObject({ source: 'TRAINED', active: true });
    expect(training.model.evaluation.complexityExamples).toBeGreaterThan(0);
    expect(training.model.evaluation.typeExamples).toBeGreaterThan(0);
    // The new version serves on every instance once it reloaded (this one right after the commit).
    const PREVIEW = `query { classifyTask(input: { title: "Improve ledger handling" }) { modelVersion } }`;
    await waitFor(async () => {
      const preview = await harness.call(PREVIEW, {}, developer);
      return preview.data?.['classifyTask']?.modelVersion === training.model.version ? true : undefined;
    });
  });

  it('stores a retrained version whose ONNX file gives the TypeScript model’s probabilities (database round trip)', async () => {
    const row = await harness.classifier.deps.prisma.classifierModel.findFirstOrThrow({
      where: { source: 'TRAINED', active: true },
    });
    const dir = mkdtempSync(join(tmpdir(), 'cap-ml-parity-'));
    try {
      writeFileSync(join(dir, MODEL_FILES.onnx), row.onnx);
      writeFileSync(join(dir, MODEL_FILES.metadata), JSON.stringify(row.metadata));
      // loadClassifier checks the file's sha256 against the stored metadata.
      const loaded = await loadClassifier({ modelPath: join(dir, MODEL_FILES.onnx) });
      try {
        expect(loaded.version).toBe(row.version);
        for (const [complexity, areas] of Object.entries(AREAS)) {
          for (const area of areas) {
            const text = { title: `Improve ${area} handling`, description: `${complexity} work on ${area}` };
            const onnx = await loaded.predict(text);
            const typescript = loaded.typescript.predict(text);
            for (let c = 0; c < 3; c += 1)
              expect(onnx.complexity[c]).toBeCloseTo(typescript.complexity[c] ?? Number.NaN, 5);
            for (let c = 0; c < 7; c += 1)
              expect(onnx.type[c]).toBeCloseTo(typescript.type[c] ?? Number.NaN, 5);
          }
        }
      } finally {
        await loaded.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the active version when a retrain is worse on the same held-out examples', async () => {
    const before = await activeVersion();
    // Three times as many wrongly sized examples as right ones: the candidate learns the opposite.
    await storeOutcomes(true);
    await storeOutcomes(true);
    await storeOutcomes(true);
    const training = await trainToEnd();
    expect(training).toMatchObject({ status: 'SUCCEEDED', activated: false });
    expect(training.decision).toMatch(/^not activated/);
    expect(training.comparison.candidate.score).toBeLessThan(training.comparison.active.score);
    expect(training.model.active).toBe(false);
    expect(await activeVersion()).toBe(before);
  });

  it('rolls back to the version active before, and activates a version by id', async () => {
    const models = (await harness.call(MODELS, {}, developer)).data!['classifierModels'].edges.map(
      (e: any) => e.node,
    );
    const committed = models.find((model: any) => model.source === 'COMMITTED');
    const rolled = await harness.call(`mutation { rollbackModel { version source active } }`, {}, admin);
    expect(rolled.errors).toBeUndefined();
    expect(rolled.data!['rollbackModel']).toEqual({
      version: committed.version,
      source: 'COMMITTED',
      active: true,
    });
    await waitFor(async () => ((await activeVersion()) === committed.version ? true : undefined));

    const retrained = models.find((model: any) => model.source === 'TRAINED' && !model.active) ?? models[0];
    const activated = await harness.call(
      `mutation ($id: ID!) { activateModel(id: $id) { id active } }`,
      { id: retrained.id },
      admin,
    );
    expect(activated.data!['activateModel']).toEqual({ id: retrained.id, active: true });
    expect(await harness.classifier.deps.prisma.classifierModel.count({ where: { active: true } })).toBe(1);
  });

  it('refuses every admin operation to every non-admin caller (class test)', async () => {
    const operations = [
      [TRAIN, {}],
      [`mutation { rollbackModel { id } }`, {}],
      [`mutation ($id: ID!) { activateModel(id: $id) { id } }`, { id: randomUUID() }],
      [`query { classifierTrainings { edges { node { id } } } }`, {}],
      [`query ($id: ID!) { classifierTraining(id: $id) { id } }`, { id: randomUUID() }],
    ] as const;
    const callers = [
      [undefined, ErrorCode.UNAUTHENTICATED],
      [userPrincipal('VIEWER'), ErrorCode.FORBIDDEN],
      [developer, ErrorCode.FORBIDDEN],
      [{ ...admin, scopes: admin.scopes.filter((scope) => scope !== 'users:manage') }, ErrorCode.FORBIDDEN],
    ] as const;
    for (const [query, variables] of operations) {
      for (const [principal, code] of callers) {
        const result = await harness.call(query, variables, principal);
        expect(errorCodes(result), `${query} as ${principal?.role ?? 'anonymous'}`).toEqual([code]);
      }
    }
  });

  it('refuses non-admins, bad ids, a second retrain at once, and pages with coded errors', async () => {
    expect(errorCodes(await harness.call(TRAIN, {}, developer))).toEqual([ErrorCode.FORBIDDEN]);
    expect(errorCodes(await harness.call(TRAIN, {}))).toEqual([ErrorCode.UNAUTHENTICATED]);
    expect(errorCodes(await harness.call(`mutation { rollbackModel { id } }`, {}, developer))).toEqual([
      ErrorCode.FORBIDDEN,
    ]);
    const activate = `mutation ($id: ID!) { activateModel(id: $id) { id } }`;
    expect(errorCodes(await harness.call(activate, { id: 'not-a-uuid' }, admin))).toEqual([
      ErrorCode.BAD_USER_INPUT,
    ]);
    expect(errorCodes(await harness.call(activate, { id: randomUUID() }, admin))).toEqual([
      ErrorCode.NOT_FOUND,
    ]);
    expect(errorCodes(await harness.call(TRAIN, { epochs: 0 }, admin))).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(
      errorCodes(
        await harness.call(
          `query { classifierModels(first: 1000) { edges { node { id } } } }`,
          {},
          developer,
        ),
      ),
    ).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(
      errorCodes(
        await harness.call(
          `query { classifierModels(after: "bm90LWEtY3Vyc29y") { edges { node { id } } } }`,
          {},
          developer,
        ),
      ),
    ).toEqual([ErrorCode.BAD_USER_INPUT]);

    const first = await harness.call(TRAIN, { epochs: 1 }, admin);
    expect(first.errors).toBeUndefined();
    const second = await harness.call(TRAIN, { epochs: 1 }, admin);
    expect(errorCodes(second)).toEqual([ErrorCode.CONFLICT]);
    expect(second.errors![0]!.extensions).toMatchObject({ trainingId: first.data!['trainClassifier'].id });
    await waitFor(
      async () => {
        const result = await harness.call(TRAINING, { id: first.data!['trainClassifier'].id }, admin);
        return ['SUCCEEDED', 'FAILED'].includes(result.data?.['classifierTraining']?.status)
          ? true
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });
});
