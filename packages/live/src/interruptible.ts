/**
 * Wraps an async generator so that `return()` (a client unsubscribing) first runs `interrupt`, which must make
 * the generator's pending await settle (e.g. close its feed). A bare async generator would only run its
 * `finally` after its next await settled, which for a quiet channel may be never.
 */
export function interruptible<T>(
  generator: AsyncGenerator<T>,
  interrupt: () => Promise<void>,
): AsyncGenerator<T> {
  const wrapped: AsyncGenerator<T> = {
    next: (...args) => generator.next(...args),
    return: async (value) => {
      await interrupt();
      return generator.return(value as T);
    },
    throw: async (error: unknown) => {
      await interrupt();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return wrapped;
    },
  };
  return wrapped;
}
