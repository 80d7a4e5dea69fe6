export { loadConfig, cicdEnvSchema, type CicdConfig } from './config.js';
export { startCicd, type RunningCicd, type StartCicdOptions } from './app.js';
export type { GithubActions, ApiJob, ApiRun } from './domain/githubActions.js';
