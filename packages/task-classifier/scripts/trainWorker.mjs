// One `train` call in a worker thread, for the training command's concurrent validation sweep. Loads the
// TypeScript sources through tsx, as the command itself runs them.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { train } = await import('@cap/task-classifier');
parentPort.postMessage(train(workerData));
