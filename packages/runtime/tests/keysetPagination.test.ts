import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  connectionPage,
  createCursorCodec,
  createInstantIdCursorCodec,
  type InstantIdPosition,
  cursorPart,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  pageSize,
  resolvePageSize,
} from '../src/kit.js';

type Position = InstantIdPosition;

const codec = createInstantIdCursorCodec('thing', 'a cursor from things');

function codeOf(run: () => unknown): unknown {
  try {
    run();
    return null;
  } catch (error) {
    return error instanceof GraphQLError ? error.extensions['code'] : error;
  }
}

function randomPosition(): Position {
  return { at: new Date(randomInt(0, 4_102_444_800_000)), id: randomUUID() };
}

describe('cursor codec', () => {
  it('round-trips generated positions', () => {
    for (let i = 0; i < 500; i++) {
      const position = randomPosition();
      expect(codec.decode(codec.encode(position))).toEqual(position);
    }
  });

  it('refuses every single-character change of a cursor with BAD_USER_INPUT', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 300; i++) {
      const cursor = codec.encode(randomPosition());
      const at = randomInt(0, cursor.length);
      const replacement = alphabet[randomInt(0, alphabet.length)]!;
      const tampered = `${cursor.slice(0, at)}${replacement}${cursor.slice(at + 1)}`;
      const outcome = codeOf(() => codec.decode(tampered));
      // A change may decode to another valid position (that is not tampering we can see); it never crashes.
      expect([null, 'BAD_USER_INPUT']).toContain(outcome);
      if (outcome === null)
        expect(codec.decode(tampered)).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    }
  });

  it('refuses random strings, foreign kinds, other versions and oversized cursors with BAD_USER_INPUT naming the field', () => {
    const foreign = createCursorCodec<number>({
      kind: 'other',
      expected: 'x',
      toParts: (n) => [n],
      fromParts: ([n]) => cursorPart.integer(n, 0, 10),
    });
    const wrongVersion = Buffer.from(
      JSON.stringify([2, 'thing', new Date(0).toISOString(), randomUUID()]),
    ).toString('base64url');
    const samples = [
      '',
      'not base64!',
      foreign.encode(3),
      wrongVersion,
      'A'.repeat(600),
      ...Array.from({ length: 200 }, () => randomBytes(randomInt(1, 80)).toString('base64url')),
    ];
    for (const sample of samples) {
      try {
        codec.decode(sample, 'before');
        expect.unreachable(`decoded ${sample}`);
      } catch (error) {
        expect(error).toBeInstanceOf(GraphQLError);
        expect((error as GraphQLError).extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'before',
          expected: 'a cursor from things',
        });
      }
    }
  });
});

describe('page size rule', () => {
  it('defaults to the kit default within the max, and a tighter max also caps the default', () => {
    expect(pageSize()).toEqual({ default: PAGE_SIZE_DEFAULT, max: PAGE_SIZE_MAX });
    expect(pageSize({ max: 50 })).toEqual({ default: 50, max: 50 });
    expect(pageSize({ max: 20 })).toEqual({ default: 20, max: 20 });
    expect(() => pageSize({ default: 30, max: 20 })).toThrow(RangeError);
  });

  it('accepts exactly 1..max for first and last and refuses everything else with BAD_USER_INPUT', () => {
    const size = pageSize({ default: 20, max: 50 });
    expect(resolvePageSize({}, size)).toBe(20);
    for (let i = 0; i < 300; i++) {
      const requested = randomInt(-100, 200) + (i % 7 === 0 ? 0.5 : 0);
      const field = i % 2 === 0 ? 'first' : 'last';
      const valid = Number.isInteger(requested) && requested >= 1 && requested <= 50;
      if (valid) expect(resolvePageSize({ [field]: requested }, size)).toBe(requested);
      else expect(codeOf(() => resolvePageSize({ [field]: requested }, size))).toBe('BAD_USER_INPUT');
    }
  });
});

describe('connectionPage', () => {
  it('gives each item its cursor and the page its bounds', () => {
    const page = connectionPage(['a', 'b', 'c'], {
      hasNextPage: true,
      after: 'x',
      cursor: (item) => `c:${item}`,
    });
    expect(page.edges).toEqual([
      { cursor: 'c:a', node: 'a' },
      { cursor: 'c:b', node: 'b' },
      { cursor: 'c:c', node: 'c' },
    ]);
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: true,
      startCursor: 'c:a',
      endCursor: 'c:c',
    });
  });

  it('has no bounds when empty and no previous page without `after`', () => {
    for (const after of [undefined, null, '']) {
      expect(connectionPage([], { hasNextPage: false, after, cursor: String }).pageInfo).toEqual({
        hasNextPage: false,
        hasPreviousPage: false,
        startCursor: null,
        endCursor: null,
      });
    }
  });
});
