/**
 * The supergraph the gateway currently serves, for the subscription engine (which plans with it). The router's
 * supergraph source publishes every SDL it hands to the gateway (at start and on each development hot reload);
 * listeners registered with {@link SupergraphFeed.onSupergraphChange} hear about each new one. Subscriptions
 * already running keep the plan they started with; new ones use the newest supergraph.
 */
export class SupergraphFeed {
  #sdl: string | undefined;
  readonly #listeners = new Set<(supergraphSdl: string) => void>();

  /** Records the SDL the gateway now serves (bound: pass it around as a callback). */
  readonly publish = (supergraphSdl: string): void => {
    if (supergraphSdl === this.#sdl) return;
    this.#sdl = supergraphSdl;
    for (const listener of this.#listeners) listener(supergraphSdl);
  };

  /** The SDL served now; undefined before the gateway loaded its first supergraph. */
  current(): string | undefined {
    return this.#sdl;
  }

  /** Calls `listener` with every later supergraph; returns the unsubscribe function. */
  onSupergraphChange(listener: (supergraphSdl: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
