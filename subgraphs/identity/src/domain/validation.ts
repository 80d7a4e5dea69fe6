import { codedError, ErrorCode } from '@cap/runtime';

/** Longest email RFC 5321 allows in a path. */
export const EMAIL_MAX_LENGTH = 254;
// Deliberately permissive local part (quotes, plus, apostrophes are legal); requires a dotted domain.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** Normalises and validates an email; the message says what was expected and what arrived. */
export function parseEmail(value: string, field = 'email'): string {
  const email = value.trim().toLowerCase();
  if (email.length > EMAIL_MAX_LENGTH || !EMAIL.test(email)) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Email address is not valid.', {
      field,
      expected: `an email address of at most ${EMAIL_MAX_LENGTH} characters`,
      received:
        email.length > EMAIL_MAX_LENGTH ? `${email.length} characters` : 'a string without a valid domain',
    });
  }
  return email;
}

/** Validates a bounded, non-blank, single-line text (names, labels). */
export function parseName(value: string, field: string, maxLength = 100): string {
  const name = value.trim();
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > maxLength || /[\u0000-\u001f\u007f]/.test(name)) {
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} must be 1-${maxLength} printable characters.`, {
      field,
      expected: `1-${maxLength} printable characters on one line`,
      received: `${name.length} characters`,
    });
  }
  return name;
}

/** A UUID, or BAD_USER_INPUT (Prisma would otherwise fail on a malformed id with an unexpected error). */
export function parseId(value: string, field = 'id'): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is not a valid id.`, { field, expected: 'a UUID' });
  }
  return value.toLowerCase();
}
