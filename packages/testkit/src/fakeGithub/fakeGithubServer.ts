import { createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHttpServer } from '@cap/runtime';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveGitHttpBackend } from './gitHttpBackend.js';
import { OpenApiOperation, type ContractViolation } from './openApiContract.js';
import { githubWebhookDelivery, type WebhookDelivery } from './webhookDelivery.js';

/** Who called: a token the fake issued, or the App's JWT. */
export type FakeCaller =
  | { kind: 'app' }
  | { kind: 'token'; token: string; grant: FakeTokenGrant }
  | { kind: 'anonymous' };

/** What a token the fake knows may do. */
export interface FakeTokenGrant {
  kind: 'installation' | 'pat' | 'oauth';
  installationId?: number;
  /** Repository names (lower case) an installation token is scoped to; undefined = all of the installation's. */
  repositories?: string[];
  expiresAt?: Date;
  login: string;
}

/** One request as a route handler sees it. */
export interface FakeRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  caller: FakeCaller;
  headers: IncomingMessage['headers'];
}

/** A route's answer: the status, the body (checked against GitHub's description) and extra headers. */
export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type FakeRouteHandler = (
  request: FakeRequest,
  fake: FakeGithub,
) => FakeResponse | Promise<FakeResponse>;

interface Route {
  operation: OpenApiOperation;
  pattern: RegExp;
  names: string[];
  handler: FakeRouteHandler;
}

/** A call the fake received (for assertions that every expected call happened, and no more). */
export interface FakeCall {
  route: string;
  status: number;
  params: Record<string, string>;
  body: unknown;
}

/**
 * A repository webhook of the fake: where deliveries go, the secret they are signed with, and (optionally) when.
 * `dispatch` gets each delivery and `send` (posts it, resolves with the answer's status); the request that caused
 * the delivery is answered once `dispatch` resolves. Without it a delivery is posted and answered before that
 * request is: GitHub being faster than the caller's next step.
 */
export interface FakeWebhook {
  url: string;
  secret: string;
  dispatch?: (delivery: WebhookDelivery, send: () => Promise<number>) => Promise<void>;
}

/** A delivery the fake posted, with the status its receiver answered. */
export interface FakeWebhookSent {
  id: string;
  event: string;
  action: unknown;
  status: number;
}

const API_PREFIX = '/api/v3';

/**
 * A local GitHub for tests, shaped as GitHub Enterprise Server: the REST API under `/api/v3` (its routes checked
 * against GitHub's OpenAPI description: a request or response that disagrees is recorded in `violations` and
 * answered 500), git smart HTTP for the bare repositories it holds (`git http-backend`, token required), OAuth's
 * code exchange, and a GitHub App whose JWTs it verifies with the App's public key. Extend it with
 * {@link FakeGithub.route}; fail requests on purpose with {@link FakeGithub.failNext}.
 */
