import { describe, expect, it } from 'vitest';
import {
  evaluateRequirement,
  PRINCIPAL_POLICIES,
  type AuthorizationRequirement,
} from '../src/evaluateRequirement.js';
import type { Principal } from '../src/principal.js';
import { scopesForRole, type Scope } from '../src/scopes.js';
import { seededNumbers } from './seededNumbers.js';

const anonymous: Principal = { kind: 'anonymous' };
const viewer: Principal = { kind: 'user', userId: 'u1', role: 'VIEWER', scopes: scopesForRole('VIEWER') };
const developer: Principal = {
  kind: 'user',
  userId: 'u2',
  role: 'DEVELOPER',
  scopes: scopesForRole('DEVELOPER'),
};
const admin: Principal = { kind: 'user', userId: 'u3', role: 'ADMIN', scopes: scopesForRole('ADMIN') };
const freeKey: Principal = {
  kind: 'apiKey',
  userId: 'u2',
  apiKeyId: 'k1',
  role: 'DEVELOPER',
  scopes: ['chat:read'],
  tier: 'FREE',
};
const proKey: Principal = { ...freeKey, apiKeyId: 'k2', tier: 'PRO' };

const authenticated: AuthorizationRequirement = { source: 'Query.me', scopes: null, policies: null };
const scopes = (...groups: string[][]): AuthorizationRequirement => ({
  source: 'Query.x',
  scopes: groups,
  policies: null,
});
const policies = (...groups: string[][]): AuthorizationRequirement => ({
  source: 'Query.y',
  scopes: null,
  policies: groups,
});

describe('evaluateRequirement (the one evaluator of @authenticated, @requiresScopes, @policy)', () => {
  it.each([
    ['anonymous, @authenticated', authenticated, anonymous, 'UNAUTHENTICATED'],
    ['anonymous, a scope', scopes(['chat:read']), anonymous, 'UNAUTHENTICATED'],
    ['anonymous, a policy', policies(['tier:pro']), anonymous, 'UNAUTHENTICATED'],
    ['viewer, @authenticated', authenticated, viewer, null],
    ['API key, @authenticated', authenticated, freeKey, null],
    ['viewer, a scope it holds', scopes(['chat:read']), viewer, null],
    ['viewer, a scope it lacks', scopes(['chat:write']), viewer, 'FORBIDDEN'],
    ['viewer, AND of held and lacking', scopes(['chat:read', 'chat:write']), viewer, 'FORBIDDEN'],
    ['viewer, OR with one group held', scopes(['chat:write'], ['chat:read']), viewer, null],
    ['developer, users:manage', scopes(['users:manage']), developer, 'FORBIDDEN'],
    ['admin, users:manage', scopes(['users:manage']), admin, null],
    ['key narrower than its owner', scopes(['chat:write']), freeKey, 'FORBIDDEN'],
    ['role:admin, developer', policies(['role:admin']), developer, 'FORBIDDEN'],
    ['role:admin, admin', policies(['role:admin']), admin, null],
    ['role:developer, developer key', policies(['role:developer']), freeKey, null],
    ['session:interactive, user', policies(['session:interactive']), viewer, null],
    ['session:interactive, API key', policies(['session:interactive']), proKey, 'FORBIDDEN'],
    ['tier:pro, FREE key', policies(['tier:pro']), freeKey, 'FORBIDDEN'],
    ['tier:pro, PRO key', policies(['tier:pro']), proKey, null],
    ['tier:pro, user', policies(['tier:pro']), viewer, null],
    ['AND of policies, one fails', policies(['tier:pro', 'session:interactive']), proKey, 'FORBIDDEN'],
    ['OR of policies, one passes', policies(['session:interactive'], ['tier:pro']), proKey, null],
    ['unknown policy never allows', policies(['no:such']), admin, 'FORBIDDEN'],
    ['inherited name is not a policy', policies(['constructor']), admin, 'FORBIDDEN'],
  ] as const)('%s', (_name, requirement, principal, expected) => {
    expect(evaluateRequirement(requirement, principal)?.code ?? null).toBe(expected);
  });

  it('says which part was unmet: scopes before policies', () => {
    const both: AuthorizationRequirement = {
      source: 'Query.z',
      scopes: [['users:manage']],
      policies: [['tier:pro']],
    };
    expect(evaluateRequirement(both, freeKey)).toEqual({ code: 'FORBIDDEN', unmet: 'scopes' });
    expect(evaluateRequirement({ ...both, scopes: [['chat:read']] }, freeKey)).toEqual({
      code: 'FORBIDDEN',
      unmet: 'policies',
    });
  });

  it('over generated scope requirements: met exactly when some group is a subset of the held scopes', () => {
    const all = scopesForRole('ADMIN') as readonly Scope[];
    const random = seededNumbers(7);
    const next = (): number => Math.floor(random() * 2 ** 31);
    for (let round = 0; round < 500; round += 1) {
      const held = all.filter(() => next() % 2 === 0);
      const principal: Principal = { kind: 'user', userId: 'g', role: 'VIEWER', scopes: held };
      const groups = Array.from({ length: 1 + (next() % 3) }, () =>
        all.filter(() => next() % 4 === 0).slice(0, 1 + (next() % 3)),
      );
      const met = groups.some((group) => group.every((scope) => held.includes(scope)));
      expect(evaluateRequirement(scopes(...groups), principal)?.code ?? null).toBe(met ? null : 'FORBIDDEN');
      // Anonymous callers are never FORBIDDEN, whatever the requirement: signing in is what they can do.
      expect(evaluateRequirement(scopes(...groups), anonymous)?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('the registry names exactly the policies schemas may use', () => {
    expect(Object.keys(PRINCIPAL_POLICIES).sort()).toEqual([
      'role:admin',
      'role:developer',
      'session:interactive',
      'tier:pro',
    ]);
  });
});
