import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The servers' side of the latency: when the servers in this process handed each line to the last of its sockets
 * (ws' `send`, before the kernel and the clients' parsing). Records the time and the message of every completed
 * send of the ws copies the subgraphs' runtime and the router use (a split message counts at its last frame); the
 * messages are parsed after the run, so recording costs the servers one array push per send.
 */
type Send = (this: unknown, data: unknown, options?: unknown, cb?: unknown) => void;

const sends: Array<[number, unknown]> = [];
let recording = false;

for (const from of ['@cap/runtime', '@cap/router']) {
  const require = createRequire(fileURLToPath(import.meta.resolve(from)));
  const prototype = (require('ws') as { WebSocket: { prototype: { send: Send } } }).WebSocket.prototype;
  const original = prototype.send;
  if ((original as { recorded?: true }).recorded) continue;
  const recorded: Send = function (this: unknown, data, options, cb) {
    const fin = typeof options === 'object' && options !== null ? (options as { fin?: boolean }).fin : true;
    if (recording && fin !== false) sends.push([Date.now(), data]);
    return original.call(this, data, options, cb);
  };
  (recorded as { recorded?: true }).recorded = true;
  prototype.send = recorded;
}

export function startRecordingSends(): void {
  sends.length = 0;
  recording = true;
}

/**
 * Stops recording; per line (by seq) of `field`'s events, milliseconds from its `createdAt` to its last send, for
 * COMMAND_OUTPUT entries.
 */
export function lastSendLatencies(field: string): Float64Array {
  recording = false;
  const parsed = new Map<unknown, Array<{ seq: number; kind: string; createdAt: string }>>();
  const last = new Map<number, { at: number; createdAt: string }>();
  for (const [at, data] of sends) {
    let entries = parsed.get(data);
    if (entries === undefined) {
      entries = entriesOf(data, field);
      parsed.set(data, entries);
    }
    for (const entry of entries) {
      if (entry.kind !== 'COMMAND_OUTPUT') continue;
      const seen = last.get(entry.seq);
      if (!seen || seen.at < at) last.set(entry.seq, { at, createdAt: entry.createdAt });
    }
  }
  sends.length = 0;
  return Float64Array.from(last.values(), ({ at, createdAt }) => at - Date.parse(createdAt)).sort();
}

/** The log entries a sent message carries: a whole graphql-ws message, or a split message's shared body. */
function entriesOf(data: unknown, field: string): Array<{ seq: number; kind: string; createdAt: string }> {
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : typeof data === 'string' ? data : '';
  let payload: { data?: Record<string, unknown> } | undefined;
  try {
    // A split message's body is the payload and the message's closing brace.
    payload = Buffer.isBuffer(data)
      ? (JSON.parse(text.slice(0, -1)) as typeof payload)
      : (JSON.parse(text) as { payload?: typeof payload }).payload;
  } catch {
    return [];
  }
  const value = payload?.data?.[field] as
    | { entries?: Array<{ seq: number; kind: string; createdAt: string }>; seq?: number }
    | undefined;
  if (!value) return [];
  return Array.isArray(value.entries)
    ? value.entries
    : [value as { seq: number; kind: string; createdAt: string }];
}
