/**
 * The agent runtime's own cost per step. A zero-latency in-process model answers every call at once with the
 * next tool call of a fixed cycle, so what is measured is the runtime alone: budget checks, condensing the
 * conversation, tool-call parsing and zod validation, path confinement, the tool itself on a real workspace,
 * TOOL_CALL / LLM_USAGE / MESSAGE logging and usage recording. One step is one model round and its tool call,
 * timed from one model call to the next. Two rows side by side: read-only tools (read_file, search,
 * list_files) and editing tools (edit_file, write_file); commands (run_command) are left out because their
 * cost is the command's. Prints steps, p50/p99 wall time per step (target p99 < 20 ms), p50/p99 CPU time per
 * step (the same cost without waiting for a busy machine's CPU) and steps/s.
 *
 *   npx tsx --conditions=source bench/agent-steps/index.ts
 *   BENCH_STEPS=500 npx tsx --conditions=source bench/agent-steps/index.ts
 *
 * Knobs: BENCH_STEPS (2000 per row). Needs git on PATH; no services.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  agentConfigFromEnv,
  createAgentExecutor,
  LocalRepositoryAccess,
  MemoryConversationStore,
  type ModelClient,
  type ModelResponse,
  type ToolCall,
} from '@cap/agent';
import { ChildProcessRunner } from '@cap/testkit';
import { printTable } from '../table.js';

const STEPS = Number(process.env['BENCH_STEPS'] ?? 2_000);

type Cycle = Array<Omit<ToolCall, 'id'>>;

const READS: Cycle = [
  { name: 'read_file', arguments: JSON.stringify({ path: 'src/module-3.js', start_line: 1, end_line: 40 }) },
  { name: 'search', arguments: JSON.stringify({ pattern: 'export function \\w+', path: 'src' }) },
  { name: 'list_files', arguments: JSON.stringify({ path: '.', max_depth: 2 }) },
];
const EDITS: Cycle = [
  {
    name: 'edit_file',
    arguments: JSON.stringify({ path: 'src/module-1.js', old_string: 'return 1;', new_string: 'return 2;' }),
  },
  {
    name: 'edit_file',
    arguments: JSON.stringify({ path: 'src/module-1.js', old_string: 'return 2;', new_string: 'return 1;' }),
  },
  {
    name: 'write_file',
    arguments: JSON.stringify({ path: 'notes/scratch.md', content: 'scratch\n'.repeat(50) }),
  },
];

/** Answers instantly; records when each call started. */
class InstantModel implements ModelClient {
  readonly provider = 'openai' as const;
  readonly calls: number[] = [];
  /** Process CPU time (user + system, all threads) at each call, ms. */
  readonly cpu: number[] = [];
  #step = 0;
  constructor(
    private readonly cycle: Cycle,
    private readonly steps: number,
  ) {}

  async complete(): Promise<ModelResponse> {
    this.calls.push(performance.now());
    const usage = process.cpuUsage();
    this.cpu.push((usage.user + usage.system) / 1000);
    const step = this.#step++;
    // Distinct arguments each time would be unrealistic; alternating calls keep stuck detection quiet.
    const call =
      step >= this.steps
        ? { name: 'finish', arguments: JSON.stringify({ summary: 'Benchmark done.' }) }
        : this.cycle[step % this.cycle.length]!;
    return {
      text: step % 10 === 0 ? 'Looking at the next file.' : '',
      toolCalls: [{ id: `call_${step}`, ...call }],
      tokensIn: 1_000,
      tokensOut: 50,
      stopReason: 'tool_calls',
    };
  }
}

function fixture(): { root: string; origin: string; clone: () => string } {
  const root = mkdtempSync(join(tmpdir(), 'cap-agent-bench-'));
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'ignore' });
  const seed = join(root, 'seed');
  mkdirSync(join(seed, 'src'), { recursive: true });
  for (let i = 0; i < 40; i++) {
    const body = Array.from({ length: 60 }, (_, line) => `// line ${line}`).join('\n');
    writeFileSync(
      join(seed, 'src', `module-${i}.js`),
      `export function f${i}() {\n  return 1;\n}\n${body}\n`,
    );
  }
  const origin = join(root, 'origin.git');
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  git(root, 'init', '--quiet', '--initial-branch=main', seed);
  git(seed, 'add', '.');
  git(seed, '-c', 'user.name=b', '-c', 'user.email=b@localhost', 'commit', '--quiet', '-m', 'seed');
  git(seed, 'push', '--quiet', origin, 'HEAD:refs/heads/main');
  let n = 0;
  return {
    root,
    origin,
    clone: () => {
      const dir = join(root, `ws-${++n}`);
      git(root, 'clone', '--quiet', origin, dir);
      return dir;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(label: string, cycle: Cycle): Promise<Record<string, string | number>> {
  const repo = fixture();
  const model = new InstantModel(cycle, STEPS);
  let entries = 0;
  const executor = createAgentExecutor({
    config: agentConfigFromEnv({
      OPENAI_API_KEY: 'bench-key',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      AGENT_MODEL: 'gpt-4o-mini',
      AGENT_BUDGETS: JSON.stringify({
        ITERATIVE: { tokens: 1e12, usd: 1e9, toolCalls: 1e9, toolRounds: 1e9 },
      }),
    }),
    runner: new ChildProcessRunner(),
    repositories: new LocalRepositoryAccess(),
    conversations: new MemoryConversationStore(),
    path: process.env['PATH'] ?? '/usr/bin:/bin',
    model,
  });
  const dir = repo.clone();
  const outcome = await executor.execute({
    task: {
      id: randomUUID(),
      title: 'bench',
      description: 'bench',
      repository: repo.origin,
      command: null,
      type: null,
      complexity: null,
      priority: 'NORMAL',
      creatorId: 'bench',
    },
    execution: { id: randomUUID(), attempt: 1, strategy: 'ITERATIVE' },
    answers: [],
    workspace: { dir, cloned: true, changes: async () => null, dispose: async () => {} },
    log: { log: () => void entries++, registerSecret: () => {}, waitForCapacity: async () => {} },
    usage: { record: () => {} },
    timeoutMs: 3_600_000,
    signal: new AbortController().signal,
  });
  rmSync(repo.root, { recursive: true, force: true });
  if (outcome.kind !== 'succeeded') throw new Error(`${label}: ${JSON.stringify(outcome)}`);
  const steps = model.calls.slice(1, STEPS + 1).map((at, index) => at - model.calls[index]!);
  const cpu = model.cpu.slice(1, STEPS + 1).map((at, index) => at - model.cpu[index]!);
  const sorted = [...steps].sort((a, b) => a - b);
  const sortedCpu = [...cpu].sort((a, b) => a - b);
  const total = model.calls[STEPS]! - model.calls[0]!;
  return {
    tools: label,
    steps: steps.length,
    'p50 ms': percentile(sorted, 50),
    'p99 ms': percentile(sorted, 99),
    'max ms': sorted.at(-1) ?? 0,
    'cpu p50 ms': percentile(sortedCpu, 50),
    'cpu p99 ms': percentile(sortedCpu, 99),
    'steps/s': Math.round((steps.length / total) * 1000),
    'log entries': entries,
  };
}

const rows = [await measure('read-only', READS), await measure('editing', EDITS)];
printTable(rows);
process.stdout.write(
  `\ntarget: p99 < 20 ms per step. Wall times include waiting for the CPU on a shared machine (load average ${os
    .loadavg()[0]!
    .toFixed(1)} on ${os.cpus().length} cores); cpu columns are this process's own CPU time per step.\n`,
);
