/** What docker-compose.yml and the one Dockerfile say, read as Docker and Compose read them (for compose.test.ts). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function record(value: unknown, what: string): Json {
  if (!isRecord(value)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  return value;
}

export function readJson(path: string): Json {
  return record(JSON.parse(readFileSync(join(ROOT, path), 'utf8')), path);
}

// `merge: true` resolves `<<: *anchor` the way Compose does.
export const compose = record(
  parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }),
  'compose',
);
export const services = record(compose['services'], 'services');

export function service(name: string): Json {
  return record(services[name], `services.${name}`);
}

/** A service's environment as a map (Compose accepts a map or a `KEY=value` list). */
export function environment(name: string): Record<string, string> {
  const env = service(name)['environment'];
  const entries: [string, string][] = Array.isArray(env)
    ? env.map((item) => {
        const [key = '', ...rest] = String(item).split('=');
        return [key, rest.join('=')];
      })
    : Object.entries(record(env ?? {}, `services.${name}.environment`)).map(([key, value]) => [
        key,
        String(value),
      ]);
  return Object.fromEntries(entries);
}

/**
 * A value as Compose interpolates it, with every `${VAR}`, `${VAR:?message}` and `${VAR:-default}` replaced by
 * `sample-var` (lower-cased name), so URLs built from secrets can be parsed.
 */
export function interpolated(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::[?-][^}]*)?\}/g,
    (_match, name: string) => `sample-${name.toLowerCase()}`,
  );
}

/** The healthcheck command of a service, as the list of arguments Docker runs. */
export function healthcheckTest(name: string): unknown[] {
  const test = record(service(name)['healthcheck'], `services.${name}.healthcheck`)['test'];
  return Array.isArray(test) ? test : [test];
}

export function dependsOnHealthy(name: string): string[] {
  const dependsOn = record(service(name)['depends_on'] ?? {}, `services.${name}.depends_on`);
  return Object.entries(dependsOn)
    .filter(([, condition]) => isRecord(condition) && condition['condition'] === 'service_healthy')
    .map(([dependency]) => dependency);
}

/** Host and port of a URL-ish value (`redis://redis:6379`, `kafka:9092`, `http://identity:4001/graphql`). */
export function hostPort(value: string): { host: string; port: string } {
  const url = new URL(value.includes('://') ? value : `tcp://${value}`);
  return { host: url.hostname, port: url.port };
}

export interface Deployable {
  /** Compose service name. */
  service: string;
  /** Package directory, relative to the root. */
  dir: string;
  packageName: string;
  /** A subgraph's PostgreSQL schema (its manifest's `subgraph.schema`), also its database role's name. */
  schema?: string;
}

export const subgraphs: Deployable[] = readdirSync(join(ROOT, 'subgraphs'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, 'subgraphs', entry.name, 'package.json')))
  .map((entry) => ({
    service: entry.name,
    dir: `subgraphs/${entry.name}`,
    packageName: String(readJson(`subgraphs/${entry.name}/package.json`)['name']),
    schema: String(
      record(readJson(`subgraphs/${entry.name}/package.json`)['subgraph'], `${entry.name} manifest`)[
        'schema'
      ],
    ),
  }))
  .sort((a, b) => a.service.localeCompare(b.service));

export const router: Deployable = {
  service: 'router',
  dir: 'router',
  packageName: String(readJson('router/package.json')['name']),
};
export const deployables = [...subgraphs, router];

/** The router variable that points at a subgraph: `ml-classifier` → `SUBGRAPH_ML_CLASSIFIER_URL`. */
export function subgraphUrlVariable(subgraph: Deployable): string {
  return `SUBGRAPH_${subgraph.service.toUpperCase().replaceAll('-', '_')}_URL`;
}

export interface Instruction {
  keyword: string;
  args: string;
}

