import { codedError, ErrorCode, type Logger } from '@cap/runtime';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { maskError } from '../../maskError.js';
import type { RouterContext } from '../../routerContext.js';
import type { LoadedSupergraph, PlannedSubscription } from './LoadedSupergraph.js';
import { INTERNAL_ERROR } from './SubscriptionFailure.js';
import type { UpstreamEvent } from './UpstreamFeed.js';

/** What completing an event of one subscription needs. */
export interface EventResolution {
  supergraph: LoadedSupergraph;
  planned: PlannedSubscription;
  /** The client's variables: only the primary fetch (already done) uses the resume argument. */
  variables: Record<string, unknown>;
  /** Context of the HTTP fetches that resolve each event's entity fields (router token, request id). */
  context: () => RouterContext;
  /** Applied to each formatted result before it is sent (e.g. the policies' denials). */
  finish?: (result: FormattedExecutionResult) => void;
  logger: Logger;
}

/** Completes one event (entity fields of other subgraphs, the client's shape), masked and finished. */
export async function resolveEvent(
  resolution: EventResolution,
  event: UpstreamEvent,
): Promise<FormattedExecutionResult> {
  const { supergraph, planned, logger, finish } = resolution;
  try {
    const executed = await supergraph.executeEvent(
      planned,
      event as never,
      resolution.variables,
      resolution.context,
      logger,
    );
    const result: FormattedExecutionResult =
      executed.errors.length > 0
        ? { data: executed.data, errors: executed.errors.map((error) => mask(error, logger)) }
        : { data: executed.data };
    finish?.(result);
    return result;
  } catch (error) {
    logger.error(
      { err: error, subgraph: planned.primary.serviceName },
      'failed to complete a subscription event',
    );
    return { data: null, errors: [INTERNAL_ERROR] };
  }
}

function mask(error: GraphQLFormattedError, logger: Logger): GraphQLFormattedError {
  return maskError(error, codedError(ErrorCode.INTERNAL_SERVER_ERROR, error.message), logger);
}
