/**
 * Generates a realistic, large GitHub Actions job log for benchmarks and size tests, deterministically (seeded):
 * timestamped lines, step groups, install noise, passing test lines, and now and then a tool's failure (tsc, ESLint,
 * Vitest, pytest, go, cargo). Streams it in chunks, so a 200 MB log never exists whole.
 */
export async function* generateJobLog(options: {
  bytes: number;
  chunkBytes?: number;
  seed?: number;
}): AsyncGenerator<Buffer> {
  const chunkBytes = options.chunkBytes ?? 256 * 1024;
  let seed = options.seed ?? 1;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  let produced = 0;
  let line = 0;
  let clock = Date.UTC(2026, 11, 6, 10);
  const stamp = (text: string) => `${new Date((clock += 7)).toISOString().replace('Z', '0000Z')} ${text}\n`;
  const blocks: (() => string[])[] = [
    () =>
      random() < 0.01
        ? [`##[group]Run npm test -- --shard=${line % 7}`, 'npm test', '##[endgroup]']
        : ['> app@1.0.0 test'],
    () => [
      `\x1b[32m✓\x1b[39m src/module${line % 500}.test.ts (${Math.floor(random() * 40)} tests) ${Math.floor(random() * 900)}ms`,
    ],
    () => [`npm warn deprecated package-${line % 300}@1.0.${line % 9}: this package is no longer supported`],
    () => [
      `src/file${line % 97}.ts(${line % 400},${line % 80}): error TS2322: Type 'string' is not assignable to type 'number'.`,
    ],
    () => [
      '',
      `/home/runner/work/app/app/src/lib${line % 50}.js`,
      `  ${line % 90}:${line % 30}  error  'x${line % 13}' is not defined  no-undef`,
      '',
    ],
    () => [
      ` FAIL  src/cart${line % 20}.test.ts > cart > sums ${line % 11}`,
      `AssertionError: expected ${line % 5} to be 4`,
      ` ❯ src/cart${line % 20}.test.ts:3:19`,
      '⎯⎯⎯⎯',
    ],
    () => [
      `--- FAIL: TestTotal${line % 17} (0.00s)`,
      `    cart_test.go:${line % 50}: Total = 3, want 4`,
      `FAIL\texample.com/shop${line % 4}\t0.0${line % 9}s`,
    ],
    () => [`error[E0308]: mismatched types`, ` --> src/main${line % 6}.rs:2:18`, ''],
  ];
  let buffer: string[] = [];
  let size = 0;
  while (produced < options.bytes) {
    const pick = random();
    // Mostly noise and passing lines, like a real log; a failure block about once in 200 lines.
    const block = pick < 0.005 ? blocks[3 + Math.floor(random() * 5)]! : blocks[Math.floor(random() * 3)]!;
    for (const text of block()) {
      const stamped = stamp(text);
      line++;
      buffer.push(stamped);
      size += stamped.length;
    }
    if (size >= chunkBytes) {
      const chunk = Buffer.from(buffer.join(''), 'utf8');
      produced += chunk.length;
      buffer = [];
      size = 0;
      yield chunk;
    }
  }
  if (buffer.length > 0 && produced < options.bytes) yield Buffer.from(buffer.join(''), 'utf8');
}
