import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * How long (ms) our servers keep an idle keep-alive connection open after the last response. Far longer than any
 * client we know keeps one idle (undici: what the server advertises less 2 s, else 4 s; load balancers: 60 s), so
 * a client always gives up an idle connection before the server does. A server that closes first races every
 * client that reuses the connection at that moment: the request lands on a socket the server has just destroyed
 * and the client sees ECONNRESET (a process whose event loop stalls past both idle deadlines does so every time).
 */
export const KEEP_ALIVE_IDLE_MS = 65_000;

/**
 * What our servers advertise in `Keep-Alive: timeout=` (seconds): clients that honour it (undici, the router's
 * subgraph pool, global `fetch`) release idle connections after about this long, well inside
 * {@link KEEP_ALIVE_IDLE_MS}. Node advertises the idle timeout itself, which would leave clients a margin of
 * undici's 2 s threshold only.
 */
export const KEEP_ALIVE_ADVERTISED_SECONDS = 5;

/**
 * Longest time (ms) to receive a request's headers: kept above {@link KEEP_ALIVE_IDLE_MS}, the long-standing rule
 * for Node servers behind keep-alive clients (Node's own defaults, 60 s and 5 s, keep it too).
 */
export const HEADERS_TIMEOUT_MS = KEEP_ALIVE_IDLE_MS + 1_000;

/**
 * `http.createServer` with the connection timeouts every service of this repository uses (the router, each
 * subgraph, the test kit's fake servers): idle keep-alive connections are held {@link KEEP_ALIVE_IDLE_MS} while
 * {@link KEEP_ALIVE_ADVERTISED_SECONDS} is advertised, so clients close idle connections first and never write a
 * request into one the server is closing.
 */
export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer((req, res) => {
    advertiseKeepAlive(req, res);
    handler(req, res);
  });
  server.keepAliveTimeout = KEEP_ALIVE_IDLE_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  return server;
}

/**
 * Sets `Connection: keep-alive` and our own `Keep-Alive: timeout=` on a response Node would keep alive (an explicit
 * `Connection` header makes Node leave both to us). HTTP/1.1 only: there a body without a length is chunked, so
 * the connection never has to close to end one. A handler that later sets `Connection: close` still closes.
 */
function advertiseKeepAlive(req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersion !== '1.1' || !res.shouldKeepAlive) return;
  res.setHeader('connection', 'keep-alive');
  res.setHeader('keep-alive', `timeout=${KEEP_ALIVE_ADVERTISED_SECONDS}`);
}
