export { loadConfig, platformEnvSchema, type PlatformConfig } from './config.js';
export { startPlatform, type RunningPlatform } from './platform.js';
