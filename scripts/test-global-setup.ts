import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Global test setup. Real services only (docs/CONVENTIONS.md §13): PostgreSQL and Redis must be running (CI and this
 * machine start them); Kafka is started from the project's own script when nothing answers on KAFKA_BROKERS,
 * and stopped again afterwards if this run started it.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function reachable(hostPort: string, timeoutMs = 1_000): Promise<boolean> {
  const [host = '127.0.0.1', port = '0'] = hostPort.split(':');
  return new Promise((done) => {
    const socket = connect({ host, port: Number(port) });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export default async function setup(): Promise<() => Promise<void>> {
  const postgres = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const redis = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  for (const [name, url] of [
    ['PostgreSQL (TEST_DATABASE_URL)', postgres],
    ['Redis (TEST_REDIS_URL)', redis],
  ] as const) {
    const { hostname, port } = new URL(url);
    if (!(await reachable(`${hostname}:${port}`))) {
      throw new Error(
        `${name} is not reachable at ${hostname}:${port}; start it first (see README, "Testing").`,
      );
    }
  }
  process.env['TEST_DATABASE_URL'] = postgres;
  process.env['TEST_REDIS_URL'] = redis;

  const brokers = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
  process.env['KAFKA_BROKERS'] = brokers;
  let startedKafka = false;
  if (!(await reachable(brokers.split(',')[0] ?? brokers))) {
    execFileSync('bash', [resolve(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
    startedKafka = true;
  }
  return async () => {
    if (startedKafka) execFileSync('bash', [resolve(root, 'scripts/kafka.sh'), 'stop'], { stdio: 'inherit' });
  };
}
