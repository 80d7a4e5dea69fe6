export { loadConfig, chatEnvSchema, type ChatConfig } from './config.js';
export { startChat, type RunningChat, type StartChatOptions } from './app.js';
