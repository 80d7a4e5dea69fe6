// Trains in a worker thread, as the platform would to keep retraining off the request path. The worker loads
// the TypeScript sources through tsx (tests run sources, never builds).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { train } = await import('@cap/task-classifier');
parentPort.postMessage(train(workerData));
