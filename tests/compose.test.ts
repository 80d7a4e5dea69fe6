import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * docker-compose.yml and the root Dockerfile against the workspace: every deployable has a service that builds
 * the one Dockerfile with its own package's build arguments, is health-checked and wired to the infrastructure,
 * and every image starts the file the package's build emits. The Dockerfile is read as Docker would read it for
 * that service: `$NAME` and `${NAME}` resolved from the stage's ARG (the service's build arg, else its default;
 * an ARG not declared in the stage is empty, as in Docker) and ENV lines. Static checks only: tests never need
 * Docker.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, what: string): Json {
  if (!isRecord(value)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  return value;
}

function readJson(path: string): Json {
  return record(JSON.parse(readFileSync(join(ROOT, path), 'utf8')), path);
}

// `merge: true` resolves `<<: *anchor` the way Compose does.
const compose = record(
  parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }),
  'compose',
);
const services = record(compose['services'], 'services');

function service(name: string): Json {
  return record(services[name], `services.${name}`);
}

/** A service's environment as a map (Compose accepts a map or a `KEY=value` list). */
function environment(name: string): Record<string, string> {
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
function interpolated(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::[?-][^}]*)?\}/g,
    (_match, name: string) => `sample-${name.toLowerCase()}`,
  );
}

/** The healthcheck command of a service, as the list of arguments Docker runs. */
function healthcheckTest(name: string): unknown[] {
  const test = record(service(name)['healthcheck'], `services.${name}.healthcheck`)['test'];
  return Array.isArray(test) ? test : [test];
}

function dependsOnHealthy(name: string): string[] {
  const dependsOn = record(service(name)['depends_on'] ?? {}, `services.${name}.depends_on`);
  return Object.entries(dependsOn)
    .filter(([, condition]) => isRecord(condition) && condition['condition'] === 'service_healthy')
    .map(([dependency]) => dependency);
}

/** Host and port of a URL-ish value (`redis://redis:6379`, `kafka:9092`, `http://identity:4001/graphql`). */
function hostPort(value: string): { host: string; port: string } {
  const url = new URL(value.includes('://') ? value : `tcp://${value}`);
  return { host: url.hostname, port: url.port };
}

interface Deployable {
  /** Compose service name. */
  service: string;
  /** Package directory, relative to the root. */
  dir: string;
  packageName: string;
  /** A subgraph's PostgreSQL schema (its manifest's `subgraph.schema`), also its database role's name. */
  schema?: string;
}

const subgraphs: Deployable[] = readdirSync(join(ROOT, 'subgraphs'), { withFileTypes: true })
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

const router: Deployable = {
  service: 'router',
  dir: 'router',
  packageName: String(readJson('router/package.json')['name']),
};
const deployables = [...subgraphs, router];

/** The router variable that points at a subgraph: `ml-classifier` → `SUBGRAPH_ML_CLASSIFIER_URL`. */
function subgraphUrlVariable(subgraph: Deployable): string {
  return `SUBGRAPH_${subgraph.service.toUpperCase().replaceAll('-', '_')}_URL`;
}

interface Instruction {
  keyword: string;
  args: string;
}

