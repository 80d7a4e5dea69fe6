import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  ApiKeyCreated,
  defineEvent,
  EventError,
  EventErrorCode,
  UserRegistered,
  UserRoleChanged,
  type Envelope,
} from '../src/index.js';

const userId = '6f1c1c7e-3c4b-4c55-9a43-6f0f7f7d2a10';
const meta = { source: 'identity', aggregateId: userId };

function validationError(fn: () => unknown): EventError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EventError);
    return error as EventError;
  }
  throw new Error('expected an EventError');
}

describe('defineEvent', () => {
  it('creates a complete, validated envelope', () => {
    const envelope = UserRegistered.create(
      { userId, email: 'ada@example.com', role: 'DEVELOPER' },
      {
        ...meta,
        metadata: {
          requestId: 'req-1',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        },
      },
    );
    expect(envelope).toMatchObject({
      type: 'UserRegistered',
      version: 1,
      topic: 'identity.user',
      source: 'identity',
      aggregateId: userId,
      payload: { userId, email: 'ada@example.com', role: 'DEVELOPER' },
      metadata: { requestId: 'req-1' },
    });
    expect(envelope.id).toMatch(/^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
    expect(Date.parse(envelope.occurredAt)).not.toBeNaN();
    expectTypeOf(envelope).toEqualTypeOf<
      Envelope<
        'UserRegistered',
        1,
        'identity.user',
        { userId: string; email: string; role: 'ADMIN' | 'DEVELOPER' | 'VIEWER' }
      >
    >();
  });

  it('refuses to create an event whose payload breaks the contract, saying where and what', () => {
    const error = validationError(() =>
      UserRegistered.create({ userId, email: 'not-an-email', role: 'OWNER' as 'ADMIN' }, meta),
    );
    expect(error.code).toBe(EventErrorCode.VALIDATION_FAILED);
    expect(error.eventType).toBe('UserRegistered');
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['payload.email', 'payload.role']);
    expect(error.message).toContain('UserRegistered.v1 is invalid');
    expect(error.message).toContain('payload.role');
  });

  it('refuses a malformed traceparent rather than propagating a broken trace', () => {
    const error = validationError(() =>
      UserRoleChanged.create(
        { userId, from: 'VIEWER', to: 'ADMIN' },
        { ...meta, metadata: { traceparent: 'abc' } },
      ),
    );
    expect(error.issues).toEqual([expect.objectContaining({ path: 'metadata.traceparent' })]);
  });

  it('parses what it created after a JSON round trip', () => {
    const created = ApiKeyCreated.create(
      { keyId: userId, ownerId: userId, prefix: 'cap_abc', scopes: ['graph:read'], tier: 'PRO' },
      { source: 'identity', aggregateId: userId, occurredAt: new Date('2025-01-02T03:04:05.000Z') },
    );
    const parsed = ApiKeyCreated.parse(JSON.parse(JSON.stringify(created)));
    expect(parsed).toEqual(created);
    expect(parsed.occurredAt).toBe('2025-01-02T03:04:05.000Z');
  });

  it('rejects an envelope of another type, version or topic', () => {
    const created = UserRegistered.create({ userId, email: 'a@b.co', role: 'VIEWER' }, meta);
    for (const tampered of [
      { ...created, type: 'UserRoleChanged' },
      { ...created, version: 2 },
      { ...created, topic: 'identity.apikey' },
    ]) {
      const result = UserRegistered.safeParse(tampered);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe(EventErrorCode.VALIDATION_FAILED);
    }
  });

  it('tolerates an added payload field (stripped), so additive changes need no new version', () => {
    const created = UserRegistered.create({ userId, email: 'a@b.co', role: 'VIEWER' }, meta);
    const parsed = UserRegistered.parse({ ...created, payload: { ...created.payload, displayName: 'Ada' } });
    expect(parsed.payload).toEqual(created.payload);
  });

  it('refuses malformed definitions at declaration time', () => {
    expect(() =>
      defineEvent({ type: 'userRegistered', version: 1, topic: 'identity.user', payload: z.object({}) }),
    ).toThrow(/PascalCase/);
    expect(() =>
      defineEvent({ type: 'UserRegistered', version: 0, topic: 'identity.user', payload: z.object({}) }),
    ).toThrow(/positive integer/);
    expect(() =>
      defineEvent({ type: 'UserRegistered', version: 1, topic: 'users', payload: z.object({}) }),
    ).toThrow(/<context>\.<aggregate>/);
  });

  it('narrows an envelope with is()', () => {
    const created = UserRoleChanged.create({ userId, from: 'VIEWER', to: 'ADMIN' }, meta);
    expect(UserRoleChanged.is(created)).toBe(true);
    expect(UserRegistered.is(created)).toBe(false);
  });
});
