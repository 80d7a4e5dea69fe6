/**
 * Reproducible pseudo-random numbers in [0, 1) (xorshift) for generated test inputs: the same seed gives the same
 * cases on every run. @cap/testkit's `seededRandom` serves every other package; the testkit depends on
 * @cap/runtime, so runtime's own tests keep this one rather than close a package cycle.
 */
export function seededNumbers(seed: number): () => number {
  let state = seed || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_00_00_00_00;
  };
}
