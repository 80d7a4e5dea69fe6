import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGitCommits, train, type CorpusExample, type TrainedModel } from '@cap/task-classifier';
import { conventionalHistory, createFixtureRepo, type FixtureRepo } from './fixtureRepo.js';

describe('train in a worker thread', () => {
  let repo: FixtureRepo;
  let examples: CorpusExample[];

  beforeAll(async () => {
    repo = createFixtureRepo(conventionalHistory(3));
    examples = (
      await readGitCommits(
        { repo: 'acme/fixture', gitDir: repo.gitDir },
        { maxExamples: 500, maxCommits: 500, maxBotShare: 0.1 },
      )
    ).examples;
  });
  afterAll(() => repo?.remove());

  it('returns the same model as training in process (plain data crosses the thread boundary)', async () => {
    const args = {
      examples: [
        ...examples,
        { title: 'make the sidebar collapsible', description: '', filesChanged: 2, linesChanged: 40 },
      ],
      options: {
        epochs: 3,
        seed: 9,
        version: 'worker-test',
        vocabulary: { titleWords: 200, descriptionWords: 50, titleChars: 200, minDocumentFrequency: 1 },
      },
    };
    const worker = new Worker(new URL('./trainWorker.worker.mjs', import.meta.url), {
      workerData: args,
      execArgv: ['--conditions=source'],
    });
    try {
      const fromWorker = await new Promise<TrainedModel>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const inProcess = train(args);
      expect(fromWorker.heads.type.weights).toEqual(inProcess.heads.type.weights);
      expect(fromWorker.heads.complexity.bias).toEqual(inProcess.heads.complexity.bias);
      expect(fromWorker.features.terms).toEqual(inProcess.features.terms);
    } finally {
      await worker.terminate();
    }
  });
});
