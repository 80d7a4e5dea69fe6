import type { Logger } from 'pino';

/** Something that releases a resource: a server, a pool, a consumer. */
export type Disposer = () => Promise<void> | void;

/**
 * One registry of disposers per process (docs/CONVENTIONS.md §14). Resources are released in reverse order of
 * registration, so a server stops accepting requests before the pools it uses are closed.
 */
export class Shutdown implements AsyncDisposable {
  readonly #disposers: Array<{ name: string; dispose: Disposer }> = [];
  #closing: Promise<void> | null = null;

  constructor(private readonly logger?: Logger) {}

  /** Registers a disposer; returns the resource for chaining. */
  add(name: string, dispose: Disposer): void {
    this.#disposers.push({ name, dispose });
  }

  /** Releases everything once; later calls wait for the first. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const { name, dispose } of this.#disposers.reverse()) {
        try {
          await dispose();
        } catch (error) {
          this.logger?.error({ err: error, resource: name }, 'failed to release resource during shutdown');
        }
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Closes on SIGINT/SIGTERM, then exits. A second signal, or shutdown exceeding `timeoutMs`, exits at once
   * so a stuck resource never keeps a container from stopping.
   */
  handleSignals(options: { timeoutMs?: number } = {}): void {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) process.exit(1);
      signalled = true;
      this.logger?.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        this.logger?.error({ timeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      void this.close().then(() => process.exit(0));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
}
