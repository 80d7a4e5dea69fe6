export { loadConfig, identityEnvSchema, type IdentityConfig } from './config.js';
export { startIdentity, type RunningIdentity, type StartIdentityOptions } from './app.js';
export { SigningKeyRing } from './domain/signingKeys.js';
export { ADMIN_CREDENTIALS_FILE, saveAdminCredentials } from './adminCredentials.js';
