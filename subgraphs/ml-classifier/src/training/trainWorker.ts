/**
 * Worker-thread entry of a retrain: runs {@link runTrainJob} on `workerData` and posts progress, then the
 * result (or the error's message). Keeps training's CPU off the thread that serves requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTrainJob, type TrainJob } from './trainJob.js';

const port = parentPort;
if (!port) throw new Error('trainWorker runs in a worker thread');
try {
  const result = await runTrainJob(workerData as TrainJob, (progress) =>
    port.postMessage({ kind: 'progress', ...progress }),
  );
  port.postMessage({ kind: 'done', result });
} catch (error) {
  port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
}
