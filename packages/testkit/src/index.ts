export * from './kafka.js';
export * from './database.js';
export * from './graphql.js';
export * from './redisServer.js';
export * from './countingDatabase.js';
export * from './subgraphRoles.js';
export * from './principals.js';
export * from './waitFor.js';
