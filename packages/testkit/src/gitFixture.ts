import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GIT_ENV = {
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@localhost',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@localhost',
};

/** Runs git on a test's own fixture (never on an agent workspace: that goes through the runner). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

/** A checkout of the fixture, shaped like an executor's workspace. */
export interface FixtureClone {
  dir: string;
  cloned: boolean;
  changes(): Promise<null>;
  dispose(): Promise<void>;
}

/** A small Node project with a failing `node --test` test, pushed to a bare origin. */
export interface Fixture {
  root: string;
  origin: string;
  /** A fresh clone of the origin, as orchestration's workspace would be. */
  clone(): FixtureClone;
  /** A file's content on a branch of the origin, or null when the branch does not exist. */
  show(branch: string, path: string): string | null;
  branches(): string[];
  remove(): void;
}

/** Creates the fixture in a new temporary directory; `remove()` deletes it. */
export function createFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'cap-agent-fixture-'));
  const origin = join(root, 'origin.git');
  const seed = join(root, 'seed');
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  mkdirSync(join(seed, 'src'), { recursive: true });
  mkdirSync(join(seed, 'test'), { recursive: true });
  writeFileSync(
    join(seed, 'package.json'),
    JSON.stringify(
      { name: 'fixture', private: true, type: 'module', scripts: { test: 'node --test' } },
      null,
      2,
    ),
  );
  writeFileSync(join(seed, 'src', 'sum.js'), 'export function sum(a, b) {\n  return a - b;\n}\n');
  writeFileSync(
    join(seed, 'test', 'sum.test.js'),
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from '../src/sum.js';\n\ntest('sum adds', () => {\n  assert.equal(sum(2, 3), 5);\n});\n",
  );
  git(root, 'init', '--quiet', '--initial-branch=main', seed);
  git(seed, 'add', '.');
  git(seed, 'commit', '--quiet', '-m', 'Initial commit');
  git(seed, 'push', '--quiet', origin, 'main');
  let clones = 0;
  return {
    root,
    origin,
    clone() {
      const dir = join(root, `workspace-${++clones}`);
      git(root, 'clone', '--quiet', '--no-hardlinks', origin, dir);
      return {
        dir,
        cloned: true,
        changes: async () => null,
        dispose: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    show(branch, path) {
      try {
        return execFileSync('git', ['show', `${branch}:${path}`], {
          cwd: origin,
          env: GIT_ENV,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        return null;
      }
    },
    branches() {
      return git(origin, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')
        .split('\n')
        .filter(Boolean);
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * The fixture, reachable by the command sandbox: a root worker's sandboxes run as COMMAND_SANDBOX_UID/GID (65534),
 * which must reach the fixture's directory and be able to write the origin it pushes to (through its group, as
 * the README says for local origins of a root worker). Under another user it is the plain fixture.
 */
export function sandboxReachableFixture(): Fixture {
  const created = createFixture();
  if (process.getuid?.() === 0) {
    chmodSync(created.root, 0o711);
    git(created.origin, 'config', 'core.sharedRepository', 'group');
    execFileSync('chgrp', ['-R', '65534', created.origin]);
    execFileSync('chmod', ['-R', 'g+rwX', created.origin]);
    execFileSync('find', [created.origin, '-type', 'd', '-exec', 'chmod', 'g+s', '{}', '+']);
  }
  return created;
}
