import type { FormattedExecutionResult } from 'graphql';

/**
 * The placeholder graphql-ws' `onNext` returns instead of a result: the socket adapter swaps it for the result's
 * serialised bytes, made once per result object however many subscribers receive it. The key cannot come from a
 * client: it is the last member of a message graphql-ws serialises itself (`{"id":…,"type":"next","payload":{…}}`,
 * in that order), and only that position is looked at.
 */
const KEY = '__capSharedPayload';
const MARK = `"payload":{"${KEY}":`;

/**
 * Payloads from this size (UTF-16 code units, a lower bound of their bytes) go out as a message in two frames:
 * each subscriber's small head, then the payload's bytes, encoded once and shared by every socket (ws writes a
 * Buffer without copying it). Below it one frame is cheaper for both sides than a second frame.
 */
export const SPLIT_MIN_CHARS = 8 * 1024;

/**
 * Process-wide switch of {@link SharedPayloads.expand}, read on every message: benchmarks set `splitMinChars` to
 * `Infinity` for a baseline that sends every message whole (encoded once per subscriber).
 */
export const sharedPayloadOptions: { splitMinChars: number } = { splitMinChars: SPLIT_MIN_CHARS };

/**
 * A graphql-ws message sent as one WebSocket text message in two frames (RFC 6455 fragmentation, which every
 * WebSocket client reassembles): `head` is `{"id":…,"type":"next","payload":` and `body` the shared bytes of the
 * payload followed by the message's closing brace.
 */
export interface SplitMessage {
  readonly head: string;
  readonly body: Buffer;
}

/** What a socket adapter sends: a whole message, or one split around a shared payload. */
export type OutgoingMessage = string | SplitMessage;

/** One result's serialisation, and its bytes once a large one has been sent. */
interface Serialised {
  readonly text: string;
  body?: Buffer;
}

/**
 * Serialises each result once for every graphql-ws subscriber that receives it (ADR 0021). Use as
 * `onNext: (…, result) => payloads.placeholder(result)` and `send: (data) => sendWithBackPressure(socket, payloads.expand(data))`:
 * graphql-ws sends each `next` right after `onNext` returns, so every placeholder is expanded at once.
 */
export class SharedPayloads {
  readonly #serialised = new WeakMap<object, Serialised>();
  readonly #tickets = new Map<number, Serialised>();
  #nextTicket = 0;

  /**
   * A placeholder standing for `result`, serialised with `serialise` on its first use (results are shared
   * objects: do not mutate one after it was sent).
   */
  placeholder<T extends object>(
    result: T,
    serialise: (result: T) => string = JSON.stringify,
  ): FormattedExecutionResult {
    let serialised = this.#serialised.get(result);
    if (serialised === undefined) {
      serialised = { text: serialise(result) };
      this.#serialised.set(result, serialised);
    }
    const ticket = (this.#nextTicket = (this.#nextTicket + 1) % Number.MAX_SAFE_INTEGER);
    this.#tickets.set(ticket, serialised);
    return { [KEY]: ticket } as FormattedExecutionResult;
  }

  /**
   * The message with the placeholder's bytes in place (any other message unchanged): one string, or from
   * `sharedPayloadOptions.splitMinChars` a {@link SplitMessage} whose body is encoded once for every subscriber of the result.
   */
  expand(data: string): OutgoingMessage {
    const at = data.lastIndexOf(MARK);
    if (at < 0 || !data.endsWith('}}')) return data;
    const ticket = Number(data.slice(at + MARK.length, -2));
    const serialised = this.#tickets.get(ticket);
    if (serialised === undefined) return data;
    this.#tickets.delete(ticket);
    const head = `${data.slice(0, at)}"payload":`;
    if (serialised.text.length < sharedPayloadOptions.splitMinChars) return `${head}${serialised.text}}`;
    serialised.body ??= Buffer.from(`${serialised.text}}`, 'utf8');
    return { head, body: serialised.body };
  }

  /** Placeholders handed out and not yet expanded (0 between messages). */
  get pending(): number {
    return this.#tickets.size;
  }
}
