import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function readJson(path: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function hasDependencies(pkg: Record<string, unknown>): boolean {
  return ['dependencies', 'devDependencies', 'optionalDependencies'].some(
    (key) => pkg[key] && typeof pkg[key] === 'object' && Object.keys(pkg[key] as object).length > 0,
  );
}

/**
 * The command that installs a repository's dependencies, from the files at its root, or null when there is
 * nothing to install: npm (`ci` with a lockfile), pnpm, yarn, uv, pip, Go modules, Maven, Cargo.
 */
export function detectSetupCommand(dir: string): string | null {
  const has = (name: string): boolean => existsSync(join(dir, name));
  const commands: string[] = [];
  const pkg = has('package.json') ? readJson(join(dir, 'package.json')) : null;
  if (pkg && hasDependencies(pkg)) {
    if (has('pnpm-lock.yaml')) commands.push('pnpm install --frozen-lockfile');
    else if (has('yarn.lock')) commands.push('yarn install --frozen-lockfile');
    else if (has('package-lock.json') || has('npm-shrinkwrap.json')) commands.push('npm ci');
    else commands.push('npm install');
  }
  if (has('uv.lock')) commands.push('uv sync');
  else if (has('requirements.txt')) commands.push('python3 -m pip install -r requirements.txt');
  else if (has('pyproject.toml') || has('setup.py')) commands.push('python3 -m pip install -e .');
  if (has('go.mod')) commands.push('go mod download');
  if (has('pom.xml')) commands.push('mvn -B -q dependency:go-offline');
  if (has('Cargo.toml')) commands.push('cargo fetch');
  return commands.length > 0 ? commands.join(' && ') : null;
}

/** npm's placeholder `test` script, which always fails: not a verification. */
const NPM_PLACEHOLDER = /no test specified/;

/**
 * The command whose exit code 0 means the repository's checks pass: package.json `test` (with the package
 * manager its lockfile names), pytest, `go test`, `cargo test`, `mvn test`; null when none is recognisable.
 */
export function detectVerifyCommand(dir: string): string | null {
  const has = (name: string): boolean => existsSync(join(dir, name));
  const pkg = has('package.json') ? readJson(join(dir, 'package.json')) : null;
  const test = (pkg?.['scripts'] as Record<string, unknown> | undefined)?.['test'];
  if (typeof test === 'string' && test.trim().length > 0 && !NPM_PLACEHOLDER.test(test)) {
    return has('pnpm-lock.yaml') ? 'pnpm test' : has('yarn.lock') ? 'yarn test' : 'npm test';
  }
  if (
    has('pytest.ini') ||
    has('conftest.py') ||
    has('pyproject.toml') ||
    has('setup.cfg') ||
    has('tox.ini') ||
    (has('tests') && has('requirements.txt'))
  ) {
    return 'python3 -m pytest -q';
  }
  if (has('go.mod')) return 'go test ./...';
  if (has('Cargo.toml')) return 'cargo test';
  if (has('pom.xml')) return 'mvn -B -q test';
  return null;
}

/** Key files shown to a SINGLE_SHOT model with the tree: manifests and READMEs, first lines only. */
export const KEY_FILES = [
  'README.md',
  'package.json',
  'pyproject.toml',
  'go.mod',
  'Cargo.toml',
  'pom.xml',
  'requirements.txt',
];
