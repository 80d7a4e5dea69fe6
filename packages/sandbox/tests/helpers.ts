import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  detectSandbox,
  grantWorkspace,
  runInSandbox,
  type RunInSandboxOptions,
  type Sandbox,
  type SandboxResult,
} from '../src/index.js';

/** The sandbox of this machine; tests fail (not skip) when bubblewrap cannot run: CI installs it. */
export async function requireSandbox(workspaceRoot: string): Promise<Sandbox> {
  const detection = await detectSandbox({ mode: 'bwrap', workspaceRoot });
  if (!detection.available)
    throw new Error(`bubblewrap is required for these tests: ${detection.reason}; fix: ${detection.fix}`);
  return detection.sandbox;
}

/** A fresh workspace directory the sandbox user may write. */
export async function makeWorkspace(sandbox: Sandbox, root: string): Promise<string> {
  const dir = mkdtempSync(join(root, 'ws-'));
  await grantWorkspace(sandbox, dir);
  return dir;
}

/** A temporary root whose directories the sandbox user can traverse (mkdtemp makes 0700 ones). */
export function makeRoot(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a command and collects its output as text. */
export async function run(
  options: RunInSandboxOptions,
): Promise<SandboxResult & { stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const result = await runInSandbox({
    ...options,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout') stdout += chunk.toString('utf8');
      else stderr += chunk.toString('utf8');
    },
  });
  return { ...result, stdout, stderr };
}

/** Host pids whose command line contains `marker` (processes a test started with a unique argument). */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(marker) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return pids;
}