export class FakeGithub {
  readonly violations: ContractViolation[] = [];
  readonly calls: FakeCall[] = [];
  readonly app: { id: number; privateKey: string; publicKey: KeyObject };
  readonly oauth = { clientId: 'Iv1.fakeclient', clientSecret: randomBytes(20).toString('hex') };
  readonly tokens = new Map<string, FakeTokenGrant>();
  readonly oauthCodes = new Map<string, string>();
  /** Everything the route modules keep (repositories, pull requests...), by name. */
  readonly state = new Map<string, unknown>();
  readonly gitRoot: string;
  /** Where webhook deliveries go (null: none are sent, as for a repository without a hook). */
  webhook: FakeWebhook | null = null;
  /** The webhook deliveries posted so far. */
  readonly webhooksSent: FakeWebhookSent[] = [];
  #routes: Route[] = [];
  #faults: { route: string; response: FakeResponse; remaining: number }[] = [];
  #server: Server | null = null;
  url = '';

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.app = {
      id: 4242,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey,
    };
    this.gitRoot = mkdtempSync(join(tmpdir(), 'cap-fake-github-'));
  }

  /** The REST base URL (`GITHUB_API_URL`). */
  get apiUrl(): string {
    return `${this.url}${API_PREFIX}`;
  }

  /** Adds a REST route; throws at once when GitHub's description has no such operation. */
  route(method: string, template: string, handler: FakeRouteHandler): this {
    const operation = new OpenApiOperation(method, template);
    const names: string[] = [];
    const pattern = new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}$`,
    );
    this.#routes.push({ operation, pattern, names, handler });
    return this;
  }

  /** The next `count` requests to `route` (`POST /repos/{owner}/{repo}/pulls`) get `response` instead. */
  failNext(route: string, response: FakeResponse, count = 1): void {
    this.#faults.push({ route, response, remaining: count });
  }

  /**
   * Sends `payload` as a delivery of `event` to {@link FakeGithub.webhook} (nothing without one), signed as GitHub
   * signs it and checked against GitHub's description of webhook `schema` (e.g. `pull-request-opened`).
   */
  async emitWebhook(event: string, schema: string, payload: unknown): Promise<void> {
    const target = this.webhook;
    if (!target) return;
    const delivery = githubWebhookDelivery({ event, schema, payload, secret: target.secret });
    const send = async (): Promise<number> => {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: delivery.headers,
        body: new Uint8Array(delivery.body),
      });
      await response.arrayBuffer();
      const action = (payload as { action?: unknown }).action;
      this.webhooksSent.push({ id: delivery.id, event, action, status: response.status });
      return response.status;
    };
    if (target.dispatch) await target.dispatch(delivery, send);
    else await send();
  }

  /** A response body for `route` and `status` with every required field, `patch` laid over it. */
  sample(route: string, status: number, patch: unknown): unknown {
    const found = this.#routes.find((r) => r.operation.route === route);
    if (!found) throw new Error(`No route ${route} registered.`);
    return found.operation.sampleResponse(status, patch);
  }

  /** Issues a token the fake accepts (a personal access token, an installation or OAuth token). */
  issueToken(grant: FakeTokenGrant, prefix = 'ghp_'): string {
    const token = `${prefix}${randomBytes(18).toString('hex')}`;
    this.tokens.set(token, grant);
    return token;
  }

  /** Creates a bare repository `owner/name` with one commit on `main`. */
  createBareRepository(owner: string, name: string): string {
    const dir = join(this.gitRoot, owner, `${name}.git`);
    const seed = mkdtempSync(join(tmpdir(), 'cap-fake-seed-'));
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: seed,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Fake',
      GIT_AUTHOR_EMAIL: 'fake@localhost',
      GIT_COMMITTER_NAME: 'Fake',
      GIT_COMMITTER_EMAIL: 'fake@localhost',
    };
    const git = (cwd: string, ...args: string[]): string =>
      execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
    git(this.gitRoot, 'init', '--quiet', '--bare', '--initial-branch=main', dir);
    git(seed, 'init', '--quiet', '--initial-branch=main', '.');
    execFileSync('sh', ['-c', 'printf "# %s\\n" "$0" > README.md', name], { cwd: seed, env });
    git(seed, 'add', '.');
    git(seed, 'commit', '--quiet', '-m', 'Initial commit');
    git(seed, 'push', '--quiet', dir, 'main');
    rmSync(seed, { recursive: true, force: true });
    return dir;
  }

  /** Branches of a bare repository, with their head commits. */
  branchesOf(owner: string, name: string): Map<string, string> {
    const dir = join(this.gitRoot, owner, `${name}.git`);
    const out = execFileSync(
      'git',
      ['for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads'],
      {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
        },
      },
    );
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ') as [string, string]),
    );
  }

  async start(): Promise<this> {
    this.#server = createHttpServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.violations.push({ route: req.url ?? '', where: 'response', problem: String(error) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.#server) return resolve();
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
    rmSync(this.gitRoot, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Who a request's `Authorization` names (Bearer JWT of the App, or a token/Basic credentials). */
  callerOf(header: string | undefined): FakeCaller | null {
    if (!header) return { kind: 'anonymous' };
    const [scheme, value = ''] = header.split(' ');
    let token = value;
    if (scheme?.toLowerCase() === 'basic')
      token = Buffer.from(value, 'base64').toString('utf8').split(':')[1] ?? '';
    if (scheme?.toLowerCase() === 'bearer' && token.split('.').length === 3)
      return this.#verifyAppJwt(token) ? { kind: 'app' } : null;
    const grant = this.tokens.get(token);
    if (!grant || (grant.expiresAt && grant.expiresAt.getTime() <= Date.now())) return null;
    return { kind: 'token', token, grant };
  }

  #verifyAppJwt(jwt: string): boolean {
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${header}.${payload}`);
    if (!verifier.verify(this.app.publicKey, Buffer.from(signature, 'base64url'))) return false;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      iss?: unknown;
      exp?: number;
    };
    return String(claims.iss) === String(this.app.id) && (claims.exp ?? 0) * 1000 > Date.now();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const caller = this.callerOf(req.headers.authorization);
    if (url.pathname.includes('.git/')) {
      // git smart HTTP: GitHub asks for credentials with 401 and a Basic challenge.
      if (!caller || caller.kind !== 'token') {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' });
        return void res.end();
      }
      return serveGitHttpBackend(req, res, {
        projectRoot: this.gitRoot,
        pathInfo: url.pathname,
        query: url.search.slice(1),
        remoteUser: caller.grant.login,
      });
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token')
      return this.#oauthExchange(req, res);
    if (!url.pathname.startsWith(API_PREFIX))
      return send(res, { status: 404, body: { message: 'Not Found' } });
    const path = url.pathname.slice(API_PREFIX.length);
    const raw = await readAll(req);
    const body = raw.length > 0 ? (JSON.parse(raw) as unknown) : undefined;
    for (const route of this.#routes) {
      const match = route.pattern.exec(path);
      if (!match || route.operation.route.split(' ')[0] !== req.method) continue;
      const params = Object.fromEntries(
        route.names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]),
      );
      const fault = this.#faults.find((f) => f.route === route.operation.route && f.remaining > 0);
      if (fault) {
        fault.remaining -= 1;
        this.calls.push({ route: route.operation.route, status: fault.response.status, params, body });
        return send(res, fault.response);
      }
      if (!caller)
        return send(res, { status: 401, body: { message: 'Bad credentials', documentation_url: '' } });
      const problems = route.operation.validateRequest({ path: params, query: url.searchParams, body });
      if (problems.length > 0) {
        this.violations.push(...problems);
        return send(res, { status: 500, body: { message: problems.map((p) => p.problem).join('; ') } });
      }
      const response = await route.handler(
        { params, query: url.searchParams, body, caller, headers: req.headers },
        this,
      );
      const responseProblems =
        response.status < 300 ? route.operation.validateResponse(response.status, response.body) : [];
      this.violations.push(...responseProblems);
      this.calls.push({ route: route.operation.route, status: response.status, params, body });
      return send(
        res,
        responseProblems.length > 0 ? { status: 500, body: { message: 'fake answered wrongly' } } : response,
      );
    }
    this.violations.push({ route: `${req.method} ${path}`, where: 'path', problem: 'no route in the fake' });
    return send(res, { status: 404, body: { message: 'Not Found' } });
  }

  async #oauthExchange(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    const form = (req.headers['content-type'] ?? '').includes('json')
      ? new URLSearchParams(JSON.parse(raw) as Record<string, string>)
      : new URLSearchParams(raw);
    const code = form.get('code') ?? '';
    const token = this.oauthCodes.get(code);
    if (
      form.get('client_id') !== this.oauth.clientId ||
      form.get('client_secret') !== this.oauth.clientSecret
    )
      return send(res, { status: 200, body: { error: 'incorrect_client_credentials' } });
    if (!token) return send(res, { status: 200, body: { error: 'bad_verification_code' } });
    this.oauthCodes.delete(code);
    return send(res, { status: 200, body: { access_token: token, token_type: 'bearer', scope: 'repo' } });
  }
}

function send(res: ServerResponse, response: FakeResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  if (response.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(response.status, headers);
  res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
