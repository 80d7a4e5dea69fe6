import { AgentError, AgentErrorCode } from './errors.js';
import type { ModelCallOptions, ModelClient, ModelRequest, ModelResponse } from './model.js';
import type { Clock } from './ports.js';

/** Retry policy of model calls. */
export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  requestTimeoutMs: number;
  /** A stream silent for this long is abandoned and retried, ms. */
  streamIdleTimeoutMs: number;
}

/** Why one attempt failed, as far as retrying is concerned. */
interface Classified {
  retryable: boolean;
  reason: string;
  retryAfterMs: number | null;
}

/** Raised by the watchdog into the attempt's own abort controller. */
class StreamStalledError extends Error {
  override readonly name = 'StreamStalledError';
}

/** `Retry-After` (seconds or an HTTP date) or `retry-after-ms`, in ms; null when absent or unreadable. */
export function retryAfterMs(headers: unknown, now: number): number | null {
  const get = (name: string): string | null =>
    headers && typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : null;
  const ms = get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = get('retry-after');
  if (value === null) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Sorts an SDK error (both SDKs share the shape: `status`, `headers`, class names) into retryable or not. */
function classify(error: unknown, now: number): Classified {
  if (error instanceof StreamStalledError)
    return { retryable: true, reason: error.message, retryAfterMs: null };
  const status = (error as { status?: unknown }).status;
  const name = (error as { constructor?: { name?: string } }).constructor?.name ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (typeof status === 'number') {
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    return {
      retryable,
      reason: `HTTP ${status}: ${message}`,
      retryAfterMs: retryAfterMs((error as { headers?: unknown }).headers, now),
    };
  }
  if (
    /Connection|Timeout/.test(name) ||
    /ECONNRESET|ECONNREFUSED|EPIPE|socket|terminated|network/i.test(message)
  ) {
    return { retryable: true, reason: message, retryAfterMs: null };
  }
  // A stream cut short mid-body surfaces as a plain error from the SDK's parser.
  return { retryable: /stream|premature|aborted/i.test(message), reason: message, retryAfterMs: null };
}

/**
 * Wraps a {@link ModelClient} with the only retries of a model call (the SDKs' own are off): on 408/409/429,
 * 5xx, connection errors, request timeouts and streams silent for `streamIdleTimeoutMs`, it waits
 * `min(maxDelay, max(Retry-After, full-jitter exponential backoff))` and tries again, up to `maxRetries` times;
 * then it throws LLM_UNAVAILABLE. Other HTTP errors throw LLM_REJECTED at once. An abort of the caller's signal
 * throws AGENT_CANCELLED immediately, in-flight stream included.
 */
export class RetryingModel implements ModelClient {
  readonly provider: 'openai' | 'anthropic';
  readonly #inner: ModelClient;
  readonly #policy: RetryPolicy;
  readonly #clock: Clock;
  readonly #random: () => number;
  /** Called before each retry, for the log. */
  onRetry: ((info: { attempt: number; delayMs: number; reason: string }) => void) | undefined;

  constructor(inner: ModelClient, policy: RetryPolicy, clock: Clock, random: () => number = Math.random) {
    this.provider = inner.provider;
    this.#inner = inner;
    this.#policy = policy;
    this.#clock = clock;
    this.#random = random;
  }

  async complete(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse> {
    let lastReason = '';
    for (let attempt = 0; attempt <= this.#policy.maxRetries; attempt++) {
      if (options.signal.aborted) throw cancelled();
      try {
        return await this.#attempt(request, options);
      } catch (error) {
        if (options.signal.aborted) throw cancelled();
        const classified = classify(error, this.#clock.now());
        if (!classified.retryable) {
          throw new AgentError(
            AgentErrorCode.LLM_REJECTED,
            `The model provider refused the request: ${classified.reason}`,
            { cause: error },
          );
        }
        lastReason = classified.reason;
        if (attempt === this.#policy.maxRetries) break;
        const backoff = this.#random() * this.#policy.baseDelayMs * 2 ** attempt;
        const delayMs = Math.round(
          Math.min(this.#policy.maxDelayMs, Math.max(classified.retryAfterMs ?? 0, backoff)),
        );
        this.onRetry?.({ attempt: attempt + 1, delayMs, reason: classified.reason });
        try {
          await this.#clock.sleep(delayMs, options.signal);
        } catch {
          throw cancelled();
        }
      }
    }
    throw new AgentError(
      AgentErrorCode.LLM_UNAVAILABLE,
      `The model provider is unavailable after ${this.#policy.maxRetries + 1} attempts: ${lastReason}`,
    );
  }

  /** One attempt with its own abort controller, so that the watchdog can abandon a silent stream. */
  async #attempt(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(options.signal.reason);
    options.signal.addEventListener('abort', onAbort, { once: true });
    let stalled: StreamStalledError | null = null;
    let timer: NodeJS.Timeout | null = null;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = new StreamStalledError(
          `The stream sent nothing for ${this.#policy.streamIdleTimeoutMs} ms.`,
        );
        controller.abort(stalled);
      }, this.#policy.streamIdleTimeoutMs);
    };
    arm();
    try {
      const response = await this.#inner.complete(request, {
        ...options,
        signal: controller.signal,
        timeoutMs: this.#policy.requestTimeoutMs,
        onActivity: () => {
          arm();
          options.onActivity?.();
        },
      });
      // Both SDKs end a stream quietly when its signal aborts: what arrived until then is a fragment, never an answer.
      if (controller.signal.aborted) throw stalled ?? controller.signal.reason;
      return response;
    } catch (error) {
      throw stalled ?? error;
    } finally {
      if (timer) clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
    }
  }
}

function cancelled(): AgentError {
  return new AgentError(
    AgentErrorCode.AGENT_CANCELLED,
    'The execution was stopped while the model was answering.',
  );
}
