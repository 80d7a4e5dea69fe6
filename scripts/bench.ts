/**
 * Runs one benchmark: `npm run bench -- <name> [args]` runs `bench/<name>/index.ts`; without a name it lists
 * them. Benchmarks are not tests: they print numbers and ratios against a baseline run side by side, and never
 * fail a build on speed (README "Benchmarks").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './subgraphs.js';

const benches = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, 'bench', entry.name, 'index.ts')))
  .map((entry) => entry.name)
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !benches.includes(name)) {
  process.stdout.write(`usage: npm run bench -- <name>\nbenchmarks: ${benches.join(', ')}\n`);
  process.exit(name ? 1 : 0);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--conditions=source', join(root, 'bench', name, 'index.ts'), ...args],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
