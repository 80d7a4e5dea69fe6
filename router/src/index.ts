export * from './config.js';
export * from './startRouter.js';
export { Authenticator, AuthenticationError } from './authenticate.js';
export { loadSupergraphPolicy, type SupergraphPolicy } from './policy/supergraphPolicy.js';
export { OperationPolicy } from './policy/OperationPolicy.js';
export { RateLimiter } from './policy/rateLimiter.js';
export { RevocationFeed, REVOCATION_TOPICS } from './revocation/RevocationFeed.js';
export { RevocationView, type Revocation, type RevocationReason } from './revocation/RevocationView.js';
