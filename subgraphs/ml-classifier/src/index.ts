export { loadConfig, mlClassifierEnvSchema, type MlClassifierConfig } from './config.js';
export { startMlClassifier, type RunningMlClassifier, type StartMlClassifierOptions } from './app.js';
export { TASKS_CONSUMER_GROUP, type TasksConsumerOptions } from './consumers/orchestrationTasks.js';
export { isHeldOut, outcomeKey } from './training/heldOut.js';
