import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP hop in front of a real subgraph that holds every request while closed, so a test can have
 * several router requests in flight at once and count what reached the subgraph. Forwards method, headers and
 * body unchanged and relays the subgraph's answer.
 */
export class GatedSubgraph implements AsyncDisposable {
  /** Request bodies that reached the hop, in arrival order. */
  readonly received: string[] = [];
  #held: Array<() => void> = [];
  #closed = false;
  #server!: Server;
  url = '';

  private constructor(private readonly target: string) {}

  static async start(target: string): Promise<GatedSubgraph> {
    const gate = new GatedSubgraph(target);
    gate.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        gate.received.push(body);
        const forward = (): void => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(req.headers))
            if (typeof value === 'string' && name !== 'host' && name !== 'content-length')
              headers[name] = value;
          void fetch(gate.target, { method: req.method ?? 'POST', headers, body })
            .then(async (answer) => {
              res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' });
              res.end(await answer.text());
            })
            .catch(() => res.writeHead(502).end());
        };
        if (gate.#closed) gate.#held.push(forward);
        else forward();
      });
    });
    await new Promise<void>((resolve) => gate.#server.listen(0, '127.0.0.1', resolve));
    gate.url = `http://127.0.0.1:${(gate.#server.address() as AddressInfo).port}/graphql`;
    return gate;
  }

  /** How many requests are waiting at the closed gate. */
  get held(): number {
    return this.#held.length;
  }

  /** Holds every request from now on. */
  close(): void {
    this.#closed = true;
  }

  /** Forwards the held requests and every later one. */
  open(): void {
    this.#closed = false;
    const held = this.#held;
    this.#held = [];
    for (const forward of held) forward();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.open();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
