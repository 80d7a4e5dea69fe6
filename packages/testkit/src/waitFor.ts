/**
 * Polls `probe` until it returns something other than undefined or false, and resolves with that; bounded by
 * `timeoutMs` (default 15 s), then fails naming what it waited for. The one polling helper of the tests.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const message =
        typeof options.message === 'function' ? options.message() : (options.message ?? 'condition');
      throw new Error(`timed out waiting for: ${message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
