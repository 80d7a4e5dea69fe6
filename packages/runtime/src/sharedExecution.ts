import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLError, GraphQLSchema } from 'graphql';
import { graphqlRuntime } from './graphqlRuntime.js';
import type { Principal } from './principal.js';

/** Parsed and validated subscription documents kept per server (least recently used dropped first). */
const DOCUMENT_CACHE_SIZE = 500;
/**
 * How long one event's result is reused for further subscribers, ms. Subscribers reading an event later (a
 * replay, a slow reader) get a fresh execution after this, so fields that read other data are never older than
 * this when a subscriber receives them.
 */
const DEFAULT_SHARE_FOR_MS = 1_000;

/**
 * The part of a caller's identity that can change a result: kind, user, API key, role and scopes (sorted). What
 * the router token carries beside it (request id, client address) is left out: no resolver reads it to decide
 * what a caller sees.
 */
export function identityKeyOf(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'anonymous';
  const scopes = [...principal.scopes].sort().join(',');
  return principal.kind === 'apiKey'
    ? `apiKey|${principal.userId}|${principal.apiKeyId}|${principal.role}|${principal.tier}|${scopes}`
    : `user|${principal.userId}|${principal.role}|${scopes}`;
}

/** JSON with sorted object keys, so `{a, b}` and `{b, a}` give the same text (sharing keys of variables). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface Shared {
  at: number;
  result: ExecutionResult | Promise<ExecutionResult>;
}

/**
 * Executes each subscription event once per distinct (document, operation name, variables, identity) among the
 * subscribers that receive it, and hands every one of them the same result.
 *
 * Only the per-event execution is shared: each subscriber keeps its own source stream (its own position, replay,
 * back-pressure and gap handling, exactly as before), so ordering, resume and flow control stay per subscriber.
 * An event is recognised by the identity of the value its source stream yields: the live feeds hand every local
 * subscriber the same object (the shared task-log window, chat's decoded live message), so N subscribers of one
 * topic cost one execution per event; values read separately (a replay page) are simply executed separately.
 *
 * Results are keyed by what can change them: the document (same text = same document here), the operation name,
 * the variables, and the caller's {@link identityKeyOf} (the context of a subscription must be registered with
 * {@link registerContext}; a context that was not is never shared). Two callers with different rights never
 * share a result.
 */
export class SharedEventExecution {
  readonly #schema: GraphQLSchema;
  readonly #documents = new Map<string, { document: DocumentNode; errors: readonly GraphQLError[] }>();
  readonly #documentIds = new WeakMap<DocumentNode, number>();
  readonly #identities = new WeakMap<object, string>();
  readonly #events = new WeakMap<object, Map<string, Shared>>();
  readonly #shareForMs: number;
  #nextDocumentId = 0;
  /** Executions run / results reused, for tests and benchmarks. */
  readonly stats = { executed: 0, shared: 0 };

  constructor(schema: GraphQLSchema, options: { shareForMs?: number } = {}) {
    this.#schema = schema;
    this.#shareForMs = options.shareForMs ?? DEFAULT_SHARE_FOR_MS;
  }

  /**
   * Parses and validates `query` (cached by its text, so identical subscriptions get the very same document).
   * Throws the GraphQL syntax error; validation errors are returned.
   */
  document(query: string): { document: DocumentNode; errors: readonly GraphQLError[] } {
    const cached = this.#documents.get(query);
    if (cached) {
      this.#documents.delete(query);
      this.#documents.set(query, cached);
      return cached;
    }
    const document = graphqlRuntime.parse(query);
    const entry = { document, errors: graphqlRuntime.validate(this.#schema, document) };
    this.#documentIds.set(document, (this.#nextDocumentId += 1));
    this.#documents.set(query, entry);
    if (this.#documents.size > DOCUMENT_CACHE_SIZE)
      this.#documents.delete(this.#documents.keys().next().value as string);
    return entry;
  }

  /** Records whose context `contextValue` is, so its events can be shared with subscribers of the same identity. */
  registerContext(contextValue: object, principal: Principal): void {
    this.#identities.set(contextValue, identityKeyOf(principal));
  }

  /** graphql-js' `subscribe`, with each event's execution shared as described above. */
  async subscribe(
    args: ExecutionArgs,
  ): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
    const stream = await graphqlRuntime.createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream as ExecutionResult;
    const key = this.#keyOf(args);
    const iterator = stream[Symbol.asyncIterator]();
    const map = (payload: unknown): ExecutionResult | Promise<ExecutionResult> =>
      key === undefined ? this.#execute(args, payload) : this.#shared(args, key, payload);
    const mapped: AsyncGenerator<ExecutionResult, void, void> = {
      next: async () => {
        const step = await iterator.next();
        if (step.done) return { done: true, value: undefined };
        return { done: false, value: await map(step.value) };
      },
      return: async () => {
        await iterator.return?.();
        return { done: true, value: undefined };
      },
      throw: async (error: unknown) => {
        if (iterator.throw) await iterator.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return mapped;
      },
    } as AsyncGenerator<ExecutionResult, void, void>;
    return mapped;
  }

  #keyOf(args: ExecutionArgs): string | undefined {
    const documentId = this.#documentIds.get(args.document);
    const context = args.contextValue;
    const identity =
      typeof context === 'object' && context !== null ? this.#identities.get(context) : undefined;
    if (documentId === undefined || identity === undefined) return undefined;
    return `${documentId}\u0000${args.operationName ?? ''}\u0000${canonicalJson(args.variableValues ?? {})}\u0000${identity}`;
  }

  #shared(args: ExecutionArgs, key: string, payload: unknown): ExecutionResult | Promise<ExecutionResult> {
    if (typeof payload !== 'object' || payload === null) return this.#execute(args, payload);
    let results = this.#events.get(payload);
    if (!results) this.#events.set(payload, (results = new Map()));
    const now = Date.now();
    const cached = results.get(key);
    if (cached && now - cached.at < this.#shareForMs) {
      this.stats.shared += 1;
      return cached.result;
    }
    const result = this.#execute(args, payload);
    results.set(key, { at: now, result });
    return result;
  }

  #execute(args: ExecutionArgs, payload: unknown): ExecutionResult | Promise<ExecutionResult> {
    this.stats.executed += 1;
    return graphqlRuntime.execute({ ...args, rootValue: payload });
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
