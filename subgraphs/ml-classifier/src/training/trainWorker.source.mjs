// Runs the retrain worker from the TypeScript sources (development and tests run sources, never builds):
// registers tsx in this thread, then loads the worker. Built deployments start dist/training/trainWorker.js.
import { register } from 'tsx/esm/api';

register();
await import('./trainWorker.ts');
