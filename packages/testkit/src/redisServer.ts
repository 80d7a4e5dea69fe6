import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';

/**
 * A private `redis-server` a test owns, on a free loopback port, that the test can stop and start again on the
 * same port (a Redis outage). Nothing is persisted (`--save '' --appendonly no`): a restart comes back empty,
 * as a cache that lost its memory would.
 */
export interface TestRedisServer {
  /** `redis://127.0.0.1:<port>`; stays the same across {@link stop} and {@link start}. */
  readonly url: string;
  readonly port: number;
  /** True while the server process is running. */
  readonly running: boolean;
  /** Stops the server (SIGKILL: clients see the connection drop, as in a crash); resolves once it exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Commands the running server processed since it started (from `INFO stats`). */
  commandsProcessed(): Promise<number>;
  /** Stops the server for good. Idempotent. */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartRedisServerOptions {
  /** The server binary (default `redis-server` on PATH). */
  binary?: string;
  /** How long to wait for the server to answer after starting it (default 10,000 ms). */
  startTimeoutMs?: number;
}

/**
 * Starts a private `redis-server` for one test file or test.
 *
 * @example
 * ```ts
 * await using redis = await startRedisServer();
 * await redis.stop(); // outage
 * await redis.start(); // back, same URL
 * ```
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<TestRedisServer> {
  const binary = options.binary ?? 'redis-server';
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const port = await freePort();
  let child: ChildProcess | null = null;
  let disposed = false;

  const start = async (): Promise<void> => {
    if (disposed) throw new Error('the test Redis server was disposed');
    if (child) return;
    const started = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4_096) stderr += chunk.toString();
    });
    child = started;
    started.once('exit', () => {
      if (child === started) child = null;
    });
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (child !== started)
        throw new Error(`redis-server exited at start on port ${port}: ${stderr.trim()}`);
      if ((await command(port, 'PING').catch(() => '')).startsWith('+PONG')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    started.kill('SIGKILL');
    throw new Error(
      `redis-server did not answer on port ${port} within ${startTimeoutMs} ms: ${stderr.trim()}`,
    );
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (!running) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== null;
    },
    stop,
    start,
    commandsProcessed: async () => {
      const info = await command(port, 'INFO stats');
      const match = /total_commands_processed:(\d+)/.exec(info);
      if (!match) throw new Error('INFO stats did not report total_commands_processed');
      return Number(match[1]);
    },
    [Symbol.asyncDispose]: async () => {
      disposed = true;
      await stop();
    },
  };
}

/** A port that was free on loopback a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Sends one inline command and returns the raw reply (enough for PING and INFO, which is one bulk string). */
async function command(port: number, line: string): Promise<string> {
  const socket = createConnection({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
    socket.write(`${line}\r\n`);
    let reply = '';
    for await (const chunk of socket) {
      reply += (chunk as Buffer).toString();
      if (isComplete(reply)) break;
    }
    return reply;
  } finally {
    socket.destroy();
  }
}

/** A simple string, an error, or a bulk string whose announced length has fully arrived. */
function isComplete(reply: string): boolean {
  const headerEnd = reply.indexOf('\r\n');
  if (headerEnd < 0) return false;
  if (reply[0] !== '$') return true;
  const length = Number(reply.slice(1, headerEnd));
  return length < 0 || Buffer.byteLength(reply) >= headerEnd + 2 + length + 2;
}
