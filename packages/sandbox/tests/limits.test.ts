import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveLimits, runInSandbox, SandboxErrorCode, type Sandbox } from '../src/index.js';
import { makeRoot, makeWorkspace, processesWith, requireSandbox, run } from './helpers.js';

const root = makeRoot('cap-sandbox-limits-');
let sandbox: Sandbox;
let workspace: string;

beforeAll(async () => {
  sandbox = await requireSandbox(root.dir);
  workspace = await makeWorkspace(sandbox, root.dir);
});
afterAll(() => root.remove());

describe('sandbox limits', () => {
  it('contains a fork bomb: forks fail at the process limit, the run ends at its timeout, nothing survives', async () => {
    const marker = `bomb${Math.floor(Math.random() * 1e6)}`;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, processesWith(marker).length)), 50);
    const result = await run({
      sandbox,
      workspace,
      // A named function so the host can count its processes by their command line.
      command: `exec bash -c '${marker}() { ${marker} | ${marker} & }; ${marker}; sleep 5' ${marker}`,
      limits: { processes: 32 },
      timeoutMs: 3_000,
      killGraceMs: 200,
    });
    clearInterval(sampler);
    expect(['timeout', 'exited']).toContain(result.reason);
    expect(result.durationMs).toBeLessThan(20_000);
    // bwrap's init and prlimit's exec'd shell count too: never more than the limit plus a little sampling slack.
    expect(peak).toBeLessThanOrEqual(32);
    expect(processesWith(marker)).toEqual([]);
  });

  it('caps output: past the limit the tree is killed and the rest never reaches the consumer (100 MB of `yes`)', async () => {
    for (const outputBytes of [1, 4_096, 65_537, 1_048_576]) {
      let delivered = 0;
      const result = await runInSandbox({
        sandbox,
        workspace,
        command: 'yes | head -c 100000000',
        limits: { outputBytes },
        onOutput: (_stream, chunk) => {
          delivered += chunk.length;
        },
      });
      expect(result).toMatchObject({ reason: 'output_limit', outputBytes });
      expect(delivered).toBe(outputBytes);
    }
  });

  it('stops a command one byte past the limit, also when the limit falls on a chunk boundary; exactly the limit is fine', async () => {
    // Pipe reads come in 64 KiB chunks: limits on their boundaries once let everything after a full chunk through.
    const limits = [
      65_536,
      131_072,
      65_536 * 3,
      1 + Math.floor(Math.random() * 300_000),
      4_096 * (1 + Math.floor(Math.random() * 64)),
    ];
    for (const outputBytes of limits) {
      for (const printed of [outputBytes, outputBytes + 1, outputBytes * 4]) {
        let delivered = 0;
        const result = await runInSandbox({
          sandbox,
          workspace,
          command: `yes | head -c ${printed}`,
          limits: { outputBytes },
          // Asynchronous, like the task log's backpressure.
          onOutput: async (_stream, chunk) => {
            delivered += chunk.length;
          },
        });
        expect({ outputBytes, printed, reason: result.reason }).toEqual({
          outputBytes,
          printed,
          reason: printed > outputBytes ? 'output_limit' : 'exited',
        });
        expect(delivered).toBe(Math.min(printed, outputBytes));
      }
    }
  });

  it('counts output below the limit exactly and delivers it in order, slowed down by a slow consumer (backpressure)', async () => {
    const lines: string[] = [];
    let partial = '';
    const result = await runInSandbox({
      sandbox,
      workspace,
      command: 'seq 1 20000',
      onOutput: async (_stream, chunk) => {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    });
    expect(result.reason).toBe('exited');
    expect(lines).toEqual(Array.from({ length: 20_000 }, (_, index) => String(index + 1)));
    expect(result.outputBytes).toBe(lines.join('\n').length + 1);
  });

  it('limits CPU time: a busy loop is killed by SIGXCPU', async () => {
    const result = await run({
      sandbox,
      workspace,
      command: 'while :; do :; done',
      limits: { cpuSeconds: 1 },
      timeoutMs: 20_000,
    });
    expect(result.reason).toBe('exited');
    // 128 + SIGXCPU (24), or SIGKILL (9) when the hard limit hit first.
    expect([152, 137]).toContain(result.exitCode);
  });

  it('limits memory: an allocation beyond the address-space limit fails', async () => {
    const result = await run({
      sandbox,
      workspace,
      command: `node -e 'try { const b = Buffer.alloc(1500 * 1024 * 1024, 1); console.log("allocated", b.length) } catch (e) { console.log("refused", e.code ?? e.message); process.exit(3) }'`,
      limits: { memoryBytes: 1024 * 1024 * 1024 },
      timeoutMs: 20_000,
    });
    expect(result.stdout).not.toContain('allocated');
    expect(result.exitCode).not.toBe(0);
  });

  it('refuses limits that are not positive integers with SANDBOX_INVALID_OPTIONS', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => resolveLimits({ processes: bad })).toThrow(
        expect.objectContaining({ code: SandboxErrorCode.INVALID_OPTIONS }),
      );
    }
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
  });
});
