/**
 * Measures training levers one at a time (ADR 0027): each variant is trained on the training repositories
 * without the four validation repositories (and with the changelogs), then scored on the validation
 * repositories (where choices are made) and on the held-out repositories (reported only). Both test sets
 * always carry the committed cleaning's labels, so a cleaning variant cannot win by dropping hard examples
 * from what it is scored on. Reads the corpus like the training command (manifest heads, the same read
 * options, the corpus cache), so after a training run it reads nothing from git.
 *
 *   npx tsx --conditions=source packages/task-classifier/scripts/levers.ts base dw05 multi+dw05 ...
 *   npx tsx --conditions=source packages/task-classifier/scripts/levers.ts --agreement
 */
import {
  DEFAULT_CLEANING,
  DEFAULT_VOCABULARY,
  evaluate,
  predictors,
  train,
  type CleaningOptions,
  type CorpusExample,
  type Predictor,
  type TrainOptions,
} from '@cap/task-classifier';
import { log, pct, readLeversCorpus } from './leversCorpus.js';

const corpus = await readLeversCorpus();
const { reads, committedLabels } = corpus;

if (process.argv.includes('--agreement')) {
  // Subjects written identically (case, quotes and digits aside) in two or more repositories: how often do
  // two repositories give them the same label? An upper bound for any model that reads only the subject.
  const normalise = (title: string) =>
    title.toLowerCase().replace(/[`'"]/g, '').replace(/\d+/g, '0').replace(/\s+/g, ' ').trim();
  const byTitle = new Map<string, CorpusExample[]>();
  let total = 0;
  for (const repo of reads.keys()) {
    for (const example of committedLabels(repo)) {
      total += 1;
      const key = normalise(example.title);
      byTitle.set(key, [...(byTitle.get(key) ?? []), example]);
    }
  }
  for (const head of ['type', 'complexity'] as const) {
    let pairs = 0;
    let agree = 0;
    let titles = 0;
    let examples = 0;
    let majorityRight = 0;
    for (const list of byTitle.values()) {
      if (new Set(list.map((example) => example.group)).size < 2) continue;
      titles += 1;
      examples += list.length;
      for (const [i, a] of list.entries()) {
        const others = new Map<string, number>();
        for (const [j, b] of list.entries()) {
          if (a.group === b.group) continue;
          others.set(b[head] ?? '', (others.get(b[head] ?? '') ?? 0) + 1);
          if (j > i) {
            pairs += 1;
            if (a[head] === b[head]) agree += 1;
          }
        }
        const majority = [...others.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
        if (majority === a[head]) majorityRight += 1;
      }
    }
    log(
      `${head}: ${titles} subjects written identically in two or more repositories (${examples} of ${total} examples); two repositories agree on ${((100 * agree) / pairs).toFixed(1)}% of ${pairs} pairs; the other repositories' majority label is right for ${((100 * majorityRight) / examples).toFixed(1)}%`,
    );
  }
  process.exit(0);
}

interface Variant {
  name: string;
  cleaning?: Partial<CleaningOptions>;
  options?: Partial<TrainOptions>;
  noChangelogs?: boolean;
}
const heads = (l2: number, typePower: number, complexityPower: number) => ({
  type: { l2, classWeightPower: typePower },
  complexity: { l2, classWeightPower: complexityPower },
});
const variants: Record<string, Variant> = {
  base: { name: 'the committed settings' },
  multi: { name: 'multi-type squash commits dropped', cleaning: { dropMultiType: true } },
  dw1: {
    name: 'title and description scaled apart, weight 1',
    options: { vocabulary: { ...DEFAULT_VOCABULARY, descriptionWeight: 1 } },
  },
  dw05: {
    name: 'description weight 0.5',
    options: { vocabulary: { ...DEFAULT_VOCABULARY, descriptionWeight: 0.5 } },
  },
  dw03: {
    name: 'description weight 0.3',
    options: { vocabulary: { ...DEFAULT_VOCABULARY, descriptionWeight: 0.3 } },
  },
  ep20: { name: '20 epochs', options: { epochs: 20 } },
  p1: { name: 'class weight power 1 (both heads)', options: heads(1e-5, 1, 1) },
  l2e4: { name: 'L2 1e-4', options: heads(1e-4, 0.5, 0) },
  nocl: { name: 'without changelogs', noChangelogs: true },
};
const { validationSet, heldOutSet } = corpus;
log(
  '| variant | training examples | validation type acc / F1 | validation complexity acc / F1 | held-out type acc / F1 | held-out complexity acc / F1 |',
);
for (const key of process.argv.slice(2)) {
  const parts = key.split('+').map((part) => {
    const variant = variants[part];
    if (!variant) throw new Error(`unknown variant ${part}; known: ${Object.keys(variants).join(', ')}`);
    return variant;
  });
  const cleaning = { ...DEFAULT_CLEANING, ...Object.assign({}, ...parts.map((part) => part.cleaning)) };
  const options: Partial<TrainOptions> = {
    ...heads(1e-5, 0.5, 0),
    ...Object.assign({}, ...parts.map((part) => part.options)),
    seed: 42,
  };
  const training = corpus.training(cleaning, !parts.some((part) => part.noChangelogs));
  const model = train({ examples: training, options });
  const predictor = predictors(model, training, 1.01)['model'] as Predictor;
  const [v, h] = [await evaluate(predictor, validationSet), await evaluate(predictor, heldOutSet)];
  log(
    `| ${parts.map((part) => part.name).join(' + ')} | ${training.length} | ${pct(v.type.accuracy)} / ${pct(v.type.macroF1)} | ${pct(v.complexity.accuracy)} / ${pct(v.complexity.macroF1)} | ${pct(h.type.accuracy)} / ${pct(h.type.macroF1)} | ${pct(h.complexity.accuracy)} / ${pct(h.complexity.macroF1)} |`,
  );
}