export function instructions(path: string): Instruction[] {
  return readFileSync(join(ROOT, path), 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

export const DOCKERFILE = 'Dockerfile';

/** A service's `build.args` as a map (Compose accepts a map or a `KEY=value` list). */
export function buildArgs(name: string): Record<string, string> {
  const args = record(service(name)['build'], `services.${name}.build`)['args'] ?? {};
  const entries: [string, string][] = Array.isArray(args)
    ? args.map((item) => {
        const [key = '', ...rest] = String(item).split('=');
        return [key, rest.join('=')];
      })
    : Object.entries(record(args, `services.${name}.build.args`)).map(([key, value]) => [key, String(value)]);
  return Object.fromEntries(entries);
}

/** Every name the Dockerfile declares with ARG or ENV: only these are substituted (the rest are shell variables). */
export function declaredNames(all: Instruction[]): Set<string> {
  const names = new Set<string>();
  for (const { keyword, args } of all) {
    if (keyword !== 'ARG' && keyword !== 'ENV') continue;
    for (const pair of args.split(/\s+/)) names.add(pair.split('=')[0] ?? '');
  }
  return names;
}

/**
 * The Dockerfile's stages as built for one service: each instruction's `$NAME` / `${NAME}` replaced by the value
 * the stage gives it (ARG: the service's build arg, else the default; ENV; undeclared in this stage: empty).
 */
export function resolvedStages(deployable: Deployable): Instruction[][] {
  const all = instructions(DOCKERFILE);
  const declared = declaredNames(all);
  const given = buildArgs(deployable.service);
  const stages: Instruction[][] = [];
  let values = new Map<string, string>();
  const substitute = (text: string): string =>
    text.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (match, braced?: string, bare?: string) => {
        const name = braced ?? bare ?? '';
        return declared.has(name) ? (values.get(name) ?? '') : match;
      },
    );
  for (const { keyword, args } of all) {
    if (keyword === 'FROM') {
      values = new Map();
      stages.push([]);
    }
    if (keyword === 'ARG') {
      const [name = '', ...rest] = args.split('=');
      const fallback = rest.length > 0 ? rest.join('=').replace(/^"(.*)"$/, '$1') : '';
      values.set(name, given[name] ?? fallback);
    }
    if (keyword === 'ENV') {
      for (const pair of args.split(/\s+/)) {
        const [name = '', ...rest] = pair.split('=');
        values.set(name, substitute(rest.join('=')));
      }
    }
    stages.at(-1)?.push({ keyword, args: substitute(args) });
  }
  return stages;
}

/** The instructions of the last stage (what the image runs), resolved for one service. */
export function finalStage(deployable: Deployable): Instruction[] {
  const last = resolvedStages(deployable).at(-1);
  if (!last) throw new Error(`${DOCKERFILE} has no FROM`);
  return last;
}

/** Every instruction of the Dockerfile as built for one service. */
export function resolvedDockerfile(deployable: Deployable): Instruction[] {
  return resolvedStages(deployable).flat();
}

/** The script a `CMD ["/bin/sh", "-c", script]` runs, or the argv of an exec-form CMD. */
export function startCommand(deployable: Deployable): string {
  const cmd = finalStage(deployable).find((instruction) => instruction.keyword === 'CMD');
  if (!cmd) throw new Error('final stage has no CMD');
  const argv = JSON.parse(cmd.args) as unknown;
  if (!Array.isArray(argv)) throw new Error(`CMD is not in exec form: ${cmd.args}`);
  return argv[0] === '/bin/sh' && argv[1] === '-c' ? String(argv[2]) : argv.map(String).join(' ');
}

/** The image the final stage is based on, following `FROM <earlier stage>` back to a real image. */
export function baseImage(path: string): string {
  const stages = new Map<string, string>();
  let image = '';
  for (const { keyword, args } of instructions(path)) {
    if (keyword !== 'FROM') continue;
    const [from = '', as, alias] = args.split(/\s+/);
    image = stages.get(from.toLowerCase()) ?? from;
    if (as?.toUpperCase() === 'AS' && alias) stages.set(alias.toLowerCase(), image);
  }
  return image;
}