function instructions(path: string): Instruction[] {
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

const DOCKERFILE = 'Dockerfile';

/** A service's `build.args` as a map (Compose accepts a map or a `KEY=value` list). */
function buildArgs(name: string): Record<string, string> {
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
function declaredNames(all: Instruction[]): Set<string> {
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
function resolvedStages(deployable: Deployable): Instruction[][] {
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
function finalStage(deployable: Deployable): Instruction[] {
  const last = resolvedStages(deployable).at(-1);
  if (!last) throw new Error(`${DOCKERFILE} has no FROM`);
  return last;
}

/** Every instruction of the Dockerfile as built for one service. */
function resolvedDockerfile(deployable: Deployable): Instruction[] {
  return resolvedStages(deployable).flat();
}

/** The script a `CMD ["/bin/sh", "-c", script]` runs, or the argv of an exec-form CMD. */
function startCommand(deployable: Deployable): string {
  const cmd = finalStage(deployable).find((instruction) => instruction.keyword === 'CMD');
  if (!cmd) throw new Error('final stage has no CMD');
  const argv = JSON.parse(cmd.args) as unknown;
  if (!Array.isArray(argv)) throw new Error(`CMD is not in exec form: ${cmd.args}`);
  return argv[0] === '/bin/sh' && argv[1] === '-c' ? String(argv[2]) : argv.map(String).join(' ');
}

/** The image the final stage is based on, following `FROM <earlier stage>` back to a real image. */
function baseImage(path: string): string {
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

describe('docker-compose.yml infrastructure', () => {
  it('runs PostgreSQL 16 with a pg_isready healthcheck and a volume', () => {
    expect(service('postgres')['image']).toMatch(/^postgres:16(\b|$)/);
    expect(healthcheckTest('postgres').join(' ')).toContain('pg_isready');
    expect(service('postgres')['volumes']).toEqual(
      expect.arrayContaining([expect.stringMatching(/:\/var\/lib\/postgresql\/data$/)]),
    );
  });

  it('runs Redis 7 with a redis-cli ping healthcheck', () => {
    expect(service('redis')['image']).toMatch(/^redis:7(\b|$)/);
    expect(healthcheckTest('redis').join(' ')).toMatch(/redis-cli\s+ping/);
  });

  it('runs a single-node Kafka in KRaft mode with a kafka-topics healthcheck', () => {
    expect(service('kafka')['image']).toMatch(/^apache\/kafka:(3\.(9|[1-9]\d)|[4-9])\./);
    const env = environment('kafka');
    expect(env['KAFKA_PROCESS_ROLES']?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(env['KAFKA_CONTROLLER_QUORUM_VOTERS']).toMatch(new RegExp(`^${env['KAFKA_NODE_ID']}@kafka:\\d+$`));
    expect(env['CLUSTER_ID']).toBeTruthy();
    expect(Object.keys(env).filter((key) => key.includes('ZOOKEEPER'))).toEqual([]);
    // Single node: internal topics cannot ask for more replicas than there are brokers.
    expect(env['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR']).toBe('1');
    expect(env['KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR']).toBe('1');
    expect(healthcheckTest('kafka').join(' ')).toContain('kafka-topics.sh');
  });
});

describe('docker-compose.yml deployables', () => {
  it('finds the subgraphs and the router in the workspace', () => {
    expect(subgraphs.map((subgraph) => subgraph.service)).toContain('identity');
    expect(router.packageName).toBe('@cap/router');
  });

  describe.each(deployables)('$service', (deployable) => {
    it('builds the root Dockerfile for its own package with the repository root as context', () => {
      const build = record(service(deployable.service)['build'], `services.${deployable.service}.build`);
      expect(build['context']).toBe('.');
      expect(build['dockerfile']).toBe(DOCKERFILE);
      expect(existsSync(join(ROOT, DOCKERFILE))).toBe(true);
      const args = buildArgs(deployable.service);
      expect(args['PACKAGE']).toBe(deployable.packageName);
      expect(args['SERVICE_DIR']).toBe(deployable.dir);
      expect(args['PORT']).toBe(environment(deployable.service)['PORT']);
      // The build-time checks name paths that exist (migrations, the committed model).
      for (const path of (args['REQUIRED_PATHS'] ?? '').split(/\s+/).filter(Boolean)) {
        expect(existsSync(join(ROOT, path)), `${path} exists`).toBe(true);
      }
    });

    it('is health-checked on GET /health of its own port', () => {
      const test = healthcheckTest(deployable.service);
      // Every argument a string: an unquoted `a ? b : c` in YAML silently becomes a mapping.
      for (const argument of test) expect(typeof argument).toBe('string');
      expect(test[0]).toMatch(/^CMD(-SHELL)?$/);
      expect(test.join(' ')).toMatch(/\/health\b/);
    });

    it('gets the production environment, the internal token secret without a default, and a port', () => {
      const env = environment(deployable.service);
      expect(env['NODE_ENV']).toBe('production');
      expect(env['HOST']).toBe('0.0.0.0');
      expect(env['INTERNAL_TOKEN_SECRET']).toMatch(/^\$\{INTERNAL_TOKEN_SECRET:\?[^}]+\}$/);
      expect(env['PORT']).toMatch(/^\d+$/);
      expect(hostPort(env['REDIS_URL'] ?? '').host).toBe('redis');
    });

    it('starts the file its package builds from src/main.ts', () => {
      // `exec` keeps node as PID 1 (it gets docker stop's SIGTERM), as an exec-form CMD would.
      expect(startCommand(deployable)).toMatch(
        new RegExp(`^(exec )?node "?${deployable.dir.replaceAll('/', '\\/')}\\/dist\\/main\\.js"?$`),
      );
      // dist/main.js is main.ts only if the build maps src/ to dist/.
      const build = record(
        readJson(`${deployable.dir}/tsconfig.build.json`)['compilerOptions'],
        'compilerOptions',
      );
      expect([build['rootDir'], build['outDir']]).toEqual(['src', 'dist']);
      expect(
        existsSync(join(ROOT, deployable.dir, 'src/main.ts')),
        `${deployable.dir}/src/main.ts exists`,
      ).toBe(true);
    });

    it('builds only its own package graph and runs as a non-root user on node:20-slim', () => {
      const runs = resolvedDockerfile(deployable)
        .filter((instruction) => instruction.keyword === 'RUN')
        .map((instruction) => instruction.args);
      expect(runs.join('\n')).toContain(`prune "${deployable.packageName}" --docker`);
      expect(runs.join('\n')).toContain(`--filter=${deployable.packageName}...`);
      const dockerfile = readFileSync(join(ROOT, DOCKERFILE), 'utf8');
      expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
      expect(dockerfile).toMatch(/npm (ci --omit=dev|prune --omit=dev)/);
      const stage = finalStage(deployable);
      expect(baseImage(DOCKERFILE)).toBe('node:20-slim');
      const user = stage.filter((instruction) => instruction.keyword === 'USER').at(-1);
      expect(user?.args).toBeDefined();
      expect(user?.args).not.toMatch(/^(root|0)(:|$)/);
    });

    it('exposes and health-checks the port compose gives it', () => {
      const stage = finalStage(deployable);
      const port = environment(deployable.service)['PORT'];
      expect(
        stage
          .filter((instruction) => instruction.keyword === 'EXPOSE')
          .map((instruction) => instruction.args),
      ).toContain(port);
      expect(stage.find((instruction) => instruction.keyword === 'ENV')?.args).toContain(`PORT=${port}`);
      expect(stage.find((instruction) => instruction.keyword === 'HEALTHCHECK')?.args).toMatch(/\/health\b/);
    });
  });

  describe.each(subgraphs)('subgraph $service', (subgraph) => {
    it('waits for healthy PostgreSQL, Redis and Kafka and talks to them', () => {
      expect(dependsOnHealthy(subgraph.service)).toEqual(
        expect.arrayContaining(['postgres', 'redis', 'kafka']),
      );
      const env = environment(subgraph.service);
      const database = new URL(interpolated(env['DATABASE_URL'] ?? 'missing:'));
      expect(database.hostname).toBe('postgres');
      expect(database.pathname).toBe(`/${environment('postgres')['POSTGRES_DB']}`);
      const kafka = environment('kafka');
      expect(env['KAFKA_BROKERS']).toBe(kafka['KAFKA_ADVERTISED_LISTENERS']?.replace(/^PLAINTEXT:\/\//, ''));
    });

    it('connects as its own database role, whose password has no default, never as the superuser', () => {
      const raw = environment(subgraph.service)['DATABASE_URL'] ?? '';
      // The role is named after the subgraph's schema (`ml_classifier` for the `ml-classifier` service).
      const variable = `${subgraph.schema!.toUpperCase()}_DB_PASSWORD`;
      const database = new URL(interpolated(raw));
      expect(database.username).toBe(subgraph.schema);
      expect(database.username).not.toBe(environment('postgres')['POSTGRES_USER']);
      expect(raw).toContain(`\${${variable}:?`);
      // The init script gets the same password, also without a default.
      expect(environment('postgres')[variable]).toMatch(new RegExp(`^\\$\\{${variable}:\\?`));
    });

    it('is routed: the router has its URL and waits for it', () => {
      const url = environment('router')[subgraphUrlVariable(subgraph)];
      expect(url, `router has ${subgraphUrlVariable(subgraph)}`).toBeDefined();
      const target = new URL(url ?? 'missing:');
      expect(target.hostname).toBe(subgraph.service);
      expect(target.port).toBe(environment(subgraph.service)['PORT']);
      expect(target.pathname).toBe('/graphql');
      expect(dependsOnHealthy('router')).toContain(subgraph.service);
    });
  });

  it('initialises PostgreSQL with one role per subgraph, each owning only its schema', () => {
    const script = 'docker/postgres/subgraph-roles.sh';
    expect(service('postgres')['volumes']).toContain(
      `./${script}:/docker-entrypoint-initdb.d/10-subgraph-roles.sh:ro`,
    );
    const text = readFileSync(join(ROOT, script), 'utf8');
    expect(statSync(join(ROOT, script)).mode & 0o111).not.toBe(0);
    // The script provisions exactly the subgraphs compose runs.
    const listed = /^subgraphs=\(([^)]*)\)/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
    expect(listed.sort()).toEqual(subgraphs.map((subgraph) => subgraph.schema).sort());
    expect(text).toContain('REVOKE ALL ON SCHEMA public FROM PUBLIC');
    expect(text).toMatch(/CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role"/);
  });

  it('gives the router no URL for a subgraph that does not exist', () => {
    const known = new Set(subgraphs.map(subgraphUrlVariable));
    const urls = Object.keys(environment('router')).filter((key) => /^SUBGRAPH_.+_URL$/.test(key));
    expect(urls.filter((key) => !known.has(key))).toEqual([]);
  });

  it('serves the committed supergraph from the router image', () => {
    const path = environment('router')['SUPERGRAPH_PATH'];
    expect(path).toBe('/app/schema/supergraph.graphql');
    // The router's build copies it from the context to the same path under WORKDIR /app.
    expect(buildArgs('router')['EXTRA_FILES']?.split(/\s+/)).toContain('schema/supergraph.graphql');
    expect(existsSync(join(ROOT, 'schema/supergraph.graphql'))).toBe(true);
    const copies = resolvedDockerfile(router).filter(
      (instruction) =>
        instruction.keyword === 'RUN' &&
        /for path in schema\/supergraph\.graphql;.*cp -R "\/repo\/\$path" "\$path"/.test(instruction.args),
    );
    expect(copies).toHaveLength(1);
    expect(resolvedDockerfile(router).find((instruction) => instruction.keyword === 'WORKDIR')?.args).toBe(
      '/app',
    );
  });

  it('installs the runtime packages and writable folders the services ask for', () => {
    const orchestration = subgraphs.find((subgraph) => subgraph.service === 'orchestration')!;
    const chat = subgraphs.find((subgraph) => subgraph.service === 'chat')!;
    const runs = (deployable: Deployable): string =>
      finalStage(deployable)
        .filter((instruction) => instruction.keyword === 'RUN')
        .map((instruction) => instruction.args)
        .join('\n');
    expect(runs(orchestration)).toMatch(
      /apt-get install -y --no-install-recommends git ca-certificates bubblewrap/,
    );
    expect(runs(chat)).toContain('mkdir -p .data .data/attachments && chown -R node:node .data');
  });

  it('shares one issuer and audience between identity and the router', () => {
    const identity = environment('identity');
    const routerEnv = environment('router');
    expect(identity['JWT_ISSUER']).toBeTruthy();
    expect(routerEnv['JWT_ISSUER']).toBe(identity['JWT_ISSUER']);
    expect(routerEnv['JWT_AUDIENCE']).toBe(identity['JWT_AUDIENCE']);
    expect(new URL(routerEnv['IDENTITY_INTERNAL_URL'] ?? 'missing:').hostname).toBe('identity');
  });
});
