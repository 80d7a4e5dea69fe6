import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { answeringUnexpectedErrors, closeServer, listen, pathOf } from '../src/http.js';
import { createLogger } from '../src/logger.js';
import { textSink } from './textSink.js';

describe('request logs', () => {
  it('never carry a query string: a failing signed attachment link is logged by its path only', async () => {
    const lines = textSink();
    const logger = createLogger({ service: 'test', destination: lines });
    const server = createServer(
      answeringUnexpectedErrors(
        async () => {
          throw new Error('storage exploded');
        },
        logger,
        'unhandled error',
      ),
    );
    const url = await listen(server, '127.0.0.1', 0);
    try {
      const sig = randomBytes(32).toString('base64url');
      const response = await fetch(`${url}/attachments/download?id=a1&expires=9&max=10&sig=${sig}#frag`);
      expect(response.status).toBe(500);
      expect((await response.json()) as unknown).toMatchObject({
        errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
      });
      const text = lines.text();
      expect(text).toContain('"path":"/attachments/download"');
      expect(text).toContain('storage exploded');
      expect(text).not.toContain(sig);
      expect(text).not.toContain('expires=');
    } finally {
      await closeServer(server);
    }
  });

  it('keep the path and drop everything from the first ? or # on, over generated targets', () => {
    const alphabet = 'abc/._-%=&?#';
    for (let round = 0; round < 500; round += 1) {
      const bytes = randomBytes(1 + (round % 40));
      const target = '/' + [...bytes].map((byte) => alphabet[byte % alphabet.length]).join('');
      const path = pathOf(target);
      const cut = target.search(/[?#]/);
      expect(path).toBe(cut === -1 ? target : target.slice(0, cut) || '/');
      expect(path).not.toMatch(/[?#]/);
    }
    expect(pathOf(undefined)).toBe('/');
    expect(pathOf('?sig=x')).toBe('/');
  });
});
