import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../src/domain/redaction.js';
import { storableText } from '../src/domain/storableText.js';

// NUL, both halves of a surrogate pair alone, a whole pair, ASCII, a C1 control and an ordinary non-ASCII letter.
const ALPHABET = ['\u0000', '\uD83D', '\uDE00', '\uD83D\uDE00', 'a', ' ', '\u0085', 'é'];
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function generated(): string {
  let text = '';
  for (let i = randomInt(0, 40); i > 0; i -= 1) text += ALPHABET[randomInt(0, ALPHABET.length)];
  return text;
}

describe('storableText (what PostgreSQL text and jsonb accept)', () => {
  it('replaces every NUL and lone surrogate one for one, and leaves everything else as it was (generated)', () => {
    for (let round = 0; round < 5_000; round += 1) {
      const text = generated();
      const stored = storableText(text);
      expect(stored.includes('\u0000')).toBe(false);
      expect(LONE.test(stored)).toBe(false);
      expect(stored.length).toBe(text.length);
      if (!text.includes('\u0000') && !LONE.test(text)) expect(stored).toBe(text);
      // What it keeps survives a JSON round trip unchanged (jsonb stores the parsed text).
      expect(JSON.parse(JSON.stringify(stored))).toBe(stored);
    }
  });

  it('is applied to every redacted log line and every string and key of a log entry’s data', () => {
    const redactor = new Redactor();
    for (let round = 0; round < 1_000; round += 1) {
      const text = generated();
      expect(redactor.redact(text)).toBe(storableText(text));
      const data = redactor.redactValue({ [text]: [text, { nested: text }] }) as Record<string, unknown>;
      expect(JSON.stringify(data)).toBe(
        JSON.stringify({ [storableText(text)]: [storableText(text), { nested: storableText(text) }] }),
      );
    }
  });
});
