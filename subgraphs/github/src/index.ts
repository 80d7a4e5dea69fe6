export { startGithub, type RunningGithub, type StartGithubOptions } from './app.js';
export { loadGithubConfig, githubEnvSchema, type GithubConfig } from './config.js';
export { MIGRATIONS_DIR, SCHEMA } from './db.js';
export { REPOSITORY_TOKEN_PATH, OAUTH_CALLBACK_PATH } from './routes.js';
export { WEBHOOK_PATH, WEBHOOK_MAX_BYTES } from './webhooks/webhookRoute.js';
