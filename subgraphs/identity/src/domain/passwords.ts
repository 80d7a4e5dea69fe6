import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { codedError, ErrorCode } from '@cap/runtime';

/** Password length bounds, in characters. The upper bound is checked before hashing (no hashing DoS). */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

// scrypt N=2^15, r=8, p=1: 32 MiB and ~50-100 ms per hash on this class of machine (OWASP's scrypt minimum).
const PARAMS = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 } as const;
const MAX_MEMORY = 64 * 1024 * 1024;

/**
 * `@cost(weight:)` of a field that hashes or verifies a password, in the router's cost units: an ordinary mutation
 * weighs 10, and one scrypt run (32 MiB, 50-100 ms of CPU) costs several ordinary writes.
 */
export const PASSWORD_HASH_COST = 50;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, keyLength, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Rejects a password outside the policy with BAD_USER_INPUT, before any hashing. */
export function assertPasswordPolicy(password: string, field = 'password'): void {
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw codedError(
      ErrorCode.BAD_USER_INPUT,
      `Password must be at most ${PASSWORD_MAX_LENGTH} characters.`,
      {
        field,
        expected: `at most ${PASSWORD_MAX_LENGTH} characters`,
        received: `${password.length} characters`,
      },
    );
  }
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw codedError(
      ErrorCode.BAD_USER_INPUT,
      `Password must be at least ${PASSWORD_MIN_LENGTH} characters.`,
      {
        field,
        expected: `at least ${PASSWORD_MIN_LENGTH} characters`,
        received: `${password.length} characters`,
      },
    );
  }
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts), self-describing for future upgrades. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, PARAMS.keyLength, {
    N: PARAMS.N,
    r: PARAMS.r,
    p: PARAMS.p,
    maxmem: MAX_MEMORY,
  });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** Verifies in constant time; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: MAX_MEMORY,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A real hash of a random password, computed once: logins for unknown emails verify against it so they take
 * as long as logins with a wrong password and do not reveal which emails exist.
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  return decoy;
}
