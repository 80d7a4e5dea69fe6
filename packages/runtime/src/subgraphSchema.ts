import type { GraphQLSchema } from 'graphql';
import { applyDirectiveAuthorization } from './directiveAuthorization.js';
import type { Principal } from './principal.js';
import { resumableSubgraphOptions } from './resumableDirective.js';
import type { SubgraphBuilder } from './subgraphBuilder.js';

/** The Federation version every subgraph links. */
export const FEDERATION_LINK_URL = 'https://specs.apollo.dev/federation/v2.9';

/** What differs between subgraphs' schemas. */
export interface SubgraphSchemaOptions<Context extends object> {
  /** The caller of a request, from its context: the directives are enforced against it (ADR 0007). */
  principal: (context: Context) => Principal;
  /** Federation directives this subgraph imports beyond every subgraph's (e.g. `@extends`). */
  extraFederationDirectives?: ReadonlyArray<`@${string}`>;
  /** Links and composes `@resumable` (subgraphs with resumable subscription fields). */
  resumable?: boolean;
}

/**
 * A subgraph's federated schema (Federation 2), built the same way in every subgraph: `@key` and `@shareable`,
 * the authorization directives (`@authenticated`, `@requiresScopes`, `@policy`) and the demand-control ones
 * (`@cost`, `@listSize`) imported; the authorization directives enforced again inside the subgraph
 * (`applyDirectiveAuthorization`, ADR 0007), so the router is not the only line of defence.
 */
export function buildSubgraphSchema<Context extends object>(
  builder: SubgraphBuilder<Context>,
  options: SubgraphSchemaOptions<Context>,
): GraphQLSchema {
  return applyDirectiveAuthorization<Context>(
    builder.toSubGraphSchema({
      linkUrl: FEDERATION_LINK_URL,
      federationDirectives: [
        '@key',
        '@shareable',
        ...(options.extraFederationDirectives ?? []),
        '@authenticated',
        '@requiresScopes',
        '@policy',
        '@cost',
        '@listSize',
      ],
      ...(options.resumable ? resumableSubgraphOptions : {}),
    }),
    { principal: options.principal },
  );
}
