import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** One commit of the fixture: its message, the files it writes (path → number of lines), and its author. */
export interface FixtureCommit {
  message: string;
  files: Record<string, number>;
  author?: string;
}

/** A throwaway git repository with real commits, so corpus reading runs real `git log --numstat`. */
export interface FixtureRepo {
  dir: string;
  gitDir: string;
  shas: string[];
  remove(): void;
}

function git(dir: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: dir,
      GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
      GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
      ...env,
    },
  });
}

/** Creates the repository and commits `commits` in order (oldest first). */
export function createFixtureRepo(commits: readonly FixtureCommit[]): FixtureRepo {
  const dir = mkdtempSync(join(tmpdir(), 'task-classifier-'));
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'dev@example.com']);
  git(dir, ['config', 'user.name', 'Dev']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
  const shas: string[] = [];
  for (const [index, commit] of commits.entries()) {
    for (const [path, lines] of Object.entries(commit.files)) {
      const full = join(dir, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(
        full,
        Array.from({ length: lines }, (_, line) => `line ${line} of commit ${index}`).join('\n') + '\n',
      );
    }
    git(dir, ['add', '-A']);
    const author = commit.author ?? 'Dev';
    git(dir, ['commit', '-q', '--allow-empty', '-m', commit.message], {
      GIT_AUTHOR_NAME: author,
      GIT_COMMITTER_NAME: author,
    });
    shas.push(git(dir, ['rev-parse', 'HEAD']).trim());
  }
  return {
    dir,
    gitDir: join(dir, '.git'),
    shas,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const SUBJECTS: Record<string, string[]> = {
  fix: [
    'handle undefined props in render',
    'avoid crash when config is missing',
    'correct the path of generated files',
    'prevent memory leak in watcher',
    'resolve wrong line numbers in errors',
  ],
  feat: [
    'add support for custom transforms',
    'allow configuring the output directory',
    'introduce a plugin hook for build start',
    'support async setup functions',
    'expose the resolved config to plugins',
  ],
  docs: [
    'document the new cli flags',
    'update the readme install section',
    'explain the migration guide steps',
    'add examples to the api reference',
  ],
  refactor: [
    'extract the parser into its own module',
    'simplify the option normalisation',
    'rename internal helpers for clarity',
  ],
  test: ['cover the ssr hydration path', 'add cases for the url parser', 'stabilise the watcher tests'],
  chore: ['update eslint configuration', 'bump the node version in ci', 'clean up the release script'],
};

/** A fixture history of conventional commits of every type and size, enough to train a small model. */
export function conventionalHistory(rounds: number): FixtureCommit[] {
  const commits: FixtureCommit[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const [type, subjects] of Object.entries(SUBJECTS)) {
      const subject = subjects[round % subjects.length] as string;
      const size = round % 3;
      const files: Record<string, number> =
        size === 0
          ? { [`src/${type}${round}.ts`]: 5 }
          : size === 1
            ? { [`src/${type}${round}.ts`]: 40, [`tests/${type}${round}.test.ts`]: 30 }
            : Object.fromEntries(
                Array.from({ length: 7 }, (_, file) => [`src/${type}${round}/f${file}.ts`, 60]),
              );
      commits.push({
        message: `${type}(core): ${subject} (#${1000 + commits.length})\n\nRound ${round} of the fixture.\n\nSigned-off-by: Dev <dev@example.com>`,
        files,
      });
    }
  }
  return commits;
}
