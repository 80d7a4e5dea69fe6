import type { GraphQLDataSource } from '@apollo/gateway';
import type { Principal } from '@cap/runtime';
import type { GraphQLFormattedError } from 'graphql';
import type { RouterContext } from '../../routerContext.js';

type ProcessOptions = Parameters<GraphQLDataSource['process']>[0];
type Response = Awaited<ReturnType<GraphQLDataSource['process']>>;

interface Caller {
  /** Position in the batch's representations of each of this caller's representations. */
  indexes: number[];
  resolve: (response: Response) => void;
  reject: (error: unknown) => void;
}

interface Batch {
  options: ProcessOptions;
  representations: unknown[];
  byKey: Map<string, number>;
  callers: Caller[];
}

/**
 * Batches the entity fetches (`_entities(representations:)`) that subscription events send to one subgraph:
 * fetches with the same operation, the same other variables and the same caller, made in the same turn of the
 * event loop, go out as one request, each distinct representation once. When a message reaches 1,000 subscribers
 * of one user, its author is fetched from identity once instead of 1,000 times; a replayed burst of events of one
 * subscription is fetched in one request instead of one per event. Callers never share a fetch across principals
 * (what a subgraph returns may depend on who asks). Anything that is not an entity fetch passes through.
 */
export class EntityBatcher implements GraphQLDataSource {
  readonly #pending = new Map<string, Batch>();

  constructor(private readonly source: GraphQLDataSource) {}

  process(options: ProcessOptions): Promise<Response> {
    const variables = options.request.variables ?? {};
    const representations = variables['representations'];
    const principal = (options.context as Partial<RouterContext> | undefined)?.principal;
    if (!Array.isArray(representations) || !principal) return this.source.process(options);
    const { representations: _omitted, ...others } = variables;
    const key = JSON.stringify([options.request.query, others, principalKey(principal)]);
    let batch = this.#pending.get(key);
    if (!batch) {
      const created: Batch = { options, representations: [], byKey: new Map(), callers: [] };
      batch = created;
      this.#pending.set(key, created);
      setImmediate(() => void this.#flush(key, created));
    }
    const target = batch;
    return new Promise<Response>((resolve, reject) => {
      const indexes = representations.map((representation) => {
        const representationKey = JSON.stringify(representation);
        let index = target.byKey.get(representationKey);
        if (index === undefined) {
          index = target.representations.length;
          target.byKey.set(representationKey, index);
          target.representations.push(representation);
        }
        return index;
      });
      target.callers.push({ indexes, resolve, reject });
    });
  }

  async #flush(key: string, batch: Batch): Promise<void> {
    this.#pending.delete(key);
    const { options } = batch;
    let response: Response;
    try {
      response = await this.source.process({
        ...options,
        request: {
          ...options.request,
          variables: { ...options.request.variables, representations: batch.representations },
        },
      } as ProcessOptions);
    } catch (error) {
      for (const caller of batch.callers) caller.reject(error);
      return;
    }
    const entities = (response.data as { _entities?: unknown } | null | undefined)?._entities;
    for (const caller of batch.callers) {
      const errors = (response.errors ?? []).flatMap((error) => forCaller(error, caller.indexes));
      caller.resolve({
        ...response,
        data: Array.isArray(entities)
          ? { _entities: caller.indexes.map((index) => entities[index] ?? null) }
          : response.data,
        ...(errors.length > 0 ? { errors } : { errors: undefined }),
      });
    }
  }
}

/** The error as one caller sees it: errors of entity i go to the callers that asked for it, re-indexed. */
function forCaller(error: GraphQLFormattedError, indexes: readonly number[]): GraphQLFormattedError[] {
  const [head, index, ...tail] = error.path ?? [];
  if (head !== '_entities' || typeof index !== 'number') return [error];
  return indexes.flatMap((batchIndex, position) =>
    batchIndex === index ? [{ ...error, path: ['_entities', position, ...tail] }] : [],
  );
}

/** Callers whose fetches may be shared: the same user or key with the same role and scopes. */
function principalKey(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'anonymous';
  const scopes = [...principal.scopes].sort().join(' ');
  return principal.kind === 'apiKey'
    ? `key:${principal.apiKeyId}:${principal.role}:${scopes}`
    : `user:${principal.userId}:${principal.role}:${scopes}`;
}
