export * from './config.js';
export * from './router.js';
export { Authenticator, AuthenticationError } from './authenticate.js';
