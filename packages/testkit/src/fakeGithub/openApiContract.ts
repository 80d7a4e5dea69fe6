import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { sampleOf } from './schemaSample.js';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM interop.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** GitHub's REST API description as shipped by `@octokit/openapi` (OpenAPI 3.0, api.github.com). */
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { parameters: Record<string, Parameter> };
  'x-webhooks': Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: unknown;
}
interface Operation {
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
}

const SPEC_ID = 'github';
let loaded: { spec: Spec; ajv: Ajv } | null = null;

function load(): { spec: Spec; ajv: Ajv } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
  nullableWithoutType(spec);
  // OpenAPI 3.0 schemas: `nullable` is understood by Ajv; `x-*` and `example` are annotations (strict off).
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  addFormats(ajv);
  ajv.addSchema(spec, SPEC_ID);
  loaded = { spec, ajv };
  return loaded;
}

/** JSON Pointer escaping of one path segment. */
function pointer(...segments: string[]): string {
  return segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

function describe(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`)
    .join('; ');
}

/** A request or response that disagrees with GitHub's description. */
export interface ContractViolation {
  route: string;
  where: 'path' | 'query' | 'body' | 'response';
  problem: string;
}

/**
 * One REST operation of GitHub's OpenAPI description: validates requests the code under test sends and the
 * responses the fake answers with, so a misspelt field, a wrong type or a route GitHub does not have fails.
 */
export class OpenApiOperation {
  readonly route: string;
  readonly #op: Operation;
  readonly #params: Parameter[];
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #base: string;

  constructor(method: string, template: string) {
    const { spec } = load();
    this.route = `${method.toUpperCase()} ${template}`;
    const op = spec.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`GitHub's REST API has no ${this.route}.`);
    this.#op = op;
    this.#base = `${SPEC_ID}#/${pointer('paths', template, method.toLowerCase())}`;
    this.#params = (op.parameters ?? []).map((p) =>
      '$ref' in p ? spec.components.parameters[p.$ref.split('/').pop() ?? '']! : p,
    );
  }

  #validator(ref: string): ValidateFunction {
    let validate = this.#validators.get(ref);
    if (!validate) {
      validate = load().ajv.compile({ $ref: ref });
      this.#validators.set(ref, validate);
    }
    return validate;
  }

  /** Problems of a request: path and query parameters, and the JSON body (no field GitHub does not know). */
  validateRequest(input: {
    path: Record<string, string>;
    query: URLSearchParams;
    body: unknown;
  }): ContractViolation[] {
    const problems: ContractViolation[] = [];
    const { ajv } = load();
    for (const param of this.#params) {
      if (param.in !== 'path' && param.in !== 'query') continue;
      const raw = param.in === 'path' ? input.path[param.name] : (input.query.get(param.name) ?? undefined);
      if (raw === undefined) {
        if (param.required) problems.push(this.#problem(param.in, `missing ${param.name}`));
        continue;
      }
      const value = coerce(raw, param.schema);
      const validate = ajv.compile(param.schema as object);
      if (!validate(value))
        problems.push(this.#problem(param.in, `${param.name}=${raw}: ${describe(validate)}`));
    }
    for (const key of input.query.keys()) {
      if (!this.#params.some((p) => p.in === 'query' && p.name === key))
        problems.push(this.#problem('query', `unknown query parameter ${key}`));
    }
    const json = this.#op.requestBody?.content['application/json'];
    if (json) {
      const validate = this.#validator(
        `${this.#base}/${pointer('requestBody', 'content', 'application/json', 'schema')}`,
      );
      if (!validate(input.body)) problems.push(this.#problem('body', describe(validate)));
      const known = (json.schema as { properties?: Record<string, unknown> }).properties;
      if (known && input.body && typeof input.body === 'object') {
        for (const key of Object.keys(input.body))
          if (!(key in known)) problems.push(this.#problem('body', `unknown field ${key}`));
      }
    } else if (input.body !== undefined) {
      problems.push(this.#problem('body', 'this operation takes no body'));
    }
    return problems;
  }

  /** Problems of a response the fake is about to send. */
  validateResponse(status: number, body: unknown): ContractViolation[] {
    const response = this.#op.responses[String(status)];
    if (!response) return [this.#problem('response', `GitHub does not answer ${this.route} with ${status}`)];
    if (response.$ref || !response.content?.['application/json']) return [];
    const validate = this.#validator(
      `${this.#base}/${pointer('responses', String(status), 'content', 'application/json', 'schema')}`,
    );
    return validate(body) ? [] : [this.#problem('response', `${status}: ${describe(validate)}`)];
  }

  /** A response body of `status` with every field GitHub's description requires, `patch` laid over it. */
  sampleResponse(status: number, patch: unknown): unknown {
    const { spec } = load();
    const response = this.#op.responses[String(status)];
    const schema = (response?.content?.['application/json'] as { schema?: unknown } | undefined)?.schema;
    if (!schema) return patch;
    return sampleOf(spec, schema, patch);
  }

  #problem(where: ContractViolation['where'], problem: string): ContractViolation {
    return { route: this.route, where, problem };
  }
}

/**
 * Each webhook's compiled validator, kept: Ajv compiles a fresh `{ $ref }` object anew, a synchronous stretch of
 * up to a second per delivery on a loaded machine, which holds up everything else in the test's process.
 */
const webhookValidators = new Map<string, ValidateFunction>();

/** Validates a webhook payload against GitHub's description of it (`x-webhooks`, e.g. `pull-request-closed`). */
export function validateWebhookPayload(name: string, payload: unknown): string[] {
  const { spec, ajv } = load();
  if (!spec['x-webhooks'][name]) return [`GitHub describes no webhook ${name}`];
  let validate = webhookValidators.get(name);
  if (!validate) {
    validate = ajv.compile({
      $ref: `${SPEC_ID}#/${pointer('x-webhooks', name, 'post', 'requestBody', 'content', 'application/json', 'schema')}`,
    });
    webhookValidators.set(name, validate);
  }
  return validate(payload) ? [] : [describe(validate)];
}

/**
 * A payload of webhook `name` (`pull-request-closed`, `workflow-run-completed`...) with every field GitHub's
 * description requires, `patch` laid over it: what tests sign and deliver.
 */
export function sampleWebhookPayload(name: string, patch: unknown): unknown {
  const { spec } = load();
  const hook = spec['x-webhooks'][name];
  if (!hook) throw new Error(`GitHub describes no webhook ${name}`);
  const schema = (hook.post.requestBody.content['application/json'] as { schema: unknown }).schema;
  return sampleOf(spec, schema, patch);
}

/**
 * OpenAPI 3.0 allows `nullable: true` beside `allOf`/`$ref` without a `type`; Ajv only understands it beside a
 * `type`. Such a schema becomes `anyOf: [the schema, null]`, which means the same.
 */
function nullableWithoutType(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) nullableWithoutType(item);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  for (const value of Object.values(record)) nullableWithoutType(value);
  if (record['nullable'] === true && record['type'] === undefined) {
    const rest = { ...record };
    delete rest['nullable'];
    for (const key of Object.keys(record)) delete record[key];
    record['anyOf'] = [rest, { type: 'null' }];
  }
}

/** Path and query values arrive as strings; integers and booleans are compared as what they stand for. */
function coerce(raw: string, schema: unknown): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}
