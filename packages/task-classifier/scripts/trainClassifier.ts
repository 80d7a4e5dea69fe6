/**
 * Trains the task classifier from public, author-labelled text and writes `model/` (the .onnx, metadata.json
 * and the sources manifest). Third-party text is only read here, never committed.
 *
 *   npm run train:classifier [-- --mirror-dir <dir>] [--git owner/name=<git dir>[@sha]]... [--latest]
 *     [--manifest <sources.json>] [--held-out owner/name,...] [--max-per-repo N] [--node-modules <dir>|--no-changelogs]
 *     [--seed N] [--out <dir>] [--corpus-cache <dir>|--no-cache]
 *
 * `--mirror-dir` (default `$TRAINING_MIRROR_DIR` or /work/.mirror) takes every `<owner>+<name>/repo` git
 * directory under it. Each repository is read from the head recorded in `--manifest` (default the committed
 * model/sources.json), so newer history does not change the result and the weights come out identical
 * (training is seeded), only the date differs; `--latest` reads the mirrors' heads instead. Reads are cached
 * per repository, head, read options and reader code in `--corpus-cache` (outside the repository).
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as prettier from 'prettier';
import {
  cleanCorpus,
  compare,
  DEFAULT_CLEANING,
  groupSplit,
  pickValidationGroups,
  CONVENTIONAL_TYPE_MAP,
  CHANGELOG_SECTION_MAP,
  formatComparison,
  formatConfusion,
  loadClassifier,
  majorityPredictor,
  MODEL_FILES,
  readChangelogs,
  readGitCommitsCached,
  saveModel,
  stratifiedSplit,
  sweep,
  train,
  type Evaluation,
  type Example,
  type GitSource,
  type Predictor,
  type Trainer,
  type TrainedModel,
} from '@cap/task-classifier';

const packageDir = resolve(import.meta.dirname, '..');
const repoRoot = resolve(packageDir, '../..');
const { values } = parseArgs({
  options: {
    'mirror-dir': { type: 'string', default: process.env['TRAINING_MIRROR_DIR'] ?? '/work/.mirror' },
    git: { type: 'string', multiple: true, default: [] },
    // Reading from the manifest's heads is the default; `--reproduce` is kept for older instructions.
    reproduce: { type: 'boolean', default: false },
    latest: { type: 'boolean', default: false },
    'corpus-cache': { type: 'string', default: join(tmpdir(), 'cap-task-classifier-corpus') },
    'no-cache': { type: 'boolean', default: false },
    manifest: { type: 'string', default: join(packageDir, 'model', 'sources.json') },
    'held-out': {
      type: 'string',
      default:
        'typeorm/typeorm,semantic-release/semantic-release,goreleaser/goreleaser,biomejs/biome,ant-design/ant-design',
    },
    'validation-repos': { type: 'string', default: '4' },
    'max-per-repo': { type: 'string', default: '3000' },
    'max-commits': { type: 'string', default: '20000' },
    'node-modules': { type: 'string', default: join(repoRoot, 'node_modules') },
    'no-changelogs': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: join(packageDir, 'model') },
  },
});
const log = (line: string) => process.stdout.write(`${line}\n`);
const seed = Number(values.seed);
const outDir = resolve(values.out);

const sources: GitSource[] = [];
if (values['mirror-dir'] && existsSync(values['mirror-dir'])) {
  for (const entry of readdirSync(values['mirror-dir']).sort()) {
    const gitDir = join(values['mirror-dir'], entry, 'repo');
    if (entry.includes('+') && existsSync(join(gitDir, 'HEAD')))
      sources.push({ repo: entry.replace('+', '/'), gitDir });
  }
}
for (const spec of values.git) {
  const match = /^([\w.-]+\/[\w.-]+)=(.+?)(?:@([0-9a-f]{7,40}))?$/.exec(spec);
  if (!match) throw new Error(`--git expects owner/name=<git dir>[@sha], got ${spec}`);
  sources.push({
    repo: match[1] as string,
    gitDir: match[2] as string,
    ...(match[3] ? { head: match[3] } : {}),
  });
}
if (sources.length === 0)
  throw new Error('no sources: pass --mirror-dir or --git (see the header of this script)');
if (!values.latest && existsSync(values.manifest)) {
  const manifest = JSON.parse(await readFile(values.manifest, 'utf8')) as {
    repositories: { repo: string; head: string }[];
  };
  for (const source of sources)
    source.head ??= manifest.repositories.find((entry) => entry.repo === source.repo)?.head;
}
const heldOut = new Set(
  values['held-out']
    .split(',')
    .map((repo) => repo.trim())
    .filter(Boolean),
);

const started = Date.now();
const maxPerRepo = Number(values['max-per-repo']);
/** Held-out examples with the authors' labels as written (no cleaning), for comparison with older models. */
const rawHeldOut: Example[] = [];
// Four repositories at a time (each is a git process); results keep the sources' order.
const reads: Awaited<ReturnType<typeof readGitCommitsCached>>[] = [];
const cacheDir = values['no-cache'] ? undefined : resolve(values['corpus-cache']);
let nextSource = 0;
const reader = async () => {
  while (nextSource < sources.length) {
    const index = nextSource;
    nextSource += 1;
    const source = sources[index] as GitSource;
    // Held-out repositories keep bots (at most 10%, as the authors' labels are reported too); training ones
    // skip them while reading. Enough is read that dropped dependency updates leave the cap full.
    reads[index] = await readGitCommitsCached(
      source,
      {
        maxExamples: heldOut.has(source.repo) ? 2 * maxPerRepo : Math.ceil(1.25 * maxPerRepo),
        maxCommits: Number(values['max-commits']),
        maxBotShare: heldOut.has(source.repo) || !DEFAULT_CLEANING.dropBots ? 0.1 : 0,
      },
      cacheDir,
    );
  }
};
await Promise.all([reader(), reader(), reader(), reader()]);
const gitResults = [];
for (const [index, source] of sources.entries()) {
  const read = reads[index] as (typeof reads)[number];
  const cleaned = cleanCorpus(read.examples, DEFAULT_CLEANING);
  const examples = cleaned.examples.slice(0, maxPerRepo);
  const last = examples[examples.length - 1];
  const { cached, ...readResult } = read;
  const result = {
    ...readResult,
    examples,
    firstSha: last?.ref,
    commitsRead: read.examples.length,
    cleaning: { ...cleaned.dropped, relabelled: cleaned.relabelled },
  };
  if (heldOut.has(source.repo)) {
    const until = read.examples.findIndex((example) => example.ref === last?.ref);
    rawHeldOut.push(...read.examples.slice(0, until + 1));
  }
  log(
    `${source.repo}: ${examples.length} examples (${read.examples.length} read; dropped ${cleaned.dropped.bots} bot, ${cleaned.dropped.dependencyUpdates} dependency updates, ${cleaned.dropped.multiType} multi-type squashes; ${cleaned.relabelled} relabelled) from ${read.scanned} commits (${result.firstSha?.slice(0, 10)}..${result.lastSha?.slice(0, 10)})${cached ? ', cached' : ''}`,
  );
  gitResults.push(result);
}
const changelogs = values['no-changelogs']
  ? []
  : await readChangelogs(values['node-modules'], new Set(sources.map((source) => source.repo.toLowerCase())));
