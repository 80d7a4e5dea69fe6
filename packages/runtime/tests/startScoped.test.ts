import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startScoped } from '../src/kit.js';

function listen(): Promise<Server> {
  const server = createServer();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('startScoped', () => {
  it('releases what a failing start had opened, newest first, then rethrows', async () => {
    const released: string[] = [];
    let opened: Server | undefined;
    await expect(
      startScoped(undefined, async (scope) => {
        opened = await listen();
        const server = opened;
        scope.add('server', () => new Promise<void>((resolve) => server.close(() => resolve())));
        scope.add('first', () => void released.push('first'));
        scope.add('second', () => void released.push('second'));
        throw new Error('start failed');
      }),
    ).rejects.toThrow('start failed');
    expect(released).toEqual(['second', 'first']);
    expect(opened?.listening).toBe(false);
  });

  it('gives a started component a close that releases everything once', async () => {
    const released: string[] = [];
    const started = await startScoped(undefined, async (scope) => {
      scope.add('resource', () => void released.push('resource'));
      return { name: 'component' };
    });
    expect(started.name).toBe('component');
    await Promise.all([started.close(), started.close()]);
    expect(released).toEqual(['resource']);
  });
});
