/**
 * The subgraph kit: what every subgraph builds on (builder, keyset pagination, unit of work, start/stop).
 * A separate entry point so processes without a GraphQL schema (the router) do not load Pothos.
 */
export * from './keysetPagination.js';
export * from './serveSubgraph.js';
export * from './startScoped.js';
export * from './subgraphBuilder.js';
export * from './subgraphSchema.js';
export * from './unitOfWork.js';
export * from './unitOfWorkSql.js';
