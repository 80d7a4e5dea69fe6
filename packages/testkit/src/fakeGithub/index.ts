export * from './fakeGithubServer.js';
export * from './gitHttpBackend.js';
export * from './openApiContract.js';
export * from './repositoryRoutes.js';
export { fakeRateLimit, type FakeRateLimit } from './rateLimit.js';
export * from './webhookDelivery.js';
export * from './actionsRoutes.js';
export * from './pullRequestReviewRoutes.js';
export * from './startFakeGithub.js';
