/**
 * The task classifier in process: N classifications (BENCH_CLASSIFICATIONS, 5000; after 200 warm-up ones) of
 * task texts built from the committed model's vocabulary, with lengths from a title alone to a 2,000-character
 * description. Rows: the TypeScript model (features + softmax in double precision; the baseline), the ONNX model
 * through onnxruntime-node (what `classify` runs in MODEL mode), the hybrid (heuristic first), and feature
 * extraction alone. Prints classifications/s and p50/p99 latency; target p99 < 5 ms for the hybrid.
 *
 *   npm run bench -- classifier
 *   BENCH_CLASSIFICATIONS=1000 npm run bench -- classifier
 *
 * Needs nothing but the committed model (packages/task-classifier/model). Then, unless BENCH_SERVICE=0, the
 * classifier as a service (`service.ts`): `classifyTask` through the router beside the subgraph directly, and with
 * KAFKA_BROKERS set the TaskCreated → TaskClassified latency on Kafka (target p99 < 1 s).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadClassifier, MODEL_FILES, seededRandom, type TaskText } from '@cap/task-classifier';
import { measureService } from './service.js';

const COUNT = Number(process.env['BENCH_CLASSIFICATIONS'] ?? 5_000);
const WARMUP = 200;
const modelPath = join(
  import.meta.dirname,
  '..',
  '..',
  'packages',
  'task-classifier',
  'model',
  MODEL_FILES.onnx,
);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function texts(terms: string[], count: number): TaskText[] {
  const random = seededRandom(11);
  const pick = () => terms[Math.floor(random() * terms.length)] as string;
  return Array.from({ length: count }, () => {
    const title = Array.from({ length: 3 + Math.floor(random() * 9) }, pick).join(' ');
    const words = Math.floor(random() ** 2 * 300);
    return { title, description: Array.from({ length: words }, pick).join(random() < 0.2 ? '\n' : ' ') };
  });
}

async function measure(
  name: string,
  inputs: TaskText[],
  run: (text: TaskText) => unknown,
): Promise<string[]> {
  for (const text of inputs.slice(0, WARMUP)) await run(text);
  const latencies: number[] = [];
  const started = performance.now();
  for (const text of inputs) {
    const begin = performance.now();
    await run(text);
    latencies.push(performance.now() - begin);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return [
    name,
    (inputs.length / seconds).toFixed(0),
    percentile(latencies, 50).toFixed(3),
    percentile(latencies, 99).toFixed(3),
  ];
}

const hybrid = await loadClassifier({ modelPath, mode: 'HYBRID' });
const onnx = await loadClassifier({ modelPath, mode: 'MODEL' });
const terms = hybrid.metadata.features.terms
  .filter((term) => !term.startsWith('c:'))
  .map((term) => term.slice(2));
const inputs = texts(terms, COUNT);
const rows = [
  await measure('TypeScript model (baseline)', inputs, (text) => hybrid.typescript.predict(text)),
  await measure('ONNX model (onnxruntime-node)', inputs, (text) => onnx.classify(text)),
  await measure('hybrid classify', inputs, (text) => hybrid.classify(text)),
  await measure('features only', inputs, (text) => hybrid.typescript.features(text)),
];
await Promise.all([hybrid.release(), onnx.release()]);

const header = ['path', 'classifications/s', 'p50 ms', 'p99 ms'];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
);
const line = (row: string[]) =>
  row
    .map((cell, column) =>
      column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
    )
    .join('  ');
process.stdout.write(
  `task classifier ${hybrid.version}: ${COUNT} classifications, ${hybrid.metadata.features.terms.length + hybrid.metadata.features.signals.length} features\n`,
);
process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
const onnxRate = Number(rows[1]?.[1]);
const tsRate = Number(rows[0]?.[1]);
process.stdout.write(
  `ONNX / TypeScript throughput: ${(onnxRate / tsRate).toFixed(2)}×; target p99 < 5 ms (hybrid ${rows[2]?.[3]} ms)\n`,
);

if (process.env['BENCH_SERVICE'] !== '0') {
  const service = [['service path', 'per second', 'p50 ms', 'p99 ms'], ...(await measureService(inputs))];
  const serviceWidths = service[0]!.map((_, column) =>
    Math.max(...service.map((row) => (row[column] ?? '').length)),
  );
  const serviceLine = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(serviceWidths[column] ?? 0) : cell.padStart(serviceWidths[column] ?? 0),
      )
      .join('  ');
  process.stdout.write(
    `\nthe ml-classifier service (one request at a time)\n${service.map(serviceLine).join('\n')}\n`,
  );
  process.stdout.write('targets: TaskCreated → TaskClassified p99 < 1,000 ms on Kafka\n');
}
