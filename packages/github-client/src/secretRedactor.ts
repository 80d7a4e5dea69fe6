/** What replaces a registered secret in text. */
export const REDACTED = '[redacted]';

/** Shorter values are not registered: redacting them would mangle ordinary text and protect nothing. */
const MIN_SECRET_LENGTH = 8;

/**
 * The secret-redaction registration of everything that handles GitHub credentials: each token the providers
 * mint or read is registered here (and passed to the listeners, e.g. a task log's `registerSecret`), and every
 * text that may leave the process (a log line's message, an error's message, a git command's output) goes
 * through {@link SecretRedactor.redact} first. Tokens also appear base64-encoded in HTTP Basic credentials; both
 * forms are registered.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();
  readonly #listeners = new Set<(secret: string) => void>();

  /** Registers a secret (and its Basic-auth forms); listeners hear of it once. */
  register(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH || this.#secrets.has(secret)) return;
    const forms = [
      secret,
      Buffer.from(`x-access-token:${secret}`).toString('base64'),
      Buffer.from(secret).toString('base64'),
    ];
    for (const form of forms) this.#secrets.add(form);
    for (const listener of this.#listeners) listener(secret);
  }

  /** Calls `listener` for every secret registered from now on (and for those already registered). */
  onRegister(listener: (secret: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `text` with every registered secret replaced by {@link REDACTED}. */
  redact(text: string): string {
    let result = text;
    // Longest first, so that a secret containing another is replaced whole.
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) {
      if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    }
    return result;
  }

  /**
   * An error safe to log or rethrow: same name and status, message and cause chain redacted; request headers,
   * response bodies and anything else an HTTP client attached are dropped.
   */
  redactError(error: unknown): Error {
    if (!(error instanceof Error)) return new Error(this.redact(String(error)));
    const status = (error as { status?: unknown }).status;
    const safe = new Error(this.redact(error.message), {
      ...(error.cause !== undefined ? { cause: this.redactError(error.cause) } : {}),
    });
    safe.name = error.name;
    if (typeof status === 'number') Object.assign(safe, { status });
    return safe;
  }
}
