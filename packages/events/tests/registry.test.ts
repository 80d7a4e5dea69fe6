import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createContractRegistry,
  defineEvent,
  EventErrorCode,
  eventContracts,
  findContract,
  identityContracts,
  isEventError,
  parseEnvelope,
  safeParseEnvelope,
  topicsOf,
  UserDeactivated,
  UserRegistered,
  type KnownEnvelope,
} from '../src/index.js';

const userId = '6f1c1c7e-3c4b-4c55-9a43-6f0f7f7d2a10';

describe('eventContracts', () => {
  it('holds every identity event under ${type}.v${version}', () => {
    // Other contexts add their contracts to the same registry: check identity's, and the key rule for all.
    expect(Object.keys(eventContracts)).toEqual(
      expect.arrayContaining([
        'ApiKeyCreated.v1',
        'ApiKeyRevoked.v1',
        'RefreshTokenReuseDetected.v1',
        'UserDeactivated.v1',
        'UserRegistered.v1',
        'UserRoleChanged.v1',
      ]),
    );
    expect(eventContracts['UserRegistered.v1']).toBe(UserRegistered);
    for (const contract of identityContracts)
      expect(findContract(eventContracts, contract.type, contract.version)).toBe(contract);
    for (const [key, contract] of Object.entries(eventContracts))
      expect(key).toBe(`${contract.type}.v${contract.version}`);
  });

  it('names topics <context>.<aggregate>', () => {
    expect(topicsOf(createContractRegistry([...identityContracts]))).toEqual([
      'identity.apikey',
      'identity.session',
      'identity.user',
    ]);
    for (const topic of topicsOf(eventContracts)) expect(topic).toMatch(/^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/);
  });

  it('dispatches an untrusted value to its contract and narrows on type', () => {
    const wire: unknown = JSON.parse(
      JSON.stringify(UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId })),
    );
    const envelope = parseEnvelope(wire, eventContracts);
    expectTypeOf(envelope).toEqualTypeOf<KnownEnvelope>();
    switch (envelope.type) {
      case 'UserDeactivated':
        expectTypeOf(envelope.payload).toEqualTypeOf<{ userId: string }>();
        expect(envelope.payload.userId).toBe(userId);
        break;
      default:
        throw new Error(`unexpected ${envelope.type}`);
    }
  });

  it('reports an unknown type or version as EVENT_CONTRACT_UNKNOWN', () => {
    const v2 = {
      ...UserDeactivated.create({ userId }, { source: 'identity', aggregateId: userId }),
      version: 2,
    };
    const result = safeParseEnvelope(v2, eventContracts);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(EventErrorCode.CONTRACT_UNKNOWN);
    expect(result.error.message).toBe('no contract registered for UserDeactivated.v2');
    expect(findContract(eventContracts, 'constructor', 1)).toBeUndefined();
  });

  it('reports what arrived when the value is not an envelope at all', () => {
    for (const [value, arrived] of [
      [null, 'null'],
      [[1], 'array'],
      ['text', 'string'],
    ] as const) {
      const result = safeParseEnvelope(value, eventContracts);
      expect(!result.ok && result.error.code).toBe(EventErrorCode.VALIDATION_FAILED);
      expect(!result.ok && result.error.message).toContain(`received ${arrived}`);
    }
    const result = safeParseEnvelope({ type: 'UserDeactivated' }, eventContracts);
    expect(!result.ok && result.error.message).toContain('version=undefined');
  });

  it('refuses two contracts with the same key', () => {
    const again = defineEvent({
      type: 'UserRegistered',
      version: 1,
      topic: 'identity.user',
      payload: z.object({}),
    });
    try {
      createContractRegistry([UserRegistered, again]);
      expect.unreachable();
    } catch (error) {
      expect(isEventError(error, EventErrorCode.CONTRACT_DUPLICATE)).toBe(true);
    }
  });
});
