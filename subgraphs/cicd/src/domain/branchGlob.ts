/**
 * Whether `branch` matches `pattern`, where `*` matches any run of characters (slashes included) and every other
 * character matches itself. Two-pointer matching with one backtrack point: O(pattern × branch) at worst and no
 * regular expression built from client input (CONVENTIONS: walks over client input stay bounded).
 */
export function branchMatches(pattern: string, branch: string): boolean {
  let p = 0;
  let b = 0;
  let star = -1;
  let resume = 0;
  while (b < branch.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === branch[b]) {
      p += 1;
      b += 1;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p;
      resume = b;
      p += 1;
    } else if (star !== -1) {
      p = star + 1;
      resume += 1;
      b = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p += 1;
  return p === pattern.length;
}

/** Whether any of `patterns` matches `branch`. */
export function branchSelected(patterns: readonly string[], branch: string): boolean {
  return patterns.some((pattern) => branchMatches(pattern, branch));
}
