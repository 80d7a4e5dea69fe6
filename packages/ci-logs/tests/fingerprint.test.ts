import { describe, expect, it } from 'vitest';
import { seededRandom } from '@cap/testkit';
import { fingerprintOf, normaliseMessage, normaliseTestName, relativeFile } from '@cap/ci-logs';

describe('fingerprints', () => {
  it('normalise what varies between runs and machines', () => {
    expect(normaliseMessage('expected 3 to be 4 // Object.is equality')).toBe(
      'expected <n> to be <n> // Object.is equality',
    );
    expect(
      normaliseMessage("TS2345: Argument of type 'string' is not assignable to parameter of type 'number'."),
    ).toBe("TS2345: Argument of type 'string' is not assignable to parameter of type 'number'");
    expect(normaliseMessage('config /tmp/x-123/config.json not found at 2026-12-06T10:00:00.123Z')).toBe(
      'config <tmp> not found at <time>',
    );
    expect(
      normaliseMessage(
        'order 5f0c2a9e-1b2c-4d5e-8f90-0123456789ab failed at 0x7ffd1234, commit 9fceb02d0ae5',
      ),
    ).toBe('order <uuid> failed at <hex>, commit <hex>');
    expect(normaliseMessage('expected "user-4821" to equal "user-17"')).toBe(
      'expected "<str>" to equal "<str>"',
    );
    expect(normaliseMessage(`got '${'a'.repeat(100)}'`)).toBe("got '<str>'");
    expect(normaliseMessage('error[E0308] x86_64 took 12ms in 1.5s')).toBe(
      'error[E0308] x86_64 took <n>ms in <n>s',
    );
    expect(normaliseMessage('  two\n  lines  ')).toBe('two lines');
    expect(normaliseTestName('handles run 3 in /tmp/abc/x')).toBe('handles run 3 in <tmp>');
  });

  it('make checkout and temp paths repository-relative', () => {
    expect(relativeFile('/home/runner/work/shop/shop/src/a.ts')).toBe('src/a.ts');
    expect(relativeFile('/__w/shop/shop/src/a.ts')).toBe('src/a.ts');
    expect(relativeFile('D:\\a\\shop\\shop\\src\\a.ts')).toBe('src/a.ts');
    expect(relativeFile('/Users/runner/work/shop/shop/src/a.ts')).toBe('src/a.ts');
    expect(relativeFile('file:///home/runner/work/shop/shop/lib/Util.kt')).toBe('lib/Util.kt');
    expect(relativeFile('/tmp/cap-ci-logs-eslint-Z0LQdh/src/app.js')).toBe('src/app.js');
    expect(relativeFile('./src/a.ts')).toBe('src/a.ts');
  });

  it('are equal for the same failure whatever varies, and differ by tool, file, test or message (generated)', () => {
    const random = seededRandom(42);
    const hex = (length: number) =>
      Array.from({ length }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
    const variant = () =>
      fingerprintOf({
        tool: 'vitest',
        file: random() < 0.5 ? `/home/runner/work/r${hex(4)}/r/src/cart.test.ts` : './src/cart.test.ts',
        testName: 'cart > sums prices',
        message: `AssertionError: expected ${Math.floor(random() * 1e6)} to be ${Math.floor(random() * 100)} in /tmp/vitest-${hex(8)}/x.ts at ${new Date(Math.floor(random() * 2e12)).toISOString()} id ${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)} ptr 0x${hex(12)}`,
      });
    const first = variant();
    for (let i = 0; i < 200; i++) expect(variant()).toBe(first);
    const base = { tool: 'vitest' as const, file: 'src/a.ts', testName: 't', message: 'boom' };
    const others = [
      { ...base, tool: 'jest' as const },
      { ...base, file: 'src/b.ts' },
      { ...base, testName: 'u' },
      { ...base, message: 'bang' },
      { ...base, testName: undefined },
    ].map(fingerprintOf);
    expect(new Set([fingerprintOf(base), ...others]).size).toBe(6);
    expect(fingerprintOf(base)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('normalise adversarial messages in linear time (budget, not a speed claim)', () => {
    const started = Date.now();
    for (const piece of [
      "'",
      '"',
      '0',
      '0x',
      'a1',
      '/tmp/',
      '2026-12-06T',
      '12345678-',
      ' ',
      '\t',
      '<n>',
      '_1',
    ]) {
      normaliseMessage(piece.repeat(2_000));
      normaliseTestName(piece.repeat(2_000));
      relativeFile(piece.repeat(2_000));
    }
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
