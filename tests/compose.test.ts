import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  DOCKERFILE,
  ROOT,
  baseImage,
  buildArgs,
  dependsOnHealthy,
  deployables,
  environment,
  finalStage,
  healthcheckTest,
  hostPort,
  interpolated,
  readJson,
  record,
  resolvedDockerfile,
  router,
  service,
  startCommand,
  subgraphUrlVariable,
  subgraphs,
  type Deployable,
} from './composeModel.js';

/**
 * docker-compose.yml and the root Dockerfile against the workspace: every deployable has a service that builds
 * the one Dockerfile with its own package's build arguments, is health-checked and wired to the infrastructure,
 * and every image starts the file the package's build emits. The Dockerfile is read as Docker would read it for
 * that service: `$NAME` and `${NAME}` resolved from the stage's ARG (the service's build arg, else its default;
 * an ARG not declared in the stage is empty, as in Docker) and ENV lines. Static checks only: tests never need
 * Docker.
 */

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
