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
 * Serialises each result once for every graphql-ws subscriber that receives it (ADR 0021). Use as
 * `onNext: (…, result) => payloads.placeholder(result)` and `send: (data) => socket.send(payloads.expand(data))`:
 * graphql-ws sends each `next` right after `onNext` returns, so every placeholder is expanded at once.
 */
export class SharedPayloads {
  readonly #serialised = new WeakMap<object, string>();
  readonly #tickets = new Map<number, string>();
  #nextTicket = 0;

  /**
   * A placeholder standing for `result`, serialised with `serialise` on its first use (results are shared
   * objects: do not mutate one after it was sent).
   */
  placeholder<T extends object>(
    result: T,
    serialise: (result: T) => string = JSON.stringify,
  ): FormattedExecutionResult {
    let bytes = this.#serialised.get(result);
    if (bytes === undefined) {
      bytes = serialise(result);
      this.#serialised.set(result, bytes);
    }
    const ticket = (this.#nextTicket = (this.#nextTicket + 1) % Number.MAX_SAFE_INTEGER);
    this.#tickets.set(ticket, bytes);
    return { [KEY]: ticket } as FormattedExecutionResult;
  }

  /** The message with the placeholder's bytes in place (any other message unchanged). */
  expand(data: string): string {
    const at = data.lastIndexOf(MARK);
    if (at < 0 || !data.endsWith('}}')) return data;
    const ticket = Number(data.slice(at + MARK.length, -2));
    const bytes = this.#tickets.get(ticket);
    if (bytes === undefined) return data;
    this.#tickets.delete(ticket);
    return `${data.slice(0, at)}"payload":${bytes}}`;
  }

  /** Placeholders handed out and not yet expanded (0 between messages). */
  get pending(): number {
    return this.#tickets.size;
  }
}