log(
  `changelogs: ${changelogs.reduce((sum, entry) => sum + entry.examples.length, 0)} entries from ${changelogs.length} packages`,
);

const heldOutExamples: Example[] = gitResults
  .filter((result) => heldOut.has(result.repo))
  .flatMap((result) => result.examples);
const pool: Example[] = [
  ...gitResults.filter((result) => !heldOut.has(result.repo)).flatMap((result) => result.examples),
  ...changelogs.flatMap((entry) => entry.examples),
];
// The stratified test set is cut first (report only); validation is whole training repositories, so the
// sweep selects for text from projects the model has not seen, as the held-out report measures.
const stratified = stratifiedSplit(pool, 0, 0.1, seed);
const validationGroups = pickValidationGroups(
  gitResults.filter((result) => !heldOut.has(result.repo)).map((result) => result.repo),
  Number(values['validation-repos']),
  seed,
);
const split = { ...groupSplit(stratified.train, validationGroups), test: stratified.test };
log(
  `pool ${pool.length} (train ${split.train.length}, validation ${split.validation.length} from ${[...validationGroups].join(', ')}, stratified test ${split.test.length}); held-out repositories ${[...heldOut].join(', ')}: ${heldOutExamples.length}`,
);

const base = { seed };
const candidates = [1e-6, 1e-5].flatMap((l2) =>
  [0, 0.5].map((classWeightPower) => ({ l2, classWeightPower })),
);
// Each candidate trains in its own worker thread (training is pure and synchronous; plain data crosses).
const inWorker: Trainer = (args) =>
  new Promise<TrainedModel>((resolvePromise, reject) => {
    const worker = new Worker(new URL('./trainWorker.mjs', import.meta.url), {
      workerData: args,
      execArgv: ['--conditions=source'],
    });
    worker.once('message', (model: TrainedModel) => {
      resolvePromise(model);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
const chosen = await sweep(
  split,
  candidates,
  [0.8, 0.85, 0.9, 0.95, 1.01],
  base,
  (line) => log(`  sweep ${line}`),
  inWorker,
);
log(
  `chosen on validation: type ${JSON.stringify(chosen.type)}, complexity ${JSON.stringify(chosen.complexity)}, hybrid threshold ${chosen.threshold}`,
);

// The committed model: every training-repository example except the stratified test set.
const trainingSet = [...split.train, ...split.validation];
const model = train({
  examples: trainingSet,
  options: { ...base, type: chosen.type, complexity: chosen.complexity },
  onProgress: (progress) => {
    if (progress.epoch !== undefined && progress.epoch === progress.epochs)
      log(`  ${progress.phase}: ${progress.epochs} epochs, loss ${progress.loss?.toFixed(4)}`);
  },
});
const provenanceSources = {
  repositories: gitResults.map((result) => ({
    repo: result.repo,
    head: result.head,
    commitRange: `${result.firstSha}..${result.lastSha}`,
    commitsScanned: result.scanned,
    examples: result.examples.length,
    commitsRead: result.commitsRead,
    cleaning: result.cleaning,
    role: heldOut.has(result.repo)
      ? 'held-out'
      : validationGroups.has(result.repo)
        ? 'training (validation)'
        : 'training',
  })),
  changelogs: changelogs.map((entry) => ({
    package: entry.pkg,
    version: entry.version,
    repository: entry.repository,
    examples: entry.examples.length,
    role: 'training',
  })),
};
await saveModel(outDir, model, { heuristicThreshold: chosen.threshold, provenance: {}, metrics: {} });

// Evaluate through onnxruntime, as the platform will run it.
const modes = { model: 'MODEL', heuristic: 'HEURISTIC', hybrid: 'HYBRID' } as const;
const evaluateSets = async (sets: Record<string, Example[]>, only?: readonly string[]) => {
  const out: Record<string, Record<string, Evaluation>> = {};
  const classifiers = await Promise.all(
    Object.entries(modes).map(
      async ([name, mode]) =>
        [
          name,
          await loadClassifier({
            modelPath: join(outDir, MODEL_FILES.onnx),
            mode,
            heuristicThreshold: chosen.threshold,
          }),
        ] as const,
    ),
  );
  for (const [setName, examples] of Object.entries(sets)) {
    const byName: Record<string, Predictor> = {};
    for (const [name, classifier] of classifiers) {
      byName[name] = async (text) => {
        const result = await classifier.classify(text);
        return { type: result.type.label, complexity: result.complexity.label };
      };
    }
    byName['majority'] = majorityPredictor(trainingSet);
    out[setName] = await compare(
      only ? Object.fromEntries(Object.entries(byName).filter(([name]) => only.includes(name))) : byName,
      examples,
    );
  }
  await Promise.all(classifiers.map(([, classifier]) => classifier.release()));
  return out;
};
const metrics = await evaluateSets({
  stratifiedTest: split.test,
  heldOutRepositories: heldOutExamples,
  // The same repositories with the authors' labels as written (no cleaning; bots capped at 10%).
  heldOutRepositoriesRawLabels: rawHeldOut,
});
for (const [setName, results] of Object.entries(metrics)) {
  log('');
  log(formatComparison(`${setName}:`, results));
  log(formatConfusion(`${setName} model type confusion`, (results['model'] as Evaluation).type));
  log(formatConfusion(`${setName} model complexity confusion`, (results['model'] as Evaluation).complexity));
}
// Per held-out repository: how far projects differ from one another is the ceiling's best evidence.
const perRepository = await evaluateSets(
  Object.fromEntries(
    [...heldOut].map((repo) => [repo, heldOutExamples.filter((example) => example.group === repo)]),
  ),
  ['model', 'majority'],
);
log('');
for (const [repo, results] of Object.entries(perRepository)) log(formatComparison(`${repo}:`, results));
const provenance = {
  ...provenanceSources,
  heldOutRepositories: [...heldOut],
  validationRepositories: [...validationGroups],
  cleaning: DEFAULT_CLEANING,
  trainingRepositories: gitResults.filter((result) => !heldOut.has(result.repo)).map((result) => result.repo),
  typeMapping: { conventionalCommits: CONVENTIONAL_TYPE_MAP, changelogSections: CHANGELOG_SECTION_MAP },
  labelling:
    'type from the conventional-commit prefix (scope and prefix stripped from the text, PR numbers, trailers and issue-closing lines removed), then cleaned (cleanCorpus): bot commits and dependency updates dropped, relabelled to DOCUMENTATION / TEST / CHORE by a docs, test or ci/build scope or when every counted file is documentation or tests; complexity from the commit numstat without lockfiles, go.sum, snapshots, build output, generated files, CHANGELOG.md, .changeset/ and binary files; merge commits, release commits and unmapped types skipped; near-duplicate texts (digits ignored) kept once',
  split: {
    seed,
    stratifiedTest: split.test.length,
    validation: split.validation.length,
    train: split.train.length,
    heldOut: heldOutExamples.length,
  },
};
const sweepSummary = chosen.results.map((result) => ({
  ...result.head,
  type: { accuracy: result.validation.type.accuracy, macroF1: result.validation.type.macroF1 },
  complexity: {
    accuracy: result.validation.complexity.accuracy,
    macroF1: result.validation.complexity.macroF1,
  },
}));
await saveModel(outDir, model, {
  heuristicThreshold: chosen.threshold,
  provenance,
  metrics: {
    ...metrics,
    heldOutPerRepository: Object.fromEntries(
      Object.entries(perRepository).map(([repo, results]) => [
        repo,
        Object.fromEntries(
          Object.entries(results).map(([name, evaluation]) => [
            name,
            {
              examples: evaluation.type.examples,
              type: { accuracy: evaluation.type.accuracy, macroF1: evaluation.type.macroF1 },
              complexity: {
                accuracy: evaluation.complexity.accuracy,
                macroF1: evaluation.complexity.macroF1,
              },
            },
          ]),
        ),
      ]),
    ),
    validationSweep: sweepSummary,
    hybridThresholdScores: chosen.thresholdScores,
  },
});
await writeFile(
  join(outDir, MODEL_FILES.sources),
  `${JSON.stringify({ version: model.version, createdAt: model.createdAt, repositories: provenanceSources.repositories, changelogs: provenanceSources.changelogs }, null, 1)}\n`,
);
// The committed JSON files are formatted like the rest of the repository, so `npm run format:check` passes.
for (const file of [MODEL_FILES.metadata, MODEL_FILES.sources]) {
  const path = join(outDir, file);
  // The repository's settings, wherever --out points (a directory outside the repository has none).
  const config = (await prettier.resolveConfig(join(repoRoot, 'package.json'))) ?? {};
  await writeFile(path, await prettier.format(await readFile(path, 'utf8'), { ...config, filepath: path }));
}
log(`\nwrote ${outDir} (${model.version}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
