/**
 * Runs one benchmark target in a process of its own (single process against single process, and its CPU time
 * readable from outside): `router`, `apollo` or `hive`, over the supergraph at argv[3]. The router takes its
 * whole environment from the parent (BENCH_TARGET_ENV, JSON). Writes `{ url }` as one JSON line to stdout; exits
 * when stdin closes.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, loadSupergraphPolicy, startRouter } from '@cap/router';
import { createKeyValueStore, createLogger } from '@cap/runtime';
import { startApolloGateway, startHiveGateway } from './gateways.js';

const [kind, supergraphPath] = process.argv.slice(2);
if (!supergraphPath) throw new Error('usage: targetProcess.ts <router|apollo|hive> <supergraph path>');
let url: string;
let close: () => Promise<void>;
if (kind === 'router') {
  const env = JSON.parse(process.env['BENCH_TARGET_ENV'] ?? '{}') as Record<string, string>;
  const logger = createLogger({ service: 'bench-router', level: 'fatal' });
  const kv = createKeyValueStore(env['REDIS_URL']);
  const router = await startRouter({
    config: loadConfig({ ...env, SUPERGRAPH_PATH: supergraphPath }),
    kv,
    logger,
  });
  url = router.graphqlUrl;
  close = async () => {
    await router.close();
    await kv.close();
  };
} else {
  // Gateways that do not enforce authorization get the supergraph with those links as metadata (ADR 0009).
  const gatewaySdl = loadSupergraphPolicy(readFileSync(supergraphPath, 'utf8')).gatewaySdl;
  const gateway = kind === 'hive' ? await startHiveGateway(gatewaySdl) : await startApolloGateway(gatewaySdl);
  url = gateway.graphqlUrl;
  close = gateway.close;
}
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void close().then(() => process.exit(0));
});
