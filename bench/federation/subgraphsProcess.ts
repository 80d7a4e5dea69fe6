/**
 * Runs the four benchmark subgraphs in their own process (so their CPU time is not on the gateways' event loop)
 * and writes their URLs as one JSON line to stdout; exits when stdin closes (the benchmark ended).
 */
import { startBenchSubgraphs } from './subgraphs.js';

const running = await startBenchSubgraphs();
process.stdout.write(`${JSON.stringify(running.urls)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void running.close().then(() => process.exit(0));
});
