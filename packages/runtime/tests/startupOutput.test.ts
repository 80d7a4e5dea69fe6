import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, exitOnConfigError, parseEnv } from '../src/config.js';
import { createLogger, logFormatFor } from '../src/logger.js';
import { textSink } from './textSink.js';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

describe('start-up output', () => {
  it('prints the list of bad variables without a stack trace, and exits 1', async () => {
    const schema = z.object({ PORT: z.coerce.number().int().max(65_535), SECRET: z.string().min(32) });
    const stderr = textSink();
    const exit = (code: number): never => {
      throw new Exited(code);
    };
    const failure = await exitOnConfigError(
      () => parseEnv('router', schema, { PORT: 'x' }),
      exit,
      stderr,
    ).catch((error: unknown) => error);
    expect(failure).toEqual(new Exited(1));
    const text = stderr.text();
    expect(text).toMatch(/^Invalid configuration for router:\n {2}- PORT: .*\n {2}- SECRET: .*\n$/);
    expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+/);
  });

  it('passes a good configuration through and any other error unchanged', async () => {
    const never = (): never => {
      throw new Error('must not exit');
    };
    await expect(exitOnConfigError(() => 42, never, textSink())).resolves.toBe(42);
    await expect(
      exitOnConfigError(async () => Promise.reject(new TypeError('boom')), never, textSink()),
    ).rejects.toThrow(TypeError);
    expect(new ConfigError('x', ['A: bad']).message).toBe('Invalid configuration for x:\n  - A: bad');
  });

  it.each([
    [true, undefined, 'pretty'],
    [true, 'development', 'pretty'],
    [true, 'test', 'pretty'],
    [true, 'production', 'json'],
    [false, 'development', 'json'],
    [false, undefined, 'json'],
    [false, 'production', 'json'],
  ] as const)('a terminal %s with NODE_ENV=%s gets %s log lines', (isTTY, nodeEnv, format) => {
    expect(logFormatFor({ isTTY, nodeEnv })).toBe(format);
  });

  it('writes JSON lines, secrets redacted, to an explicit destination', () => {
    const out = textSink();
    createLogger({ service: 'svc', destination: out }).info({ password: 'hunter2', n: 1 }, 'hello');
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(line).toMatchObject({ service: 'svc', msg: 'hello', n: 1, password: '[redacted]' });
  });
});
